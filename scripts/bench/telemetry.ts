#!/usr/bin/env bun
// `bun scripts/bench/telemetry.ts`: what metrics and tracing cost the
// compiled aws binary (not a test; nothing here asserts a time). Starts it
// interleaved with telemetry off, with --metrics-addr, and with metrics and
// traces (always_on sampler, exporting to a local OTLP receiver), then
// prints start-up to SERVING, idle RSS, and RSS after a run of "*" listings
// (every one a server span plus one child span per region).
//
//   bun scripts/bench/telemetry.ts [--starts=N] [--calls=N]
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildProviders } from "../build";
import { ProviderClient } from "../../shared/testing/client";
import { memoryOf, startProvider, type ServerCommand } from "./server-process";
import { fmt, median, mib } from "./stats";

const flag = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const STARTS = flag("starts", 10);
const CALLS = flag("calls", 300);

const work = mkdtempSync("/tmp/skyclust-bench-telemetry-");
try {
  const [binary] = await buildProviders({ providers: ["aws"], outdir: work });
  const spans = { count: 0 };
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      spans.count += (await req.text()).split('"spanId"').length - 1;
      return Response.json({});
    },
  });
  const cmd: ServerCommand = { label: "compiled", argv: [binary!] };
  const variants: { label: string; args: string[]; env: Record<string, string> }[] = [
    { label: "off", args: [], env: {} },
    { label: "metrics", args: ["--metrics-addr", "127.0.0.1:0"], env: {} },
    { label: "metrics + traces", args: ["--metrics-addr", "127.0.0.1:0"], env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`, OTEL_TRACES_SAMPLER: "always_on" } },
  ];
  const results = new Map(variants.map((v) => [v.label, { start: [] as number[], idle: [] as number[], loaded: [] as number[] }]));
  for (let i = 0; i <= STARTS; i++) {
    for (const v of variants) {
      const p = await startProvider(cmd, ["--sandbox", ...v.args], join(work, "provider.log"), v.env);
      await Bun.sleep(500);
      const idle = memoryOf(p.pid).rssKiB;
      const client = new ProviderClient(p.address);
      for (let k = 0; k < CALLS; k++) await client.call("ListInstances", { region: "*" });
      client.close();
      await Bun.sleep(300);
      const loaded = memoryOf(p.pid).rssKiB;
      await p.stop();
      if (i === 0) continue; // one uncounted warm-up start each
      const r = results.get(v.label)!;
      r.start.push(p.startupMs);
      r.idle.push(idle);
      r.loaded.push(loaded);
    }
  }
  receiver.stop(true);
  console.log(`aws binary, sandbox, ${STARTS} interleaved starts each, medians; ${CALLS} "*" listings per start`);
  console.log("| telemetry | start to SERVING (ms) | idle RSS (MiB) | RSS after the listings (MiB) |");
  console.log("|---|---|---|---|");
  for (const v of variants) {
    const r = results.get(v.label)!;
    console.log(`| ${v.label} | ${fmt(median(r.start))} | ${fmt(mib(median(r.idle)), 1)} | ${fmt(mib(median(r.loaded)), 1)} |`);
  }
  console.log(`spans received: ${spans.count}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
