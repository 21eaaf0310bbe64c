// Nova has no idempotent create, and "look up, then create" races when two
// retries (maybe on two provider replicas) arrive together. The one atomic
// thing Nova offers a project member is a unique key pair name: creating an
// existing one is 409. So a create with an idempotency key first claims a
// key pair named after the key, looks up and creates while holding it, and
// removes it; whoever finds the claim taken waits for the server to appear.
import { abortableSleep } from "../../shared/abort";
import { createHash } from "node:crypto";
import { abortError, ProviderError } from "../../shared/errors";
import { generateKeyPair } from "../../shared/keys";
import type { Logger } from "../../shared/log";
import type { Compute } from "./compute";
import { httpInfo } from "./http";

export const CLAIM_PREFIX = "skyclust-create-claim-";
export const claimName = (region: string, key: string) => CLAIM_PREFIX + createHash("sha256").update(`${region}\0${key}`).digest("hex").slice(0, 40);

export interface ClaimOptions {
  /** A claim older than this is from a crashed creator and is broken. */
  staleMs?: number;
  pollMs?: number;
  now?: () => number;
}

const sleep = abortableSleep;

export class CreateClaims {
  private placeholderKey?: string;

  constructor(
    private readonly compute: Compute,
    private readonly log: Logger,
    private readonly opts: ClaimOptions = {},
  ) {}

  /**
   * Returns what `lookup` finds, or what `create` makes while this caller
   * holds the claim for `key`. `unclaimed` reports that the claim could not
   * be taken at all (no key pair quota, policy): the caller is on its own.
   */
  async run<T>(
    region: string,
    key: string,
    signal: AbortSignal,
    lookup: () => Promise<T | undefined>,
    create: (claimed: boolean) => Promise<T>,
  ): Promise<T> {
    const name = claimName(region, key);
    for (;;) {
      const existing = await lookup();
      if (existing !== undefined) return existing;
      const outcome = await this.tryClaim(region, name, signal);
      if (outcome === "unavailable") return create(false);
      if (outcome === "claimed") {
        try {
          // Someone may have finished between our lookup and our claim.
          return (await lookup()) ?? (await create(true));
        } finally {
          await this.compute.deleteKeypair(region, name, AbortSignal.timeout(10_000)).catch((err) => {
            this.log.warn("could not remove a create claim; it expires by itself", { claim: name, error: (err as Error).message });
          });
        }
      }
      await this.breakIfStale(region, name, signal);
      await sleep(this.opts.pollMs ?? 1000, signal);
    }
  }

  private async tryClaim(region: string, name: string, signal: AbortSignal): Promise<"claimed" | "taken" | "unavailable"> {
    this.placeholderKey ??= generateKeyPair("ed25519", "skyclust create claim (no private key kept)").publicKey;
    const body: Record<string, string> = { name, public_key: this.placeholderKey };
    if (await this.compute.supports(region, "keypairType", signal)) body.type = "ssh";
    try {
      await this.compute.createKeypair(region, body, signal);
      return "claimed";
    } catch (err) {
      if (httpInfo(err)?.status === 409) return "taken";
      if (err instanceof ProviderError && ["PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"].includes(err.code)) {
        this.log.warn("cannot take a create claim (key pair policy or quota); idempotency falls back to look-up-then-create", { error: err.message });
        return "unavailable";
      }
      throw err;
    }
  }

  private async breakIfStale(region: string, name: string, signal: AbortSignal): Promise<void> {
    const claim = await this.compute.getKeypair(region, name, signal).catch(() => undefined);
    if (!claim?.created_at) return;
    const createdAt = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(claim.created_at) ? claim.created_at : claim.created_at + "Z");
    const now = this.opts.now?.() ?? Date.now();
    if (Number.isFinite(createdAt) && now - createdAt > (this.opts.staleMs ?? 5 * 60_000)) {
      this.log.warn("breaking a stale create claim", { claim: name, created_at: claim.created_at });
      await this.compute.deleteKeypair(region, name, signal).catch(() => undefined);
    }
  }
}
