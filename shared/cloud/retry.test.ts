// The shared retry policy, on a virtual clock: which errors are repeated,
// jitter bounds, Retry-After honoured and capped, non-idempotent calls left
// alone, and no wait ever ending after the caller's deadline (the sleeps
// asked for are recorded, so nothing here depends on real time).
import { describe, expect, test } from "bun:test";
import { ProviderError } from "../errors";
import { RetryPolicy, parseRetryAfterMs, type RetryClassifier, type RetryVerdict } from "./retry";

const throttled = new Error("429");
const outage = new Error("503");
const conflict = new Error("lock");
const fatal = new Error("400");
const classify: RetryClassifier = (err): RetryVerdict | undefined => {
  if (err === throttled) return { reason: "throttled", notExecuted: true };
  if (err === outage) return { reason: "transient" };
  if (err === conflict) return { reason: "conflict", notExecuted: true };
  return undefined;
};

/** A policy on a virtual clock: sleeps advance it and are recorded. */
function virtual(opts: ConstructorParameters<typeof RetryPolicy>[0] = {}, random = () => 0.5) {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const policy = new RetryPolicy({
    random,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    ...opts,
  });
  return { policy, sleeps, now: () => now };
}

/** An attempt function failing with `errors` in turn, then answering "ok". */
function failing(...errors: unknown[]) {
  let calls = 0;
  const fn = async () => {
    const err = errors[calls++];
    if (err !== undefined) throw err;
    return "ok";
  };
  return { fn, calls: () => calls };
}

const call = (over: Partial<Parameters<RetryPolicy["run"]>[0]> = {}) => ({ signal: new AbortController().signal, idempotent: true, classify, ...over });

describe("what is retried", () => {
  test("transient errors of an idempotent call are retried up to maxAttempts, then the last error is thrown", async () => {
    const { policy, sleeps } = virtual({ maxAttempts: 3 });
    const a = failing(outage, outage);
    expect(await policy.run(call(), a.fn)).toBe("ok");
    expect(a.calls()).toBe(3);
    expect(sleeps).toHaveLength(2);
    const b = failing(outage, outage, outage, outage);
    await expect(policy.run(call(), b.fn)).rejects.toBe(outage);
    expect(b.calls()).toBe(3);
  });

  test("an error the classifier does not name is thrown at once", async () => {
    const { policy } = virtual();
    const a = failing(fatal);
    await expect(policy.run(call(), a.fn)).rejects.toBe(fatal);
    expect(a.calls()).toBe(1);
  });

  test("a non-idempotent call is never retried on an outage; only where the cloud says it did nothing", async () => {
    const { policy } = virtual();
    const a = failing(outage, outage);
    await expect(policy.run(call({ idempotent: false }), a.fn)).rejects.toBe(outage);
    expect(a.calls()).toBe(1);
    const b = failing(throttled, conflict);
    expect(await policy.run(call({ idempotent: false }), b.fn)).toBe("ok");
    expect(b.calls()).toBe(3);
  });

  test("stats count attempts and throttled answers", async () => {
    const { policy } = virtual({ maxAttempts: 5 });
    const stats = { attempts: 0, throttled: 0 };
    await policy.run(call(), failing(throttled, outage, throttled).fn, stats);
    expect(stats).toEqual({ attempts: 4, throttled: 2 });
  });
});

