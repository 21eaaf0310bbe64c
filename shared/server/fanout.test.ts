// The "*" fan-out's read-ahead, counted at the cloud-call level with a
// fetcher shaped like a cloud (offset cursors, a page per call): every
// instance listed exactly once and in order, and the region pages a walk
// requests stay close to the pages it needs.
import { describe, expect, test } from "bun:test";
import { silentLogger } from "../log";
import type { CallContext, Instance, InstancePage } from "../provider";
import { initialFanoutCursor, listAcrossRegions, type PageFetcher } from "./fanout";

const ctx = (): CallContext => ({ signal: new AbortController().signal, requestId: "t", log: silentLogger });
const regions = (n: number) => Array.from({ length: n }, (_, i) => `r${String(i).padStart(2, "0")}`);

function cloud(perRegion: (region: string) => number) {
  const calls: string[] = [];
  const fetchPage: PageFetcher = async (c, q): Promise<InstancePage> => {
    calls.push(`${q.region}@${q.cursor ?? 0}`);
    await Bun.sleep(1);
    if (c.signal.aborted) throw c.signal.reason;
    const offset = Number(q.cursor ?? 0);
    const n = Math.max(0, Math.min(q.pageSize, perRegion(q.region) - offset));
    const instances = Array.from({ length: n }, (_, i) => ({ id: `${q.region}-${offset + i}` }) as Instance);
    return { instances, nextCursor: offset + n < perRegion(q.region) ? String(offset + n) : undefined };
  };
  return { calls, fetchPage };
}

async function walk(names: string[], perRegion: (r: string) => number, pageSize: number) {
  const { calls, fetchPage } = cloud(perRegion);
  const pages: string[][] = [];
  let cursor: string | undefined = initialFanoutCursor(names);
  while (cursor) {
    const page = await listAcrossRegions(ctx(), fetchPage, cursor, {}, pageSize, 32);
    expect(page.instances.length).toBeLessThanOrEqual(pageSize);
    pages.push(page.instances.map((i) => i.id));
    cursor = page.nextCursor;
  }
  const expected = names.flatMap((r) => Array.from({ length: perRegion(r) }, (_, i) => `${r}-${i}`));
  expect(pages.flat()).toEqual(expected); // each once, in order
  return { calls, pages };
}

describe("fan-out read-ahead", () => {
  test("dense regions (20 x 250, page 100): 79 region pages for the 60 needed (was 540); only the first call reads every region", async () => {
    const { calls, pages } = await walk(regions(20), () => 250, 100);
    expect(calls.length).toBe(79);
    // Pages end where a region's page ends rather than start a second round trip.
    expect(pages.filter((p) => p.length === 50).length).toBe(20);
  });

  test("sparse regions in one page (20 x 20, page 500): every region at once, one call each", async () => {
    const { calls, pages } = await walk(regions(20), () => 20, 500);
    expect(pages.length).toBe(1);
    expect(calls.length).toBe(20);
  });

  test("small regions (20 x 20, page 100): after the first call, only as many regions as fill a page", async () => {
    const { calls } = await walk(regions(20), () => 20, 100);
    expect(calls.length).toBe(35); // 20 on the first call (15 cancelled), then 5 per page
  });

  test("empty regions after dense ones are read concurrently, not one round trip each", async () => {
    // r00 is dense (the hint then says one region fills a page), r01..r18 are empty, r19 has 30.
    const sizes = (r: string) => (r === "r00" ? 250 : r === "r19" ? 30 : 0);
    const { fetchPage } = cloud(sizes);
    let inFlight = 0;
    let maxInFlight = 0;
    const counting: PageFetcher = async (c, q) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await fetchPage(c, q);
      } finally {
        inFlight--;
      }
    };
    let cursor: string | undefined = initialFanoutCursor(regions(20));
    const listed: string[] = [];
    for (let rpc = 0; cursor; rpc++) {
      maxInFlight = 0;
      const page = await listAcrossRegions(ctx(), counting, cursor, {}, 100, 32);
      listed.push(...page.instances.map((i) => i.id));
      if (page.instances.some((i) => i.id.startsWith("r19"))) expect(maxInFlight).toBeGreaterThanOrEqual(18);
      cursor = page.nextCursor;
    }
    expect(listed.length).toBe(280);
  });

  test("a forged read-ahead hint is refused, or bounded by the concurrency limit", async () => {
    const { fetchPage, calls } = cloud(() => 5);
    const forged = (y: unknown) => JSON.stringify({ r: regions(40).map((r) => [r, null, 0]), y });
    for (const y of [0, -1, 1.5, 1e9, "x"]) {
      await expect(listAcrossRegions(ctx(), fetchPage, forged(y), {}, 100, 32)).rejects.toThrow("read-ahead hint");
    }
    expect(calls.length).toBe(0);
    await listAcrossRegions(ctx(), fetchPage, forged(1), {}, 100, 32);
    expect(calls.length).toBeLessThanOrEqual(40); // at most one page per region, as a genuine token
  });
});
