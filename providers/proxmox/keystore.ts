// Key pairs kept in the Proxmox VE cluster itself, so every provider replica
// sees the same ones (README "Key pairs"). Proxmox has no key pair object;
// each key pair is one resource pool:
//
//   poolid  "skyclust-kp-" + 32 hex of sha256(name)   (pool ids allow only
//           [A-Za-z0-9._-]; key pair names also allow @ + =)
//   comment {"skyclust":"key-pair/v1", name, fingerprint, publicKey, ...}
//
// Why a pool: POST /pools is create-if-absent under the cluster-wide lock on
// user.cfg (pmxcfs), and answers "pool '...' already exists" to the second
// creator. So two replicas creating one name at once get exactly one key
// pair from the cluster's own atomicity, with no lock of ours. Pools need no
// storage or node, survive node loss like all cluster config, and cost the
// provider's token only Pool.Allocate/Pool.Audit (policy/README.md).
//
// With PROXMOX_POOL (a tenant's pool: PVE scopes tokens by pool ACLs), key
// pairs are nested pools under it, "<pool>/skyclust-kp-...", which the
// pool's ACL reaches (nested pools: PVE 8.1 or newer); so each tenant has
// its own names and sees only its own key pairs.
//
// Private keys made by CreateKeyPair are returned once and never stored.
import { createHash } from "node:crypto";
import { alreadyExists, invalidArgument, notFound, ProviderError } from "../../shared/errors";
import { generateKeyPair, parsePublicKey, type KeyType } from "../../shared/keys";
import type { Logger } from "../../shared/log";
import type { CreatedKeyPair, KeyPair } from "../../shared/provider";
import type { PveClient } from "./client";
import type { StoredKeyPair } from "./legacy-keystore";

export const KEY_POOL_PREFIX = "skyclust-kp-";
const COMMENT_KIND = "key-pair/v1";

/** The pool that holds key pair `name` (a pure function of the name: the name is the lock), under `parent` if given. */
export function keyPoolId(name: string, parent?: string): string {
  return nestedPoolId(parent, KEY_POOL_PREFIX + createHash("sha256").update(name).digest("hex").slice(0, 32));
}

export function nestedPoolId(parent: string | undefined, leaf: string): string {
  return parent ? `${parent}/${leaf}` : leaf;
}

/**
 * Deletes a pool. A nested id ("a/b") cannot be a path segment: PVE 8.1+
 * takes it as DELETE /pools?poolid=; a flat id uses the path form, which
 * every PVE version has.
 */
export function deletePool(client: PveClient, poolid: string, signal: AbortSignal): Promise<null> {
  return poolid.includes("/") ? client.delete<null>("/pools", { poolid }, signal) : client.delete<null>(`/pools/${poolid}`, {}, signal);
}

/** Stable across stores: the same formula the file store used, so imported key pairs keep their ids. */
function keyPairId(name: string, publicKey: string): string {
  return `pve-key-${createHash("sha256").update(name).update("\0").update(publicKey).digest("hex").slice(0, 12)}`;
}

export class KeyPairStore {
  private imported?: Promise<void>;

  constructor(
    private readonly client: PveClient,
    /** Reported as KeyPair.region: key pairs are cluster-wide. */
    private readonly region: string,
    private readonly log: Logger,
    /** Entries of the file store of earlier releases, imported before the first key pair call. */
    private readonly legacy: StoredKeyPair[] = [],
    /** PROXMOX_POOL: key pairs are nested pools under it. */
    private readonly parent?: string,
  ) {}

  private toKeyPair(k: StoredKeyPair): KeyPair {
    return { id: k.id, name: k.name, fingerprint: k.fingerprint, region: this.region, tags: k.tags, createdAt: new Date(k.createdAt), keyType: k.keyType, publicKey: k.publicKey };
  }

  /** One POST /pools: the cluster refuses a second pool of the same id. */
  private async add(entry: Omit<StoredKeyPair, "id" | "createdAt"> & Partial<StoredKeyPair>, signal: AbortSignal): Promise<StoredKeyPair> {
    const stored: StoredKeyPair = { ...entry, id: entry.id ?? keyPairId(entry.name, entry.publicKey), createdAt: entry.createdAt ?? new Date().toISOString() };
    const comment = JSON.stringify({ skyclust: COMMENT_KIND, ...stored });
    try {
      await this.client.post<null>("/pools", { poolid: keyPoolId(entry.name, this.parent), comment }, signal);
    } catch (err) {
      // PVE: 500 "create pool failed: pool 'skyclust-kp-...' already exists".
      if (err instanceof ProviderError && /already exists/i.test(err.message)) throw alreadyExists(`key pair ${entry.name} already exists`);
      throw err;
    }
    return stored;
  }

