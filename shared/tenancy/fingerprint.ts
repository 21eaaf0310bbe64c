// A tenant's name inside the process: an HMAC of its credential document
// under a key drawn at start-up. Stable for one process (so the cache and
// per-tenant state find it again), useless outside it (the key never leaves
// memory), and never reversible to the secret. It may appear in logs.
import { createHmac, randomBytes } from "node:crypto";

export class TenantFingerprints {
  private readonly key = randomBytes(32);

  /** "t-" and 24 hex digits (96 bits) of HMAC-SHA256 over the canonical document. */
  of(creds: Readonly<Record<string, string>>): string {
    const canonical = JSON.stringify(Object.keys(creds).sort().map((k) => [k, creds[k]]));
    return `t-${createHmac("sha256", this.key).update(canonical).digest("hex").slice(0, 24)}`;
  }
}
