#!/usr/bin/env bun
// WatchInstances benchmark: for each source (the sandbox, and each
// provider against its real peer: moto, the recorded GCE and PVE servers,
// the OpenStack testbed by relist and with Nova's notifications), how long a
// change made behind the provider's back takes to reach a watcher, and what
// the watches cost the cloud: instance listings per minute with 1 and with
// 50 watchers of one query. Providers run in-process (the latency is the
// source's, not the binary's). Not a test: nothing here asserts a time.
//
//   bun scripts/bench/watch.ts             measure and rewrite the watch section of scripts/BENCHMARKS.md
//   bun scripts/bench/watch.ts --no-write  print only
//   bun scripts/bench/watch.ts --only=aws  one source
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsConformanceTarget } from "../../providers/aws/testing/conformance-target";
import { gcpConformanceTarget } from "../../providers/gcp/testing/conformance-target";
import { openstackConformanceTarget } from "../../providers/openstack/testing/conformance-target";
import { TESTBED_BUS_URL } from "../../providers/openstack/testing/testbed";
import { proxmoxConformanceTarget } from "../../providers/proxmox/testing/conformance-target";
import { sandboxTarget } from "../../shared/conformance/sandbox-target";
import type { ConformanceTarget, TargetSession } from "../../shared/conformance/target";
import { ProviderClient } from "../../shared/testing/client";
import { WatchSubscriber } from "../../shared/testing/watch-client";

const FAST_MS = 2000;
const SLOW_MS = 5000;
const SAMPLES = 5;
const BUDGET_WINDOW_MS = 30_000;
const ARGS = ["--watch-poll-fast-ms", String(FAST_MS), "--watch-poll-slow-ms", String(SLOW_MS)];

interface Source {
  name: string;
  how: string;
  target: ConformanceTarget;
  args: string[];
}

const SOURCES: Source[] = [
  { name: "sandbox", how: "relist (in-memory cloud)", target: sandboxTarget, args: [] },
  { name: "aws", how: "relist per region (moto)", target: awsConformanceTarget, args: [] },
  { name: "gcp", how: "relist (recorded GCE)", target: gcpConformanceTarget, args: [] },
  { name: "proxmox", how: "relist (recorded PVE)", target: proxmoxConformanceTarget, args: [] },
  { name: "openstack", how: "relist (testbed Nova)", target: openstackConformanceTarget, args: [] },
  { name: "openstack+notifications", how: "Nova versioned notifications, relist to reconcile", target: openstackConformanceTarget, args: ["--nova-notifications-url", TESTBED_BUS_URL] },
];

interface Row {
  source: string;
  how: string;
  latencyMs: number[];
  callsPerMinute1: number;
  callsPerMinute50: number;
}

