// One watch engine per (tenant, region, filters): it polls its source (a
// relist, or a cloud's own event feed), turns what changed into events with
// a sequence number, keeps the last events for resuming, and feeds any
// number of subscribers. N subscribers cost one source, not N.
//
// Resume tokens name the engine's epoch (random per engine start) and the
// last sequence number a subscriber saw. The same engine replays what came
// after it; a token from another epoch (a restarted engine, another
// replica) or older than the kept history is answered "expired, relist",
// never with a silent gap.
import { randomBytes } from "node:crypto";
import type { Instance } from "../provider";
import type { InstanceStatus } from "../status";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "SYNCED" | "REGION_UNREACHABLE" | "REGION_RECOVERED";

export interface WatchEvent {
  seq: number;
  type: WatchEventType;
  instance?: Instance;
  /** For REGION_* events: which region, and why it failed. */
  region?: string;
  message?: string;
  observedAt: Date;
}

/** What one look at the cloud found. */
export interface WatchSnapshot {
  instances: Instance[];
  /** Regions (or zones) that did not answer, "REGION: reason". Their instances are kept as last seen. */
  unreachable: string[];
}

export interface WatchSource {
  /** One full look at the cloud (all pages). Throws when nothing could be read at all. */
  snapshot(signal: AbortSignal): Promise<WatchSnapshot>;
  /**
   * Where the cloud pushes change notices (Nova notifications): `onChange`
   * makes the engine look again now instead of at its next interval.
   * Returns the unsubscribe. Optional: without it the engine only polls.
   */
  changes?(onChange: () => void): () => void;
}

export interface WatchTiming {
  /** Poll interval while some instance is between states (pending, stopping, ...). */
  fastMs: number;
  /** Poll interval while everything is settled. */
  slowMs: number;
  /** After a failed poll: doubles up to slowMs. */
  errorBackoffMs: number;
}

export interface EngineLimits {
  /** Events kept for resuming. */
  history: number;
  /** Events one subscriber may have waiting before it is cut off. */
  subscriberBuffer: number;
}

export class WatchError extends Error {
  constructor(
    readonly code: "FAILED_PRECONDITION" | "RESOURCE_EXHAUSTED" | "UNAVAILABLE" | "INVALID_ARGUMENT",
    message: string,
  ) {
    super(message);
  }
}

/** How long a change notice waits for its siblings before the engine looks. */
const CHANGE_SETTLE_MS = 100;

const SETTLED: ReadonlySet<InstanceStatus> = new Set(["running", "stopped", "terminated", "error"] as InstanceStatus[]);

/** The fields whose change a watcher cares about (not the poll time). */
function fingerprint(i: Instance): string {
  return JSON.stringify([i.name, i.status, i.rawStatus, i.type, i.zone, i.imageId, i.publicIp, i.privateIp, i.keyPairName, i.tags, i.extra]);
}

/** The region part of an unreachable entry "REGION: reason". */
function unreachableRegion(entry: string): string {
  const i = entry.indexOf(":");
  return i < 0 ? entry : entry.slice(0, i);
}

export interface Subscriber {
  /** Delivers one event; returns false when the subscriber cannot take more now. */
  push(event: WatchEvent): boolean;
  /** Ends the subscription (error = why; absent = clean end). */
  end(error?: WatchError): void;
}

export interface Subscription {
  /** Called by the subscriber when it can take events again (its buffer drained). */
  resume(): void;
  /** The subscriber left (client cancelled). */
  close(): void;
}

interface Member {
  sub: Subscriber;
  queue: WatchEvent[];
  /** The subscriber said it is full: queue until resume(). */
  paused: boolean;
  /** Waiting for the engine's first snapshot before its initial state. */
  awaitingSync: boolean;
}

export interface EngineHooks {
  /** One snapshot was taken (the cloud-side call budget). */
  onPoll?(ok: boolean): void;
  /** The engine has no subscriber left and stopped. */
  onIdle?(): void;
  /** A subscriber was cut off for not reading. */
  onCutOff?(): void;
  /** A change notice made the engine look early. */
  onNotice?(): void;
}

