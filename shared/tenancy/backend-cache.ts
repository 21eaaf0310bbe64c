// Tenants' cloud backends (SDK clients, sessions, tokens), one per
// credential fingerprint, bounded two ways: at most `max` entries (least
// recently used goes first) and none idle longer than `idleMs`. A backend
// leaves with close(), but only when no call still holds it: a call leases
// its backend for its whole run, so eviction never pulls a client out from
// under a running call. Concurrent first calls of one tenant share one
// build; a failed build is forgotten, so the next call tries again.
import type { CloudBackend } from "../provider";

export interface CacheEvents {
  hit(): void;
  miss(): void;
  evicted(reason: "size" | "idle"): void;
  size(n: number): void;
}

interface Entry {
  key: string;
  backend: Promise<CloudBackend>;
  lastUsed: number;
  leases: number;
  evicted: boolean;
}

export interface Lease {
  backend: CloudBackend;
  release(): void;
}

export class BackendCache {
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly opts: { max: number; idleMs: number; events?: CacheEvents; now?: () => number },
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.min(opts.idleMs / 2, 30_000)));
    this.sweeper.unref?.();
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The tenant's backend, built on first use; call release() when the call ends. */
  async acquire(key: string, build: () => Promise<CloudBackend>): Promise<Lease> {
    this.sweep();
    let entry = this.entries.get(key);
    if (entry) {
      this.opts.events?.hit();
      this.entries.delete(key);
    } else {
      this.opts.events?.miss();
      entry = { key, backend: build(), lastUsed: 0, leases: 0, evicted: false };
    }
    entry.lastUsed = this.now();
    entry.leases++;
    this.entries.set(key, entry);
    const held = entry;
    this.shrink();
    let backend: CloudBackend;
    try {
      backend = await held.backend;
    } catch (err) {
      held.leases--;
      if (this.entries.get(key) === held) this.entries.delete(key);
      this.opts.events?.size(this.entries.size);
      throw err;
    }
    let released = false;
    return {
      backend,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        held.lastUsed = this.now();
        if (held.evicted && held.leases === 0) void closeQuietly(held);
      },
    };
  }

  private shrink(): void {
    for (const entry of this.entries.values()) {
      if (this.entries.size <= this.opts.max) break;
      this.evict(entry, "size");
    }
    this.opts.events?.size(this.entries.size);
  }

  private sweep(): void {
    const cutoff = this.now() - this.opts.idleMs;
    for (const entry of [...this.entries.values()]) {
      if (entry.leases === 0 && entry.lastUsed <= cutoff) this.evict(entry, "idle");
    }
    this.opts.events?.size(this.entries.size);
  }

  private evict(entry: Entry, reason: "size" | "idle"): void {
    this.entries.delete(entry.key);
    entry.evicted = true;
    this.opts.events?.evicted(reason);
    if (entry.leases === 0) void closeQuietly(entry);
  }

  /** Closes every backend (shutdown, after the drain). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(all.map((e) => closeQuietly(e)));
  }
}

async function closeQuietly(entry: Entry): Promise<void> {
  try {
    await (await entry.backend).close?.();
  } catch {
    // A build that failed has nothing to close; a close that fails leaks nothing more than the process exit frees.
  }
}
