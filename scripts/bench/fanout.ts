// Multi-region listing (region "*") over 20 sandbox regions, each cloud call
// delayed by --sandbox-latency-ms, against the lower bound the issue names:
// the slowest region's pages x latency (regions are listed concurrently, so
// nothing should add up across regions).
//
//   one page   every instance of all 20 regions fits one page_size 500 page
//   full walk  page_size 100 through 20 x 250 instances (50 RPCs)
//
// Also shown: the bound a stateless page token allows. Every RPC needs at
// least one cloud round trip, and the first one also lists regions, so a
// walk of P pages cannot beat (P + 1) x latency with the current design.
//
// What the bounds leave out is measured beside them: the same RPCs with no
// injected latency (the provider's and the client's own work: building,
// encoding and decoding the instances, on this machine and its load) and
// the provider's CPU per RPC (from /proc, so other jobs' load does not
// count). The walk is timed 3 times and its median kept: one walk is
// 60 round trips, long enough for another job's burst to land in it.
import { join } from "node:path";
import { silentLogger } from "../../shared/log";
import type { Instance, InstancePage } from "../../shared/provider";
import { initialFanoutCursor, listAcrossRegions, type PageFetcher } from "../../shared/server/fanout";
import { ProviderClient } from "../../shared/testing/client";
import { cpuSeconds } from "./moto";
import { startProvider, type ServerCommand } from "./server-process";
import { median } from "./stats";

export interface FanoutResult {
  name: string;
  regions: number;
  instancesPerRegion: number;
  pageSize: number;
  rpcs: number;
  instances: number;
  latencyMs: number;
  measuredMs: number;
  /** The bound: slowest region's pages x latency. */
  lowerBoundMs: number;
  /** (RPCs + 1 region listing) x latency: what stateless tokens allow. */
  statelessBoundMs: number;
  /** Region pages requested from the cloud over the walk, and how many of them were cancelled unused. */
  cloudCalls: { started: number; cancelled: number; pagesNeeded: number };
  /** The same listing with no injected latency: what the RPCs cost beyond the cloud's round trips. */
  zeroLatencyMs?: number;
  /** The provider's CPU time per RPC (user + system, from /proc), with the injected latency and with none. */
  serverCpuMsPerRpc?: number;
  zeroLatencyServerCpuMsPerRpc?: number;
}

/**
 * Counts the cloud calls the shared fan-out (shared/server/fanout.ts, the
 * code the server runs) makes for one walk, with a fetcher shaped like the
 * sandbox: `perRegion` instances per region, paged by offset, 1 ms per call.
 * In-process: a cloud call is not visible over gRPC.
 */
export async function countFanoutCloudCalls(regions: string[], perRegion: number, pageSize: number, concurrency = 32) {
  let started = 0;
  let cancelled = 0;
  const fetchPage: PageFetcher = async (ctx, query): Promise<InstancePage> => {
    started++;
    await new Promise((r) => setTimeout(r, 1));
    if (ctx.signal.aborted) {
      cancelled++;
      throw ctx.signal.reason;
    }
    const offset = Number(query.cursor ?? 0);
    const n = Math.min(query.pageSize, perRegion - offset);
    const instances = Array.from({ length: n }, (_, i) => ({ id: `${query.region}-${offset + i}` }) as Instance);
    return { instances, nextCursor: offset + n < perRegion ? String(offset + n) : undefined, totalCount: perRegion };
  };
  let cursor: string | undefined = initialFanoutCursor(regions);
  let listed = 0;
  while (cursor) {
    const page = await listAcrossRegions({ signal: new AbortController().signal, requestId: "bench", log: silentLogger }, fetchPage, cursor, {}, pageSize, concurrency);
    listed += page.instances.length;
    cursor = page.nextCursor;
  }
  await new Promise((r) => setTimeout(r, 5)); // let cancelled prefetches settle
  if (listed !== regions.length * perRegion) throw new Error(`fan-out count: listed ${listed}, expected ${regions.length * perRegion}`);
  return { started, cancelled, pagesNeeded: regions.length * Math.max(1, Math.ceil(perRegion / pageSize)) };
}

async function walk(client: ProviderClient, pageSize: number): Promise<{ ms: number; rpcs: number; instances: number }> {
  const started = performance.now();
  let token = "";
  let rpcs = 0;
  let instances = 0;
  do {
    const page = await client.call("ListInstances", { region: "*", page_size: pageSize, page_token: token }, { deadlineMs: 60_000 });
    if (page.unreachable.length > 0) throw new Error(`fan-out: unreachable regions ${page.unreachable.join(", ")}`);
    rpcs++;
    instances += page.instances.length;
    token = page.next_page_token;
  } while (token);
  return { ms: performance.now() - started, rpcs, instances };
}

