// The one retry policy every cloud backend uses. A backend supplies only its
// classifier (which of its errors are throttling, a passing outage, a lock
// held by another task); how often, how long to wait and when to stop are
// decided here, the same way for every cloud:
//
// - only calls declared safe to repeat are retried (reads, and writes the
//   cloud de-duplicates: a GCE requestId), except where the cloud says it
//   did nothing (a 429, a PVE lock it never took): then any call may be
//   sent again;
// - back-off is exponential with full jitter (a random wait between 0 and
//   base * 2^retry, capped), so clients throttled together do not return
//   together;
// - a Retry-After the cloud sent is honoured (never waited less), up to a
//   cap: a longer ask fails at once with the cloud's error, since waiting
//   that long would hold the caller for nothing it can use;
// - no wait ever runs past the caller's deadline: a wait that would end
//   after it is not started (the caller gets the cloud's error, which says
//   more than DEADLINE_EXCEEDED), and every wait ends when ctx.signal fires.
import { abortableSleep } from "../abort";
import { abortError } from "../errors";

/** Why an error may be worth another attempt. */
export type RetryReason = "throttled" | "transient" | "conflict";

export interface RetryVerdict {
  reason: RetryReason;
  /** Milliseconds the cloud asked to wait (Retry-After), if it said. */
  retryAfterMs?: number;
  /**
   * The cloud refused before doing anything (throttled before the request
   * ran, a lock it could not take): repeating is safe for any call.
   */
  notExecuted?: boolean;
}

/** A cloud's reading of one failed attempt: undefined = not worth repeating. */
export type RetryClassifier = (err: unknown) => RetryVerdict | undefined;

export interface RetryPolicyOptions {
  /** Attempts in all, the first included (1 = never retry). */
  maxAttempts: number;
  /** Ceiling of the first back-off; doubles with each retry. */
  baseDelayMs: number;
  /** No single back-off is longer than this. */
  maxDelayMs: number;
  /** Longest Retry-After honoured; a longer ask ends the call with the cloud's error. */
  maxRetryAfterMs: number;
  /** [0, 1); injectable for tests. */
  random?: () => number;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What one call tells the policy about itself. */
export interface RetryCall {
  signal: AbortSignal;
  /** The caller's deadline, if any: no back-off may end after it. */
  deadline?: Date;
  /** Safe to repeat whatever the cloud did (a read, or a de-duplicated write). */
  idempotent: boolean;
  classify: RetryClassifier;
  /** Told before each wait (for a log line). */
  onRetry?: (info: { attempt: number; reason: RetryReason; delayMs: number; error: unknown }) => void;
}

/** Counted while a call runs, read by the telemetry (shared/telemetry/cloud.ts). */
export interface RetryStats {
  attempts: number;
  /** Attempts the cloud answered with "slow down". */
  throttled: number;
}

export const newRetryStats = (): RetryStats => ({ attempts: 0, throttled: 0 });

export const DEFAULT_RETRY: RetryPolicyOptions = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 5_000, maxRetryAfterMs: 10_000 };

export class RetryPolicy {
  readonly opts: Required<RetryPolicyOptions>;

  constructor(opts: Partial<RetryPolicyOptions> = {}) {
    const o = { ...DEFAULT_RETRY, ...stripUndefined(opts) };
    this.opts = { random: Math.random, now: Date.now, sleep: abortableSleep, ...o, maxAttempts: Math.max(1, Math.floor(o.maxAttempts)) };
  }

  /**
   * The wait before retry number `retry` (0 = the first retry): full jitter
   * over the exponential ceiling, and never less than a Retry-After.
   * Undefined when the cloud asked for more than maxRetryAfterMs.
   */
  delayMs(retry: number, retryAfterMs?: number): number | undefined {
    const ceiling = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(retry, 30));
    const jittered = Math.floor(this.opts.random() * ceiling);
    if (retryAfterMs === undefined) return jittered;
    if (retryAfterMs > this.opts.maxRetryAfterMs) return undefined;
    return Math.max(retryAfterMs, jittered);
  }

  /**
   * The one decision: after attempt `n` (1 = the first) failed with
   * `verdict`, the wait before the next attempt, or undefined to stop (the
   * attempts are spent, the call is not safe to repeat, the cloud asked for
   * too long a wait, or the wait would end after the caller's deadline).
   * run() uses it, and so do SDKs that run their own loop (EC2).
   */
  nextDelay(n: number, verdict: RetryVerdict, call: Pick<RetryCall, "idempotent" | "deadline">): number | undefined {
    if (n >= this.opts.maxAttempts) return undefined;
    if (!call.idempotent && !verdict.notExecuted) return undefined;
    const delay = this.delayMs(n - 1, verdict.retryAfterMs);
    if (delay === undefined) return undefined;
    if (call.deadline && this.opts.now() + delay >= call.deadline.getTime()) return undefined;
    return delay;
  }

  /**
   * Runs `attempt` until it succeeds, the error is not worth repeating, the
   * attempts are spent, the next wait would pass the deadline, or the signal
   * fires. Throws the last attempt's error (or the signal's).
   */
  async run<T>(call: RetryCall, attempt: (n: number) => Promise<T>, stats: RetryStats = newRetryStats()): Promise<T> {
    for (let n = 1; ; n++) {
      if (call.signal.aborted) throw abortError(call.signal);
      stats.attempts = n;
      try {
        return await attempt(n);
      } catch (err) {
        if (call.signal.aborted) throw abortError(call.signal);
        const verdict = call.classify(err);
        if (verdict?.reason === "throttled") stats.throttled++;
        const delay = verdict ? this.nextDelay(n, verdict, call) : undefined;
        if (delay === undefined || !verdict) throw err;
        call.onRetry?.({ attempt: n + 1, reason: verdict.reason, delayMs: delay, error: err });
        await this.opts.sleep(delay, call.signal);
      }
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110
 * 10.2.3). Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const raw = value.trim();
  if (raw === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  // An HTTP date starts with the day's name; anything else ("-5") is not one.
  if (!/^[A-Za-z]/.test(raw)) return undefined;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
