// The shared health probe: never throws, never waits past its budget or
// the caller's deadline, reports per-check entries with upstream text
// scrubbed and bounded, and skips checks after the first failure.
import { describe, expect, test } from "bun:test";
import { ConfigError } from "../config";
import { ProviderError } from "../errors";
import { createLogger } from "../log";
import type { CallContext } from "../provider";
import { healthTimeoutMs, probeHealth } from "./health-probe";

const ctx = (over: Partial<CallContext> = {}): CallContext => ({
  signal: new AbortController().signal,
  requestId: "r",
  log: createLogger({ level: "error", write: () => {} }),
  ...over,
});
const opts = { timeoutMs: 3000, healthyMessage: "all good", unhealthyMessage: "cloud check failed" };

/** A check that answers only when its signal fires (then rejects with the signal's reason). */
const hangs = async (probe: CallContext) =>
  new Promise<string>((_, reject) => probe.signal.addEventListener("abort", () => reject(probe.signal.reason), { once: true }));

describe("probeHealth", () => {
  test("every check ok: healthy, each entry says ok with its answer, facts added", async () => {
    const report = await probeHealth(ctx(), [{ name: "api", run: async () => "v9" }, { name: "auth", run: async () => "" }], { ...opts, facts: { tls: "ca-file" } });
    expect(report.healthy).toBe(true);
    expect(report.message).toBe("all good");
    expect(report.checks.api).toMatch(/^ok \(\d+ ms\): v9$/);
    expect(report.checks.auth).toMatch(/^ok \(\d+ ms\)$/);
    expect(report.checks.tls).toBe("ca-file");
  });

  test("a failure: unhealthy, the code and message in its entry and the report, later checks skipped", async () => {
    let second = false;
    const report = await probeHealth(
      ctx(),
      [
        { name: "keystone", run: async () => Promise.reject(new ProviderError("UNAUTHENTICATED", "keystone rejected the provider's credentials")) },
        { name: "nova", run: async () => ((second = true), "ok") },
      ],
      opts,
    );
    expect(report.healthy).toBe(false);
    expect(report.checks.keystone).toBe("failed: UNAUTHENTICATED: keystone rejected the provider's credentials");
    expect(report.checks.nova).toBe("skipped: an earlier check failed");
    expect(second).toBe(false);
    expect(report.message).toBe("cloud check failed: keystone: UNAUTHENTICATED: keystone rejected the provider's credentials");
  });

  test("a check that hangs ends at the configured budget, reported as no answer", async () => {
    const report = await probeHealth(ctx(), [{ name: "api", run: hangs }], { ...opts, timeoutMs: 50 });
    expect(report.healthy).toBe(false);
    expect(report.checks.api).toBe("failed: UNAVAILABLE: no answer within 50 ms");
  });

  test("the budget never reaches beyond the caller's deadline", async () => {
    let seen: Date | undefined;
    const deadline = new Date(Date.now() + 40);
    const report = await probeHealth(ctx({ deadline }), [{ name: "api", run: async (p) => ((seen = p.deadline), hangs(p)) }], { ...opts, timeoutMs: 60_000 });
    expect(seen!.getTime()).toBeLessThanOrEqual(deadline.getTime());
    expect(report.healthy).toBe(false);
    expect(report.checks.api).toMatch(/^failed: UNAVAILABLE: no answer within \d+ ms$/);
  });

  test("the caller's cancellation ends the probe with its own reason; nothing throws", async () => {
    const controller = new AbortController();
    const running = probeHealth(ctx({ signal: controller.signal }), [{ name: "api", run: hangs }], opts);
    controller.abort(new ProviderError("CANCELLED", "cancelled by the caller"));
    const report = await running;
    expect(report.checks.api).toBe("failed: CANCELLED: cancelled by the caller");
  });

  test("upstream text is scrubbed and bounded; an unmapped error's text is not quoted at all", async () => {
    const token = `ya29.${"q".repeat(50)}`;
    const long = await probeHealth(ctx(), [{ name: "api", run: async () => Promise.reject(new ProviderError("UNAVAILABLE", `Bearer ${token} ${"x".repeat(10_000)}`)) }], opts);
    expect(JSON.stringify(long)).not.toContain(token);
    expect(Buffer.byteLength(long.checks.api!)).toBeLessThanOrEqual(300);
    expect(Buffer.byteLength(long.message)).toBeLessThanOrEqual(512);
    const raw = await probeHealth(ctx(), [{ name: "api", run: async () => Promise.reject(new Error("at stack frame password=hunter2hunter2")) }], opts);
    expect(raw.checks.api).toBe("failed: INTERNAL: unexpected error");
  });
});

test("--health-timeout-ms: default 3 s, bounded", () => {
  expect(healthTimeoutMs({})).toBe(3000);
  expect(healthTimeoutMs({ "health-timeout-ms": 750 })).toBe(750);
  expect(() => healthTimeoutMs({ "health-timeout-ms": 0 })).toThrow(ConfigError);
  expect(() => healthTimeoutMs({ "health-timeout-ms": 3_600_000 })).toThrow(ConfigError);
});