const log = (msg: string) => console.error(`[watch-bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(source: Source): Promise<Row> {
  const s: TargetSession = await source.target.start({ args: [...ARGS, ...source.args] });
  const run = `wb${Date.now().toString(36)}`;
  const filters = { "tag:watchbench": run };
  const call = (method: string, req: object) => s.provider.client.call(method, req, { deadlineMs: 120_000 });
  const clients: ProviderClient[] = [];
  try {
    const vm = (
      await call("CreateInstance", {
        name: `${run}-vm`,
        type: s.fixture.type,
        region: s.fixture.region,
        ...(s.fixture.imageId ? { image_id: s.fixture.imageId } : {}),
        tags: { watchbench: run },
        wait_until_running: true,
      })
    ).instance;
    const w = new WatchSubscriber(s.provider.client, { region: s.fixture.region, filters });
    const count = (status: string) => w.linesFor(vm.id).filter((l) => l.endsWith(` ${status}`)).length;
    await w.until(() => count("running") >= 1, "running", 120_000);
    const latencyMs: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      // Out of phase with the poll interval, so samples spread over it.
      await Bun.sleep(Math.random() * SLOW_MS);
      const before = count("stopped");
      // From the moment the cloud has changed (the stop returned) to the event.
      await s.behindTheBack!.stop(vm.id);
      const t0 = performance.now();
      await w.until(() => count("stopped") > before, "stopped", 120_000);
      latencyMs.push(performance.now() - t0);
      const running = count("running");
      await call("StartInstance", { instance_id: vm.id, region: s.fixture.region });
      await w.until(() => count("running") > running, "running again", 120_000);
    }
    // Settled: the watch polls at the slow interval. Cloud listings over a window, 1 then 50 watchers.
    const perMinute = async (n: number, extra: WatchSubscriber[]) => {
      const ws = [...extra];
      for (let i = ws.length; i < n; i++) {
        const c = clients[i % 10] ?? (clients[i % 10] = new ProviderClient(s.provider.address, undefined, { "grpc.use_local_subchannel_pool": 1 }));
        ws.push(new WatchSubscriber(c, { region: s.fixture.region, filters }));
      }
      await Promise.all(ws.map((x) => x.until((y) => y.events.length > 0, "first event", 60_000)));
      const c0 = s.listingCalls!();
      await Bun.sleep(BUDGET_WINDOW_MS);
      const calls = s.listingCalls!() - c0;
      for (const x of ws.slice(extra.length)) x.cancel();
      return (calls * 60_000) / BUDGET_WINDOW_MS;
    };
    const callsPerMinute1 = await perMinute(1, [w]);
    const callsPerMinute50 = await perMinute(50, [w]);
    w.cancel();
    await call("DeleteInstance", { instance_id: vm.id, region: s.fixture.region }).catch(() => undefined);
    return { source: source.name, how: source.how, latencyMs, callsPerMinute1, callsPerMinute50 };
  } finally {
    for (const c of clients) c.close();
    await s.stop();
  }
}

export function renderWatchSection(rows: Row[], date: string): string {
  const lines = [
    `Measured ${date} by \`bun scripts/bench/watch.ts\` (in-process providers against their real peers; relist intervals ${FAST_MS} ms while something changes, ${SLOW_MS} ms when settled, set for the bench: the defaults are 2000/15000). Latency: a change made behind the provider's back (awscli-equivalent stop at the peer) until a watcher has the event, ${SAMPLES} samples at random phases. Call budget: the peer's instance listings per minute while settled, one poll per interval whatever the number of watchers (a 30 s window holds 5 or 6 polls, hence ratios of 1.0x-1.2x).`,
    "",
    "| source | how | event latency median (min-max) | cloud listings/min, 1 watcher | 50 watchers | 50 / 1 |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
      return `| ${r.source} | ${r.how} | ${ms(median(r.latencyMs))} (${ms(Math.min(...r.latencyMs))}-${ms(Math.max(...r.latencyMs))}) | ${r.callsPerMinute1.toFixed(1)} | ${r.callsPerMinute50.toFixed(1)} | ${(r.callsPerMinute50 / Math.max(r.callsPerMinute1, 0.001)).toFixed(2)}x |`;
    }),
  ];
  return lines.join("\n");
}

const BEGIN = "<!-- watch-bench:begin (written by `bun scripts/bench/watch.ts`) -->";
const END = "<!-- watch-bench:end -->";

async function main() {
  const argv = process.argv.slice(2);
  const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
  const rows: Row[] = [];
  for (const source of SOURCES.filter((x) => !only || x.name === only)) {
    log(`${source.name}: measuring`);
    try {
      rows.push(await measure(source));
      log(`${source.name}: ${JSON.stringify(rows.at(-1))}`);
    } catch (err) {
      log(`${source.name}: skipped (${(err as Error).message.slice(0, 300)})`);
    }
  }
  const section = renderWatchSection(rows, new Date().toISOString().replace(/\.\d+Z$/, "Z"));
  console.log(section);
  if (argv.includes("--no-write")) return;
  const file = join(import.meta.dir, "..", "BENCHMARKS.md");
  const text = readFileSync(file, "utf8");
  const block = `${BEGIN}\n## WatchInstances\n\n${section}\n${END}`;
  const next = text.includes(BEGIN) ? text.replace(new RegExp(`${BEGIN.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[\\s\\S]*?${END}`), block) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
  log(`wrote the WatchInstances section of ${file}`);
}

if (import.meta.main) await main();