export class WatchEngine {
  readonly epoch = randomBytes(6).toString("hex");
  private seq = 0;
  private readonly history: WatchEvent[] = [];
  private readonly state = new Map<string, { instance: Instance; print: string }>();
  private readonly down = new Map<string, string>();
  private synced = false;
  private readonly members = new Set<Member>();
  private timer?: ReturnType<typeof setTimeout>;
  private readonly stop = new AbortController();
  private polling = false;
  private failures = 0;
  private closed = false;
  /** A change notice came in while a poll ran: look again right after it. */
  private dirty = false;
  private unsubscribeChanges?: () => void;

  constructor(
    readonly source: WatchSource,
    private readonly timing: WatchTiming,
    private readonly limits: EngineLimits,
    private readonly hooks: EngineHooks = {},
  ) {}

  get subscribers(): number {
    return this.members.size;
  }

  /** The current sequence number (the newest event's). */
  get position(): number {
    return this.seq;
  }

  /**
   * Adds a subscriber. Without `after`, it gets the current state as ADDED
   * events and a SYNCED marker, then changes. With `after` (from a resume
   * token of this epoch), it gets every event after that sequence number.
   */
  subscribe(sub: Subscriber, after?: { epoch: string; seq: number }): Subscription {
    if (this.closed) throw new WatchError("UNAVAILABLE", "the server is shutting down; reconnect with your resume token");
    const member: Member = { sub, queue: [], paused: false, awaitingSync: false };
    if (after) {
      const replay = this.replayAfter(after);
      this.members.add(member);
      for (const e of replay) this.deliver(member, e);
    } else {
      this.members.add(member);
      if (this.synced) this.sendInitialState(member);
      else member.awaitingSync = true;
    }
    this.ensurePolling();
    return {
      resume: () => {
        member.paused = false;
        this.flush(member);
      },
      close: () => this.leave(member),
    };
  }

  private replayAfter(after: { epoch: string; seq: number }): WatchEvent[] {
    if (after.epoch !== this.epoch || after.seq > this.seq) {
      throw new WatchError("FAILED_PRECONDITION", "resume token expired, relist: this server did not issue it or has restarted since");
    }
    const oldest = this.history.length ? this.history[0]!.seq : this.seq + 1;
    if (after.seq < oldest - 1) {
      throw new WatchError("FAILED_PRECONDITION", `resume token expired, relist: more than ${this.limits.history} changes happened since`);
    }
    return this.history.filter((e) => e.seq > after.seq);
  }

  private sendInitialState(member: Member): void {
    const now = new Date();
    for (const [region, reason] of this.down) this.deliver(member, { seq: this.seq, type: "REGION_UNREACHABLE", region, message: reason, observedAt: now });
    for (const { instance } of this.state.values()) this.deliver(member, { seq: this.seq, type: "ADDED", instance, observedAt: now });
    this.deliver(member, { seq: this.seq, type: "SYNCED", observedAt: now });
  }

  private deliver(member: Member, event: WatchEvent): void {
    if (!this.members.has(member)) return;
    if (member.paused || member.queue.length) {
      if (member.queue.length >= this.limits.subscriberBuffer) {
        this.leave(member);
        this.hooks.onCutOff?.();
        member.sub.end(new WatchError("RESOURCE_EXHAUSTED", `watcher too slow: more than ${this.limits.subscriberBuffer} events waiting; reconnect with your last resume token`));
        return;
      }
      member.queue.push(event);
      return;
    }
    if (!member.sub.push(event)) member.paused = true;
  }

  private flush(member: Member): void {
    while (member.queue.length && !member.paused && this.members.has(member)) {
      const e = member.queue.shift()!;
      if (!member.sub.push(e)) member.paused = true;
    }
  }

  private leave(member: Member): void {
    // Once per member: a cut-off subscriber also closes its subscription.
    if (!this.members.delete(member)) return;
    if (this.members.size === 0) this.idle();
  }

