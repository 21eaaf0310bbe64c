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
import { join } from "node:path";
import { silentLogger } from "../../shared/log";
import type { Instance, InstancePage } from "../../shared/provider";
import { initialFanoutCursor, listAcrossRegions, type PageFetcher } from "../../shared/server/fanout";
import { ProviderClient } from "../../shared/testing/client";
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

export async function runFanout(workDir: string, latencyMs: number, repeats: number): Promise<FanoutResult[]> {
  const cmd: ServerCommand = { label: "bun run (20 regions)", argv: [process.execPath, join(import.meta.dir, "fanout-provider.ts")] };
  const { FANOUT_REGIONS } = await import("./fanout-provider");
  const cases = [
    { name: "one page (20 x 20 instances, page_size 500)", perRegion: 20, pageSize: 500, repeats },
    { name: "full walk (20 x 250 instances, page_size 100)", perRegion: 250, pageSize: 100, repeats: 1 },
  ];
  const results: FanoutResult[] = [];
  for (const c of cases) {
    const server = await startProvider(cmd, ["--sandbox", "--sandbox-latency-ms", String(latencyMs), "--sandbox-seed-instances", String(c.perRegion)], join(workDir, "fanout.log"));
    const client = new ProviderClient(server.address);
    try {
      await client.call("GetProviderInfo"); // connect before timing
      const runs = [];
      for (let i = 0; i < c.repeats; i++) runs.push(await walk(client, c.pageSize));
      const expected = FANOUT_REGIONS.length * c.perRegion;
      for (const r of runs) if (r.instances !== expected) throw new Error(`fan-out ${c.name}: listed ${r.instances} instances, expected ${expected}`);
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
      });
    } finally {
      client.close();
      await server.stop();
    }
  }
  return results;
}
