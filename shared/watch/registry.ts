// The watch engines of one provider process, one per (tenant, region,
// filters), created by the first subscriber. When the last subscriber
// leaves, the engine stops polling but lingers with its state and history,
// so a client that reconnects with its resume token within the linger time
// gets every change since (the next poll diffs against the kept state).
// Bounded: a caller cannot open unlimited engines (each one polls the
// cloud) by varying filters; idle engines are dropped first.
import { resourceExhausted, unavailable } from "../errors";
import { WatchEngine, type EngineLimits, type WatchSource, type WatchTiming } from "./engine";

export interface RegistryOptions {
  timing: WatchTiming;
  limits: EngineLimits;
  /** Distinct watches (engines) at once, lingering ones included. */
  maxEngines: number;
  /** How long an engine without subscribers keeps its state for resuming. */
  lingerMs: number;
}

interface Entry {
  engine: WatchEngine;
  dropTimer?: ReturnType<typeof setTimeout>;
}

export class WatchRegistry {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(
    private readonly opts: RegistryOptions,
    private readonly hooks: { onPoll?(ok: boolean): void; onCutOff?(): void; onNotice?(): void } = {},
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Watchers connected now, over every watch. */
  get subscribers(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.engine.subscribers;
    return n;
  }

  /** The engine for `key`, started with `source()` if there is none yet. */
  engine(key: string, source: () => WatchSource): WatchEngine {
    if (this.closed) throw unavailable("the server is shutting down; reconnect to another replica");
    const existing = this.entries.get(key);
    if (existing) {
      if (existing.dropTimer) clearTimeout(existing.dropTimer);
      existing.dropTimer = undefined;
      return existing.engine;
    }
    if (this.entries.size >= this.opts.maxEngines && !this.dropOneIdle()) {
      throw resourceExhausted(`at most ${this.opts.maxEngines} distinct watches (region and filter sets) may run at once; share one or close some`);
    }
    const entry: Entry = {
      engine: new WatchEngine(source(), this.opts.timing, this.opts.limits, {
        onPoll: (ok) => this.hooks.onPoll?.(ok),
        onCutOff: () => this.hooks.onCutOff?.(),
        onNotice: () => this.hooks.onNotice?.(),
        onIdle: () => {
          entry.dropTimer = setTimeout(() => this.drop(key, entry), this.opts.lingerMs);
          entry.dropTimer.unref?.();
        },
      }),
    };
    this.entries.set(key, entry);
    return entry.engine;
  }

  private drop(key: string, entry: Entry): void {
    if (this.entries.get(key) !== entry || entry.engine.subscribers > 0) return;
    this.entries.delete(key);
    if (entry.dropTimer) clearTimeout(entry.dropTimer);
    entry.engine.close();
  }

  /** Drops the oldest engine nobody watches; false when every engine has subscribers. */
  private dropOneIdle(): boolean {
    for (const [key, entry] of this.entries) {
      if (entry.engine.subscribers === 0) {
        this.drop(key, entry);
        return true;
      }
    }
    return false;
  }

  /** Shutdown: every stream ends with UNAVAILABLE. */
  closeAll(): void {
    this.closed = true;
    for (const entry of this.entries.values()) {
      if (entry.dropTimer) clearTimeout(entry.dropTimer);
      entry.engine.close();
    }
    this.entries.clear();
  }
}
