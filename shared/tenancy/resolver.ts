// Per call: which credentials, hence which backend. Reads the metadata
// "x-skyclust-credentials" (only over a protected channel), checks the
// document, names the tenant by its keyed fingerprint, and leases the
// tenant's backend from the cache, building it on first use after the
// endpoint allow-list has approved every URL the document names.
import type * as grpc from "@grpc/grpc-js";
import { ConfigError } from "../config";
import { invalidArgument, unauthenticated } from "../errors";
import { rememberTenantSecret } from "../cloud/scrub";
import type { Logger } from "../log";
import type { CallContext, CloudBackend } from "../provider";
import { isLoopbackPeer } from "../server/auth/access";
import type { BackendCache } from "./backend-cache";
import { CREDENTIALS_METADATA, parseCredentialDocument } from "./credential-document";
import type { EndpointPolicy } from "./endpoint-policy";
import type { TenantFingerprints } from "./fingerprint";
import { NO_CREDENTIALS_MESSAGE } from "./routing-backend";
import type { TenantScope } from "./scope";
import type { TenantCredentialSpec } from "./spec";

export const PLAINTEXT_REFUSED_MESSAGE = `per-call credentials ("${CREDENTIALS_METADATA}") are accepted only over TLS or from loopback; this connection is plaintext from another host, so the credentials may already have been read on the way: rotate them, and serve TLS (--tls-cert/--tls-key)`;

export interface TenantBuild {
  creds: Readonly<Record<string, string>>;
  tenant: string;
  log: Logger;
}

export interface TenantResolverOptions {
  spec: TenantCredentialSpec;
  /** The server serves TLS on every connection. */
  tls: boolean;
  own?: CloudBackend;
  cache: BackendCache;
  policy: EndpointPolicy;
  fingerprints: TenantFingerprints;
  log: Logger;
  /** Builds a tenant's backend from its checked document (cloud or sandbox). */
  build(b: TenantBuild): Promise<CloudBackend>;
}

export interface EnteredTenant {
  scope: TenantScope;
  release(): void;
}

export class TenantResolver {
  constructor(private readonly opts: TenantResolverOptions) {}

  /** Throws UNAUTHENTICATED / INVALID_ARGUMENT / PERMISSION_DENIED; sets ctx.tenant. */
  async enter(call: { metadata: grpc.Metadata }, peer: string, ctx: CallContext): Promise<EnteredTenant> {
    const values = call.metadata.get(CREDENTIALS_METADATA);
    if (values.length === 0) {
      if (!this.opts.own) throw unauthenticated(NO_CREDENTIALS_MESSAGE);
      return { scope: { backend: this.opts.own }, release: () => {} };
    }
    if (!this.opts.tls && !isLoopbackPeer(peer)) throw unauthenticated(PLAINTEXT_REFUSED_MESSAGE);
    if (values.length > 1) throw invalidArgument(CREDENTIALS_METADATA, `sent ${values.length} times; send one document`);
    const raw = values[0];
    if (typeof raw !== "string") throw invalidArgument(CREDENTIALS_METADATA, "expected text metadata (base64url), not binary");
    const spec = this.opts.spec;
    const creds = parseCredentialDocument(raw, spec.keys);
    // Before anything can log or echo them.
    for (const key of spec.secrets) rememberTenantSecret(creds[key]);
    for (const value of spec.nestedSecrets?.(creds) ?? []) rememberTenantSecret(value);
    if (!spec.identities.some((set) => set.every((k) => creds[k] !== undefined))) {
      throw invalidArgument(CREDENTIALS_METADATA, `incomplete credentials: send ${spec.identities.map((set) => set.join(" + ")).join(", or ")}`);
    }
    try {
      spec.check?.(creds);
    } catch (err) {
      if (err instanceof ConfigError) throw invalidArgument(CREDENTIALS_METADATA, err.message);
      throw err;
    }
    const tenant = this.opts.fingerprints.of(creds);
    ctx.tenant = tenant;
    ctx.log = ctx.log.child({ tenant });
    const lease = await this.opts.cache.acquire(tenant, async () => {
      const log = this.opts.log.child({ tenant });
      try {
        for (const { key, url } of spec.endpoints(creds)) await this.opts.policy.check(key, url, ctx.signal);
        const backend = await this.opts.build({ creds, tenant, log });
        log.info("tenant backend ready", { tenant });
        return backend;
      } catch (err) {
        // The provider's own start-up checks (a malformed endpoint, a bad number) speak in flag terms.
        if (err instanceof ConfigError) throw invalidArgument(CREDENTIALS_METADATA, err.message);
        throw err;
      }
    });
    return { scope: { backend: lease.backend, tenant }, release: lease.release };
  }
}