  private idle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribeChanges?.();
    this.unsubscribeChanges = undefined;
    this.hooks.onIdle?.();
  }

  private ensurePolling(): void {
    if (!this.unsubscribeChanges && this.source.changes) this.unsubscribeChanges = this.source.changes(() => this.changed());
    if (this.timer || this.polling || this.closed) return;
    this.schedule(0);
  }

  /** A change notice: poll soon (notices come in bursts, so wait a moment and take them all in one look). */
  private changed(): void {
    if (this.closed || this.members.size === 0) return;
    this.hooks.onNotice?.();
    if (this.polling) {
      this.dirty = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(CHANGE_SETTLE_MS);
  }

  private schedule(ms: number): void {
    if (this.closed || this.members.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, ms);
    this.timer.unref?.();
  }

  private emit(type: WatchEventType, fields: Omit<WatchEvent, "seq" | "type" | "observedAt">, now: Date): void {
    const event: WatchEvent = { seq: ++this.seq, type, observedAt: now, ...fields };
    this.history.push(event);
    if (this.history.length > this.limits.history) this.history.shift();
    for (const m of [...this.members]) if (!m.awaitingSync) this.deliver(m, event);
  }

  /** Applies one snapshot: events for what changed since the last one. */
  apply(snapshot: WatchSnapshot, now = new Date()): void {
    const downNow = new Map(snapshot.unreachable.map((u) => [unreachableRegion(u), u] as const));
    for (const [region, reason] of downNow) if (!this.down.has(region)) this.emit("REGION_UNREACHABLE", { region, message: reason }, now);
    for (const region of this.down.keys()) if (!downNow.has(region)) this.emit("REGION_RECOVERED", { region }, now);
    this.down.clear();
    for (const [k, v] of downNow) this.down.set(k, v);

    const seen = new Set<string>();
    for (const instance of snapshot.instances) {
      const key = `${instance.region}/${instance.id}`;
      seen.add(key);
      const print = fingerprint(instance);
      const before = this.state.get(key);
      if (!before) this.emit("ADDED", { instance }, now);
      else if (before.print !== print) this.emit("MODIFIED", { instance }, now);
      this.state.set(key, { instance, print });
    }
    for (const [key, { instance }] of this.state) {
      if (seen.has(key)) continue;
      // An unreachable region's instances are unknown, not gone.
      if ([...this.down.keys()].some((r) => instance.region === r || instance.zone === r)) continue;
      this.state.delete(key);
      this.emit("DELETED", { instance }, now);
    }
    if (!this.synced) {
      this.synced = true;
      for (const m of this.members) {
        if (!m.awaitingSync) continue;
        m.awaitingSync = false;
        this.sendInitialState(m);
      }
    }
  }

  private transitioning(): boolean {
    for (const { instance } of this.state.values()) if (!SETTLED.has(instance.status)) return true;
    return false;
  }

  private async poll(): Promise<void> {
    if (this.closed || this.members.size === 0) return;
    this.polling = true;
    try {
      const snapshot = await this.source.snapshot(this.stop.signal);
      this.hooks.onPoll?.(true);
      this.failures = 0;
      this.apply(snapshot);
    } catch (err) {
      this.hooks.onPoll?.(false);
      if (this.closed) return;
      this.failures++;
      // The whole source failed: one event per failure streak, then back off.
      if (this.failures === 1) this.emit("REGION_UNREACHABLE", { region: "*", message: `listing failed: ${(err as Error).message}` }, new Date());
      this.down.set("*", (err as Error).message);
    } finally {
      this.polling = false;
    }
    if (this.failures === 0 && this.down.has("*")) {
      this.down.delete("*");
      this.emit("REGION_RECOVERED", { region: "*" }, new Date());
    }
    if (this.dirty) {
      this.dirty = false;
      this.schedule(CHANGE_SETTLE_MS);
      return;
    }
    const next = this.failures
      ? Math.min(this.timing.slowMs, this.timing.errorBackoffMs * 2 ** (this.failures - 1))
      : this.transitioning()
        ? this.timing.fastMs
        : this.timing.slowMs;
    this.schedule(next);
  }

  /** Ends every subscription (shutdown: UNAVAILABLE, so clients reconnect elsewhere with their token). */
  close(error = new WatchError("UNAVAILABLE", "the server is shutting down; reconnect with your resume token")): void {
    this.closed = true;
    this.unsubscribeChanges?.();
    this.stop.abort();
    if (this.timer) clearTimeout(this.timer);
    for (const m of [...this.members]) {
      this.members.delete(m);
      m.sub.end(error);
    }
  }
}
