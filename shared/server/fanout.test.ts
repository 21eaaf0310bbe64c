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

/**
 * A cloud of offset-paged regions. `calls` lists every region page asked
 * for; `rounds` how many answers of the current listing had arrived when
 * each call started (all 0: the listing took one round trip).
 */
function cloud(perRegion: (region: string) => number, latencyMs: (region: string) => number = () => 1) {
  const calls: string[] = [];
  let answers = 0;
  let rounds: number[] = [];
  const fetchPage: PageFetcher = async (c, q): Promise<InstancePage> => {
    calls.push(`${q.region}@${q.cursor ?? 0}`);
    rounds.push(answers);
    await Bun.sleep(latencyMs(q.region));
    if (c.signal.aborted) throw c.signal.reason;
    answers++;
    const offset = Number(q.cursor ?? 0);
    const n = Math.max(0, Math.min(q.pageSize, perRegion(q.region) - offset));
    const instances = Array.from({ length: n }, (_, i) => ({ id: `${q.region}-${offset + i}` }) as Instance);
    return { instances, nextCursor: offset + n < perRegion(q.region) ? String(offset + n) : undefined };
  };
  /** Starts counting round trips for a new listing call; returns the calls it made, each with the answers seen before it. */
  const newCall = () => {
    answers = 0;
    rounds = [];
    return () => rounds;
  };
  return { calls, fetchPage, newCall };
}

async function walk(names: string[], perRegion: (r: string) => number, pageSize: number, latencyMs?: (r: string) => number) {
  const { calls, fetchPage, newCall } = cloud(perRegion, latencyMs);
  const pages: string[][] = [];
  /** Per RPC: the answers each of its cloud calls waited for (all 0: one round trip). */
  const waits: number[][] = [];
  let cursor: string | undefined = initialFanoutCursor(names);
  while (cursor) {
    const rounds = newCall();
    const page = await listAcrossRegions(ctx(), fetchPage, cursor, {}, pageSize, 32);
    waits.push([...rounds()]);
    expect(page.instances.length).toBeLessThanOrEqual(pageSize);
    pages.push(page.instances.map((i) => i.id));
    cursor = page.nextCursor;
  }
  const expected = names.flatMap((r) => Array.from({ length: perRegion(r) }, (_, i) => `${r}-${i}`));
  expect(pages.flat()).toEqual(expected); // each once, in order
  return { calls, pages, waits };
}

describe("fan-out read-ahead", () => {
  test("dense regions (20 x 250, page 100): 69 region pages for the 60 needed (was 540, then 79); one round trip per page", async () => {
    const { calls, pages, waits } = await walk(regions(20), () => 250, 100);
    // The first page starts ceil(100 / FIRST_PAGE_REGION_YIELD) = 10 regions
    // (r00 fills it: 9 wasted, once); every later page exactly the one it reads.
    expect(calls.length).toBe(60 + 9);
    expect(calls.slice(0, 10)).toEqual(regions(10).map((r) => `${r}@0`));
    expect(pages.length).toBe(60);
    expect(waits.every((w) => w.every((answered) => answered === 0))).toBe(true);
    // Pages end where a region's page ends rather than start a second round trip.
    expect(pages.filter((p) => p.length === 50).length).toBe(20);
  });

  test("sparse regions in one page (20 x 20, page 500): every region at once, one call each, one round trip", async () => {
    const { calls, pages, waits } = await walk(regions(20), () => 20, 500);
    expect(pages.length).toBe(1);
    expect(calls.length).toBe(20);
    expect(waits).toEqual([Array(20).fill(0)]);
  });

  test("small regions (20 x 20, page 100): the first call starts 10 regions, later ones as many as fill a page", async () => {
    const { calls, pages } = await walk(regions(20), () => 20, 100);
    expect(calls.length).toBe(25); // 10 on the first call (5 unused), then 5 per page
    expect(pages.map((p) => p.length)).toEqual([100, 100, 100, 100]);
  });

  test("sparser than the first page assumed (20 x 2, page 50): the first page reads on, in one more round trip, rather than answer short", async () => {
    const { calls, pages, waits } = await walk(regions(20), () => 2, 50);
    // 5 regions (50 / 10) give 10: the guess was wrong, so the other 15 start
    // together once those have answered, and the first page holds everything.
    expect(pages.map((p) => p.length)).toEqual([40]);
    expect(calls.length).toBe(20);
    expect(waits).toEqual([[...Array(5).fill(0), ...Array(15).fill(5)]]);
  });

  test("a later page answers short rather than spend a second round trip (20 x 150, page 100)", async () => {
    const { calls, pages, waits } = await walk(regions(20), () => 150, 100);
    // The token says one region fills a page; a region's tail of 50 ends the page there.
    expect(pages.slice(1, 3).map((p) => p.length)).toEqual([50, 100]);
    expect(waits.slice(1).every((w) => w.every((answered) => answered === 0))).toBe(true);
    expect(calls.length).toBe(40 + 9);
  });

  test("a region that answered empty ahead of a full page is not read again", async () => {
    // r00 fills the first page; r01..r09, started with it, answer empty before it does.
    const sizes = (r: string) => (r === "r00" ? 100 : r === "r10" ? 5 : 0);
    const { calls, pages } = await walk(regions(12), sizes, 100, (r) => (r === "r00" ? 20 : 1));
    expect(pages.map((p) => p.length)).toEqual([100, 5]);
    for (const r of regions(10).slice(1)) expect(calls.filter((c) => c.startsWith(`${r}@`)).length).toBe(1);
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
