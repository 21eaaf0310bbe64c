// ListInstances with region "*": every available region is listed
// concurrently (at most `concurrency` cloud calls in flight), regions are
// consumed in a stable order so pages are deterministic, and a region that
// fails is reported in `unreachable` instead of failing the call.
//
// The cursor records, per region, the cloud cursor of the page being read
// and how many of its instances earlier pages already returned. A page never
// holds more than pageSize instances; once it is full, prefetches that are
// no longer needed are cancelled.
//
// Page tokens carry no secret, so a caller can forge this cursor. What keeps
// a forged cursor from costing more than a genuine one: parseFanoutCursor
// refuses (before any cloud call) a region list that is too long, repeats a
// region, or carries oversized cursors or skips; checkFanoutRegions then
// refuses any region that is not among the cloud's available regions, in the
// order a genuine token keeps them. So one RPC reads at most one page per
// real region, each region once, exactly like a genuine token.
import type { CallContext, Instance, InstancePage, ListInstancesQuery } from "../provider";
import { ProviderError, invalidArgument } from "../errors";
import { bounded, quote } from "../quote";

type RegionState = [region: string, cursor: string | null, skip: number];

interface FanoutCursor {
  /** Regions still to read, in order. */
  r: RegionState[];
}

export type PageFetcher = (ctx: CallContext, query: ListInstancesQuery) => Promise<InstancePage>;

export function initialFanoutCursor(regions: string[]): string {
  return JSON.stringify({ r: regions.map((r) => [r, null, 0]) } satisfies FanoutCursor);
}

/** More regions than any real cloud has (AWS ~36, GCE ~42). */
export const MAX_FANOUT_REGIONS = 128;
/** A cloud's own cursor (EC2 NextToken, GCE pageToken, Nova marker) is far shorter. */
export const MAX_REGION_CURSOR = 2048;
/** A region's skip is below one cloud page, which is at most MAX_PAGE_SIZE... */
const MAX_SKIP = 1000; // ...but EC2 pages by reservation, so leave room.
const REGION_NAME = /^[A-Za-z0-9][A-Za-z0-9._\/-]{0,62}$/;

/** Structural checks only: no cloud call is needed to refuse these. */
export function parseFanoutCursor(cursor: string): RegionState[] {
  const bad = (why: string) => invalidArgument("page_token", `not a multi-region listing token: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    throw bad("unreadable");
  }
  const states = (parsed as Partial<FanoutCursor> | null)?.r;
  if (!Array.isArray(states)) throw bad("unreadable");
  if (states.length > MAX_FANOUT_REGIONS) throw bad(`it lists ${states.length} regions, more than ${MAX_FANOUT_REGIONS}`);
  const seen = new Set<string>();
  for (const s of states) {
    if (!Array.isArray(s) || s.length !== 3) throw bad("unreadable");
    const [region, regionCursor, skip] = s as unknown[];
    if (typeof region !== "string" || !REGION_NAME.test(region)) throw bad("a region is not a region name");
    if (seen.has(region)) throw bad(`region ${quote(region)} appears twice`);
    seen.add(region);
    if (regionCursor !== null && (typeof regionCursor !== "string" || regionCursor.length > MAX_REGION_CURSOR)) throw bad("a region cursor is invalid");
    if (!Number.isInteger(skip) || (skip as number) < 0 || (skip as number) > MAX_SKIP) throw bad("a region position is invalid");
  }
  return states as RegionState[];
}

/**
 * Every region of the cursor must be an available region, in the cloud's
 * order (a genuine cursor is what remains of that list, order kept).
 */
export function checkFanoutRegions(states: RegionState[], available: string[]): void {
  const position = new Map(available.map((r, i) => [r, i]));
  let last = -1;
  for (const [region] of states) {
    const at = position.get(region);
    if (at === undefined) {
      throw invalidArgument("page_token", `region ${quote(region)} in the token is not an available region; list again without page_token`);
    }
    if (at < last) throw invalidArgument("page_token", "the token's regions are out of order; list again without page_token");
    last = at;
  }
}

export interface FanoutResult extends InstancePage {
  unreachable: string[];
}

export async function listAcrossRegions(
  ctx: CallContext,
  fetchPage: PageFetcher,
  cursor: string,
  filters: Record<string, string>,
  pageSize: number,
  concurrency: number,
): Promise<FanoutResult> {
  const pending = parseFanoutCursor(cursor);
  const prefetch = new AbortController();
  const onAbort = () => prefetch.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const childCtx: CallContext = { ...ctx, signal: prefetch.signal };

  type Outcome = { ok: true; page: InstancePage } | { ok: false; error: unknown };
  const launched: Promise<Outcome>[] = [];
  const launch = (i: number) => {
    const [region, regionCursor] = pending[i]!;
    launched[i] = fetchPage(childCtx, { region, filters, pageSize, cursor: regionCursor ?? undefined }).then(
      (page) => ({ ok: true as const, page }),
      (error) => ({ ok: false as const, error }),
    );
  };
  for (let i = 0; i < Math.min(concurrency, pending.length); i++) launch(i);

  const instances: Instance[] = [];
  const unreachable: string[] = [];
  const remaining: RegionState[] = [];
  try {
    for (let i = 0; i < pending.length; i++) {
      const state = pending[i]!;
      if (instances.length >= pageSize) {
        remaining.push(state);
        continue;
      }
      const outcome = await launched[i]!;
      if (i + concurrency < pending.length) launch(i + concurrency);
      const [region, regionCursor, skip] = state;
      if (!outcome.ok) {
        if (ctx.signal.aborted) throw outcome.error;
        const why = outcome.error instanceof ProviderError ? `${outcome.error.code}: ${bounded(outcome.error.message)}` : "internal error";
        unreachable.push(`${region}: ${why}`);
        continue;
      }
      const page = outcome.page;
      for (const u of page.unreachable ?? []) unreachable.push(`${region}/${u}`);
      const items = page.instances.slice(skip);
      const taken = items.slice(0, pageSize - instances.length);
      instances.push(...taken);
      if (taken.length < items.length) remaining.push([region, regionCursor, skip + taken.length]);
      else if (page.nextCursor) remaining.push([region, page.nextCursor, 0]);
    }
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    prefetch.abort();
  }
  return {
    instances,
    unreachable,
    nextCursor: remaining.length > 0 ? JSON.stringify({ r: remaining } satisfies FanoutCursor) : undefined,
  };
}