/** Times `repeats` walks against a provider started with `latencyMs`; also its CPU per RPC over them. */
async function timeWalks(cmd: ServerCommand, latencyMs: number, perRegion: number, pageSize: number, repeats: number, logFile: string) {
  const server = await startProvider(cmd, ["--sandbox", "--sandbox-latency-ms", String(latencyMs), "--sandbox-seed-instances", String(perRegion)], logFile);
  const client = new ProviderClient(server.address);
  try {
    await client.call("GetProviderInfo"); // connect (and list the regions) before timing
    await walk(client, pageSize); // warm-up: the first calls of a process pay for JIT compilation
    const cpuBefore = cpuSeconds(server.pid);
    const runs = [];
    for (let i = 0; i < repeats; i++) runs.push(await walk(client, pageSize));
    const cpuMs = (cpuSeconds(server.pid) - cpuBefore) * 1000;
    return { runs, serverCpuMsPerRpc: cpuMs / runs.reduce((n, r) => n + r.rpcs, 0) };
  } finally {
    client.close();
    await server.stop();
  }
}

export async function runFanout(workDir: string, latencyMs: number, repeats: number): Promise<FanoutResult[]> {
  const cmd: ServerCommand = { label: "bun run (20 regions)", argv: [process.execPath, join(import.meta.dir, "fanout-provider.ts")] };
  const { FANOUT_REGIONS } = await import("./fanout-provider");
  const cases = [
    { name: "one page (20 x 20 instances, page_size 500)", perRegion: 20, pageSize: 500, repeats: Math.max(repeats, 9) },
    { name: "full walk (20 x 250 instances, page_size 100)", perRegion: 250, pageSize: 100, repeats: 3 },
  ];
  const results: FanoutResult[] = [];
  for (const c of cases) {
    const log = join(workDir, "fanout.log");
    const { runs, serverCpuMsPerRpc } = await timeWalks(cmd, latencyMs, c.perRegion, c.pageSize, c.repeats, log);
    const floor = await timeWalks(cmd, 0, c.perRegion, c.pageSize, c.repeats, log);
    const expected = FANOUT_REGIONS.length * c.perRegion;
    for (const r of [...runs, ...floor.runs]) if (r.instances !== expected) throw new Error(`fan-out ${c.name}: listed ${r.instances} instances, expected ${expected}`);
    const slowestRegionPages = Math.ceil(c.perRegion / c.pageSize);
    results.push({
      name: c.name,
      regions: FANOUT_REGIONS.length,
      instancesPerRegion: c.perRegion,
      pageSize: c.pageSize,
      rpcs: runs[0]!.rpcs,
      instances: expected,
      latencyMs,
      measuredMs: median(runs.map((r) => r.ms)),
      lowerBoundMs: slowestRegionPages * latencyMs,
      statelessBoundMs: (runs[0]!.rpcs + 1) * latencyMs,
      cloudCalls: await countFanoutCloudCalls(FANOUT_REGIONS, c.perRegion, c.pageSize),
      zeroLatencyMs: median(floor.runs.map((r) => r.ms)),
      serverCpuMsPerRpc,
      zeroLatencyServerCpuMsPerRpc: floor.serverCpuMsPerRpc,
    });
  }
  return results;
}

// `bun scripts/bench/fanout.ts [--latency-ms=50] [--repeats=5]`: this piece alone.
if (import.meta.main) {
  const flag = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const work = mkdtempSync(join(tmpdir(), "skyclust-fanout-"));
  try {
    for (const r of await runFanout(work, flag("latency-ms", 50), flag("repeats", 5))) {
      const c = r.cloudCalls;
      console.log(
        `${r.name}: ${r.rpcs} RPCs, ${r.measuredMs.toFixed(0)} ms; lower bound ${r.lowerBoundMs} ms (${(r.measuredMs / r.lowerBoundMs).toFixed(2)}x); ` +
          `stateless bound ${r.statelessBoundMs} ms (${(r.measuredMs / r.statelessBoundMs).toFixed(2)}x); region pages ${c.started} (${c.cancelled} cancelled) / ${c.pagesNeeded} needed (${(c.started / c.pagesNeeded).toFixed(2)}x); ` +
          `with no latency ${r.zeroLatencyMs?.toFixed(0)} ms; provider CPU per RPC ${r.serverCpuMsPerRpc?.toFixed(1)} ms (${r.zeroLatencyServerCpuMsPerRpc?.toFixed(1)} ms with no latency)`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
