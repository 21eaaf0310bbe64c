// A WatchInstances subscriber for tests: collects events as they arrive,
// waits for conditions on them, and can stop reading (a slow subscriber)
// or hang up (a disconnect).
import type * as grpc from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import type { ProviderClient } from "./client";

export interface WireEvent {
  type: string;
  instance?: { id: string; status: string; name: string; region: string };
  resume_token: string;
  region: string;
  message: string;
}

export class WatchSubscriber {
  readonly events: WireEvent[] = [];
  /** The stream's final status, once it ended. */
  ended?: { code: number; details: string };
  private readonly stream: grpc.ClientReadableStream<WireEvent>;
  private waiters: (() => void)[] = [];

  constructor(client: ProviderClient, request: { region?: string; filters?: Record<string, string>; resume_token?: string }, metadata: Record<string, string> = {}) {
    const md = new Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    this.stream = (client.raw.WatchInstances as Function).call(client.raw, request, md) as grpc.ClientReadableStream<WireEvent>;
    this.stream.on("data", (e: WireEvent) => {
      this.events.push(e);
      this.wake();
    });
    this.stream.on("error", (err: grpc.ServiceError) => {
      this.ended = { code: err.code, details: err.details };
      this.wake();
    });
    this.stream.on("status", (s: grpc.StatusObject) => {
      this.ended ??= { code: s.code, details: s.details };
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Short lines for assertions: "ADDED i-1 running", "SYNCED", "REGION_UNREACHABLE r". */
  lines(): string[] {
    return this.events.map((e) => (e.instance && e.type !== "SYNCED" ? `${e.type} ${e.instance.id} ${e.instance.status}` : e.region ? `${e.type} ${e.region}` : e.type));
  }

  /** Lines about one instance, in order. */
  linesFor(id: string): string[] {
    return this.events.filter((e) => e.instance?.id === id).map((e) => `${e.type} ${e.instance!.status}`);
  }

  /** The last event's resume token. */
  get lastToken(): string {
    return this.events.at(-1)?.resume_token ?? "";
  }

  /** Resolves once `cond` holds; fails with `what` and the events so far after `timeoutMs`. */
  async until(cond: (s: WatchSubscriber) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const give = Date.now() + timeoutMs;
    while (!cond(this)) {
      if (this.ended && !cond(this)) throw new Error(`stream ended (${this.ended.code} ${this.ended.details}) before: ${what}; events: ${this.lines().join(", ")}`);
      const left = give - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for: ${what}; events: ${this.lines().join(", ")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Stops reading: HTTP/2 flow control then holds the server's writes. */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Hangs up, as a client that goes away. */
  cancel(): void {
    this.stream.cancel();
  }
}