  /**
   * Imports the file store's entries once (every replica may try; the
   * cluster keeps the first of each name). Retried on the next call if it
   * fails, so a key pair call never answers from a half-imported store.
   */
  private ready(signal: AbortSignal): Promise<void> {
    if (this.legacy.length === 0) return Promise.resolve();
    this.imported ??= (async () => {
      let added = 0;
      for (const k of this.legacy) {
        try {
          await this.add(k, signal);
          added++;
        } catch (err) {
          if (!(err instanceof ProviderError && err.code === "ALREADY_EXISTS")) throw err;
        }
      }
      this.log.info("proxmox key pairs imported from the state directory's keypairs.json into the cluster", { imported: added, already_present: this.legacy.length - added });
    })().catch((err) => {
      this.imported = undefined;
      throw err;
    });
    return this.imported;
  }

  private async all(signal: AbortSignal): Promise<StoredKeyPair[]> {
    await this.ready(signal);
    const pools = (await this.client.get<{ poolid: string; comment?: string }[]>("/pools", {}, signal)) ?? [];
    const out: StoredKeyPair[] = [];
    const prefix = nestedPoolId(this.parent, KEY_POOL_PREFIX);
    for (const p of pools) {
      if (!p.poolid?.startsWith(prefix) || typeof p.comment !== "string") continue;
      const k = parseComment(p.comment);
      // A pool whose comment names another key pair was not written by us: ignore it.
      if (k && keyPoolId(k.name, this.parent) === p.poolid) out.push(k);
      else this.log.debug("proxmox pool with the key pair prefix holds no key pair; ignored", { pool: p.poolid.slice(0, 64) });
    }
    return out;
  }

  async create(name: string, keyType: KeyType, tags: Record<string, string>, signal: AbortSignal): Promise<CreatedKeyPair> {
    await this.ready(signal);
    const generated = generateKeyPair(keyType, name);
    const stored = await this.add({ name, fingerprint: generated.sha256Fingerprint, publicKey: generated.publicKey, keyType, tags }, signal);
    return { keyPair: this.toKeyPair(stored), privateKey: generated.privateKey };
  }

  async import(name: string, publicKey: string, tags: Record<string, string>, signal: AbortSignal): Promise<KeyPair> {
    const parsed = parsePublicKey(publicKey, "public_key");
    await this.ready(signal);
    return this.toKeyPair(await this.add({ name, fingerprint: parsed.sha256Fingerprint, publicKey: `${parsed.canonical} ${name}`, keyType: parsed.keyType, tags }, signal));
  }

  async list(filters: Record<string, string>, signal: AbortSignal): Promise<KeyPair[]> {
    for (const key of Object.keys(filters)) {
      if (key !== "name" && key !== "fingerprint" && !key.startsWith("tag:")) throw invalidArgument(`filters[${key}]`, `unknown key pair filter (use name, fingerprint or tag:KEY)`);
    }
    return (await this.all(signal))
      .filter((k) =>
        Object.entries(filters).every(([key, want]) => {
          if (key === "name") return k.name === want;
          if (key === "fingerprint") return k.fingerprint === want;
          return k.tags[key.slice(4)] === want;
        }),
      )
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((k) => this.toKeyPair(k));
  }

  /** The stored entry by name or id (for CreateInstance). */
  async find(by: { name?: string; id?: string }, signal: AbortSignal): Promise<KeyPair | undefined> {
    const k = (await this.all(signal)).find((e) => (by.id ? e.id === by.id : e.name === by.name));
    return k && this.toKeyPair(k);
  }

  async delete(name: string, signal: AbortSignal): Promise<void> {
    await this.ready(signal);
    try {
      await deletePool(this.client, keyPoolId(name, this.parent), signal);
    } catch (err) {
      // PVE: 500 "delete pool failed: pool '...' does not exist" (the reason
      // decides: the client maps a non-guest path's miss to FAILED_PRECONDITION).
      if (err instanceof ProviderError && /does not exist/i.test(err.message)) throw notFound(`key pair ${name} not found`);
      throw err;
    }
  }
}

function parseComment(comment: string): StoredKeyPair | undefined {
  let v: any;
  try {
    v = JSON.parse(comment);
  } catch {
    return undefined;
  }
  if (v?.skyclust !== COMMENT_KIND) return undefined;
  for (const f of ["id", "name", "fingerprint", "publicKey", "keyType", "createdAt"]) if (typeof v[f] !== "string") return undefined;
  const tags: Record<string, string> = {};
  if (v.tags && typeof v.tags === "object") for (const [k, t] of Object.entries(v.tags)) if (typeof t === "string") tags[k] = t;
  return { id: v.id, name: v.name, fingerprint: v.fingerprint, publicKey: v.publicKey, keyType: v.keyType, tags, createdAt: v.createdAt };
}