describe("back-off", () => {
  test("full jitter: each wait lies in [0, min(maxDelay, base * 2^retry))", () => {
    for (const r of [0, 0.25, 0.999999]) {
      const { policy } = virtual({ baseDelayMs: 100, maxDelayMs: 1000 }, () => r);
      const waits = [0, 1, 2, 3, 4, 5].map((i) => policy.delayMs(i)!);
      const ceilings = [100, 200, 400, 800, 1000, 1000];
      waits.forEach((w, i) => {
        expect(w).toBeGreaterThanOrEqual(0);
        expect(w).toBeLessThan(ceilings[i]!);
        expect(w).toBe(Math.floor(r * ceilings[i]!));
      });
    }
  });

  test("Retry-After is waited at least, even when the jitter is shorter", async () => {
    const { policy, sleeps } = virtual({ baseDelayMs: 10 });
    const asked = Object.assign(new Error("429"), {});
    const after: RetryClassifier = (e) => (e === asked ? { reason: "throttled", retryAfterMs: 2000, notExecuted: true } : undefined);
    expect(await policy.run(call({ classify: after }), failing(asked).fn)).toBe("ok");
    expect(sleeps).toEqual([2000]);
  });

  test("a Retry-After above the cap is not waited: the cloud's error comes back at once", async () => {
    const { policy, sleeps } = virtual({ maxRetryAfterMs: 10_000 });
    const asked = new Error("429");
    const after: RetryClassifier = (e) => (e === asked ? { reason: "throttled", retryAfterMs: 3_600_000, notExecuted: true } : undefined);
    const a = failing(asked);
    await expect(policy.run(call({ classify: after }), a.fn)).rejects.toBe(asked);
    expect(a.calls()).toBe(1);
    expect(sleeps).toEqual([]);
  });
});

describe("the caller's deadline", () => {
  test("no wait ends after the deadline: the wait that would is not started and the cloud's error is thrown", async () => {
    for (let budget = 0; budget < 3000; budget += 97) {
      const v = virtual({ maxAttempts: 10, baseDelayMs: 200, maxDelayMs: 5000 }, () => 0.9);
      const deadline = new Date(v.now() + budget);
      const a = failing(...Array(20).fill(outage));
      await expect(v.policy.run(call({ deadline }), a.fn)).rejects.toBe(outage);
      // Every wait ended before the deadline (no wait at all when none fits).
      const waited = v.sleeps.reduce((a, b) => a + b, 0);
      if (v.sleeps.length > 0) expect(waited).toBeLessThan(budget);
      expect(v.now()).toBeLessThanOrEqual(deadline.getTime());
      expect(a.calls()).toBe(v.sleeps.length + 1);
    }
  });

  test("a Retry-After longer than the time left is not waited", async () => {
    const v = virtual();
    const asked = new Error("429");
    const after: RetryClassifier = (e) => (e === asked ? { reason: "throttled", retryAfterMs: 5000, notExecuted: true } : undefined);
    const a = failing(asked);
    await expect(v.policy.run(call({ classify: after, deadline: new Date(v.now() + 4000) }), a.fn)).rejects.toBe(asked);
    expect(v.sleeps).toEqual([]);
  });

  test("the signal cuts a wait short with the signal's own error", async () => {
    const policy = new RetryPolicy({ baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 0.99 });
    const controller = new AbortController();
    const reason = new ProviderError("DEADLINE_EXCEEDED", "the caller's deadline passed");
    const a = failing(outage, outage);
    const running = policy.run(call({ signal: controller.signal, onRetry: () => queueMicrotask(() => controller.abort(reason)) }), a.fn);
    await expect(running).rejects.toBe(reason);
    expect(a.calls()).toBe(1);
  });

  test("an already aborted signal makes no attempt", async () => {
    const controller = new AbortController();
    controller.abort(new ProviderError("CANCELLED", "cancelled"));
    const a = failing();
    await expect(new RetryPolicy().run(call({ signal: controller.signal }), a.fn)).rejects.toMatchObject({ code: "CANCELLED" });
    expect(a.calls()).toBe(0);
  });
});

test("Retry-After: delta-seconds, HTTP date, nonsense", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  expect(parseRetryAfterMs("3", now)).toBe(3000);
  expect(parseRetryAfterMs("0", now)).toBe(0);
  expect(parseRetryAfterMs("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
  expect(parseRetryAfterMs("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
  expect(parseRetryAfterMs("soon", now)).toBeUndefined();
  expect(parseRetryAfterMs("-5", now)).toBeUndefined();
  expect(parseRetryAfterMs(null, now)).toBeUndefined();
  expect(parseRetryAfterMs("  ", now)).toBeUndefined();
});
