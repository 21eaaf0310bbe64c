// Metrics and tracing off cost nothing: a provider started without
// --metrics-addr and without an OTLP endpoint never loads prom-client or the
// OpenTelemetry SDK (their import alone was 3-20 ms of start-up), and each
// loads once configured. Checked in a process of its own per case (a module
// graph is per process).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runModuleProbe } from "../testing/module-probe";

const loaded = (args: string[]) =>
  runModuleProbe<{ promClient: boolean; openTelemetrySdk: boolean }>(join(import.meta.dir, "../testing/loaded-modules.ts"), args);

test("metrics and tracing off: neither prom-client nor the OpenTelemetry SDK is loaded", async () => {
  expect(await loaded([])).toEqual({ promClient: false, openTelemetrySdk: false });
}, 60_000);

test("--metrics-addr loads prom-client; an OTLP endpoint loads the SDK", async () => {
  expect((await loaded(["--metrics-addr", "127.0.0.1:0"])).promClient).toBe(true);
  expect((await loaded(["--trace"])).openTelemetrySdk).toBe(true);
}, 60_000);
