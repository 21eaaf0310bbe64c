// Metrics and tracing off cost nothing: a provider started without
// --metrics-addr and without an OTLP endpoint never loads prom-client or the
// OpenTelemetry SDK (their import alone was 3-20 ms of start-up), and each
// loads once configured. Checked in a process of its own per case (a module
// graph is per process).
import { expect, test } from "bun:test";
import { join } from "node:path";

async function loaded(args: string[]): Promise<{ promClient: boolean; openTelemetrySdk: boolean }> {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../testing/loaded-modules.ts"), ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`loaded-modules exited ${code}: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

test("metrics and tracing off: neither prom-client nor the OpenTelemetry SDK is loaded", async () => {
  expect(await loaded([])).toEqual({ promClient: false, openTelemetrySdk: false });
}, 60_000);

test("--metrics-addr loads prom-client; an OTLP endpoint loads the SDK", async () => {
  expect((await loaded(["--metrics-addr", "127.0.0.1:0"])).promClient).toBe(true);
  expect((await loaded(["--trace"])).openTelemetrySdk).toBe(true);
}, 60_000);
