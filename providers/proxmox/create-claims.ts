// A create with an idempotency key looks for a guest carrying the key (its
// description marker) and clones only if there is none. Two provider
// replicas doing that at once both find nothing and both clone. PVE's one
// cluster-wide create-if-absent object a provider can make is a resource
// pool (POST /pools refuses an existing id under the user.cfg lock; the key
// pair store relies on the same thing, keystore.ts). So such a create first
// claims a pool named after the (name, key) pair, looks up and clones while
// holding it, and deletes it; whoever finds the claim taken waits for the
// guest to appear (or the claim to go away, or to turn stale).
import { createHash } from "node:crypto";
import { abortableSleep } from "../../shared/abort";
import { ProviderError } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import type { PveClient } from "./client";
import { deletePool, nestedPoolId } from "./keystore";

export const CREATE_CLAIM_PREFIX = "skyclust-cc-";
/** Under `parent` (PROXMOX_POOL) when given, like the key pairs (keystore.ts). */
export const createClaimPool = (name: string, key: string, parent?: string) => nestedPoolId(parent, CREATE_CLAIM_PREFIX + createHash("sha256").update(`${name}\0${key}`).digest("hex").slice(0, 32));

export interface ClaimOptions {
  /** A claim older than this is from a crashed creator and is broken. */
  staleMs?: number;
  /** First wait between looks while another replica holds the claim; grows to 2 s. */
  pollMs?: number;
  now?: () => number;
  /** PROXMOX_POOL: claims are nested pools under it. */
  parent?: string;
}

export class PveCreateClaims {
  constructor(
    private readonly client: PveClient,
    private readonly log: Logger,
    private readonly opts: ClaimOptions = {},
  ) {}

  /**
   * What `lookup` finds, or what `create` makes while this caller holds the
   * claim. Without Pool.Allocate the claim cannot be taken: `create` runs
   * unclaimed (look-up-then-create, as before) and a warning says why.
   */
  async run<T>(name: string, key: string, signal: AbortSignal, lookup: () => Promise<T | undefined>, create: () => Promise<T>): Promise<T> {
    const pool = createClaimPool(name, key, this.opts.parent);
    let wait = this.opts.pollMs ?? 250;
    for (;;) {
      const existing = await lookup();
      if (existing !== undefined) return existing;
      const outcome = await this.tryClaim(pool, signal);
      if (outcome === "unavailable") return create();
      if (outcome === "claimed") {
        try {
          // The holder before us may have finished between our look and our claim.
          return (await lookup()) ?? (await create());
        } finally {
          await deletePool(this.client, pool, AbortSignal.timeout(10_000)).catch((err) => {
            this.log.warn("could not remove a create claim (a later create with this key breaks it when stale)", { claim: pool, error: (err as Error).message });
          });
        }
      }
      await this.breakIfStale(pool, signal);
      await abortableSleep(wait, signal);
      wait = Math.min(wait * 2, 2000);
    }
  }

  private async tryClaim(pool: string, signal: AbortSignal): Promise<"claimed" | "taken" | "unavailable"> {
    try {
      await this.client.post<null>("/pools", { poolid: pool, comment: JSON.stringify({ skyclust: "create-claim/v1", createdAt: new Date(this.now()).toISOString() }) }, signal);
      return "claimed";
    } catch (err) {
      // PVE: 500 "create pool failed: pool '...' already exists".
      if (err instanceof ProviderError && /already exists/i.test(err.message)) return "taken";
      if (err instanceof ProviderError && err.code === "PERMISSION_DENIED") {
        this.log.warn("cannot take a create claim (the token lacks Pool.Allocate); idempotency across replicas falls back to look-up-then-create", { error: err.message });
        return "unavailable";
      }
      throw err;
    }
  }

  private async breakIfStale(pool: string, signal: AbortSignal): Promise<void> {
    const pools = await this.client.get<{ poolid: string; comment?: string }[]>("/pools", {}, signal).catch(() => []);
    const claim = pools?.find((p) => p.poolid === pool);
    let createdAt = NaN;
    try {
      createdAt = Date.parse(JSON.parse(claim?.comment ?? "{}").createdAt);
    } catch {
      // Not our comment: never broken by us.
    }
    if (Number.isFinite(createdAt) && this.now() - createdAt > (this.opts.staleMs ?? 10 * 60_000)) {
      this.log.warn("breaking a stale create claim", { claim: pool, created_at: new Date(createdAt).toISOString() });
      await deletePool(this.client, pool, signal).catch(() => undefined);
    }
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}
