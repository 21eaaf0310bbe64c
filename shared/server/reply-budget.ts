// Bounds the memory a caller can pin by not reading replies. A reply that
// the client does not read stays buffered in the server until its HTTP/2
// stream closes (h2load -w 0 -W 0 against ListInstances took RSS from 116
// to 1,281 MiB). Three bounds together cap that memory:
//  - per connection, at most MAX_CONCURRENT_STREAMS open streams (an HTTP/2
//    setting: the client queues further calls itself);
//  - per connection, at most perConnectionBytes of replies not yet closed;
//  - in total, at most maxCalls open calls and maxBytes of such replies.
// A call arriving over a bound gets RESOURCE_EXHAUSTED at once (a few
// bytes); the budget is released when the call's stream closes, i.e. when
// the client has read the reply or gone away. A well-behaved client on its
// own connection keeps being answered while a non-reading one sits on its
// per-connection share; a flood from many connections can be refused but
// cannot exhaust memory.
import type * as grpc from "@grpc/grpc-js";

export const MAX_CONCURRENT_STREAMS = 32;

export interface ReplyBudgetLimits {
  maxCalls: number;
  maxBytes: number;
  perConnectionBytes: number;
}

export const DEFAULT_REPLY_BUDGET: ReplyBudgetLimits = {
  maxCalls: 1024,
  maxBytes: 32 * 1024 * 1024,
  perConnectionBytes: 2 * 1024 * 1024,
};

export class ReplyBudget {
  private calls = 0;
  private bytes = 0;
  private readonly byConnection = new Map<string, number>();

  constructor(readonly limits: ReplyBudgetLimits = DEFAULT_REPLY_BUDGET) {}

  get openCalls(): number {
    return this.calls;
  }
  get heldBytes(): number {
    return this.bytes;
  }

  /** Why a new call on `connection` is refused, or undefined when it may run. */
  refusal(connection: string): string | undefined {
    if (this.calls >= this.limits.maxCalls) return `the provider has ${this.calls} calls open`;
    if (this.bytes >= this.limits.maxBytes) return "the provider holds its maximum of unread replies";
    if ((this.byConnection.get(connection) ?? 0) >= this.limits.perConnectionBytes) return "this connection holds its maximum of unread replies";
    return undefined;
  }

  private refusedSinceLog = 0;
  private lastRefusalLog = 0;

  /**
   * Counts a refusal; returns how many to report when a log line is due (at
   * most one a second: a flood must not become a flood of log lines).
   */
  refused(): number | undefined {
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastRefusalLog < 1000) return undefined;
    this.lastRefusalLog = now;
    const n = this.refusedSinceLog;
    this.refusedSinceLog = 0;
    return n;
  }

  enter(): void {
    this.calls++;
  }
  hold(connection: string, bytes: number): void {
    this.bytes += bytes;
    this.byConnection.set(connection, (this.byConnection.get(connection) ?? 0) + bytes);
  }
  leave(connection: string, bytes: number): void {
    this.calls--;
    if (bytes === 0) return;
    this.bytes -= bytes;
    const left = (this.byConnection.get(connection) ?? 0) - bytes;
    if (left <= 0) this.byConnection.delete(connection);
    else this.byConnection.set(connection, left);
  }
}

// grpc-js serializes a unary reply synchronously inside the handler's
// callback; the wrapped serializer leaves the size here for the caller of
// that callback to pick up right after it returns.
let lastReplyBytes = 0;

export function takeLastReplyBytes(): number {
  const n = lastReplyBytes;
  lastReplyBytes = 0;
  return n;
}

/** The service definition with every reply's serialized size recorded. */
export function measuringReplies(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(def)) {
    const serialize = method.responseSerialize;
    out[name] = {
      ...method,
      responseSerialize: (value: unknown) => {
        const buf = serialize(value);
        lastReplyBytes = buf.length;
        return buf;
      },
    };
  }
  return out as grpc.ServiceDefinition;
}
