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
// Which regions a page starts: in the order the page consumes them, only as
// many as should fill it, each counted for what one of its pages is expected
// to yield. Every page costs at least one cloud round trip (the token is
// stateless, so nothing can be fetched ahead for the next call), so what a
// page should avoid is starting a region whose page it then cannot use: a
// region call the next page repeats. What a region page yields:
//   - the first page of a walk knows nothing yet and assumes each region
//     gives FIRST_PAGE_REGION_YIELD (10) instances: it starts
//     ceil(page_size / 10) regions at once (every region of a real cloud for
//     a page of 500; 10 for a page of 100). Where regions are dense, the
//     first region fills the page and at most that many calls are wasted,
//     once per walk. Where they are sparser than assumed, the guess was
//     wrong: it starts every other region at once (up to the concurrency
//     limit) and reads on, so a first page is full, or holds every instance,
//     after two round trips (when the limit covers the regions);
//   - later pages read what earlier pages saw: the cursor carries how many
//     instances one region page yielded (`y`), so a page of dense regions
//     starts exactly the one region that fills it, and of small regions as
//     many as fill it. Once such a page has instances, it never waits for a
//     region it has not started: it answers with a shorter page instead of a
//     second round trip (a page may hold fewer than page_size; the token
//     continues).
// A page with nothing yet (the regions it started were empty or failed)
// reads ahead as far as the concurrency limit allows instead of one round
// trip per empty region. A region that answered with nothing at all while
// a full page was being answered is left out of the cursor: the walk has
// seen that it is empty, and reading it again would cost a call for the
// same answer.
//
// Every region has a time budget: the caller's deadline less a margin for
// the reply (regionBudgetMs), or --fanout-region-timeout-seconds (10 s) when
// the caller set no deadline. A region that has not answered when the budget
// is spent has its call aborted and is reported in `unreachable`
// ("REGION: timed out after N ms"), and the page is answered with what the
// other regions gave, before the caller's deadline. Regions not started by
// then stay in the cursor for the next page.
//
// A region reported in `unreachable` (failed or timed out) is not read again
// by later pages of the same walk: retrying it on every page could make a
// walk that never ends. The walk is complete except for the regions its
// pages named in `unreachable` (the rest of that region, if it failed after
// earlier pages); list such a region by name, or start the walk again.
//
// Page tokens carry no secret, so a caller can forge this cursor. What keeps
// a forged cursor from costing more than a genuine one: parseFanoutCursor
// refuses (before any cloud call) a region list that is too long, repeats a
// region, or carries oversized cursors or skips; checkFanoutRegions then
// refuses any region that is not among the cloud's available regions, in the
// order a genuine token keeps them. So one RPC reads at most one page per
// real region, each region once, exactly like a genuine token.
import type { CallContext, Instance, InstancePage, ListInstancesQuery } from "../provider";
import { ProviderError, deadlineExceeded, invalidArgument } from "../errors";
import { bounded, quote } from "../quote";

type RegionState = [region: string, cursor: string | null, skip: number];

interface FanoutCursor {
  /** Regions still to read, in order. */
  r: RegionState[];
  /** Instances one region page yielded so far (read-ahead hint); absent on the first call. */
  y?: number;
}

interface ParsedFanoutCursor {
  states: RegionState[];
  yieldHint?: number;
}

/** A region's budget when the caller set no deadline (--fanout-region-timeout-seconds). */
export const DEFAULT_REGION_TIMEOUT_MS = 10_000;
/** Kept free before the caller's deadline to build and send the reply. */
const REPLY_MARGIN_MAX_MS = 1_000;
const REPLY_MARGIN_MIN_MS = 100;

/**
 * How long each region may take: up to the caller's deadline less a margin
 * for the reply (a tenth of the time left, 100 ms to 1 s), or `fallbackMs`
 * without a deadline.
 */
export function regionBudgetMs(deadline: Date | undefined, fallbackMs: number, now = Date.now()): number {
  if (!deadline) return fallbackMs;
  const left = deadline.getTime() - now;
  const margin = Math.min(REPLY_MARGIN_MAX_MS, Math.max(REPLY_MARGIN_MIN_MS, left / 10));
  return Math.max(0, Math.floor(left - margin));
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
  return parseCursor(cursor).states;
}

function parseCursor(cursor: string): ParsedFanoutCursor {
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
  // A forged hint only changes how many regions start at once, never beyond
  // the concurrency limit or one page per region: bounded like a genuine one.
  const y = (parsed as Partial<FanoutCursor>).y;
  if (y !== undefined && (!Number.isInteger(y) || y < 1 || y > MAX_SKIP)) throw bad("the read-ahead hint is invalid");
  return { states: states as RegionState[], yieldHint: y };
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

/** An error a backend threw because its signal fired (it may wrap the reason). */
function isAbort(err: unknown): boolean {
  return (err instanceof ProviderError && (err.code === "DEADLINE_EXCEEDED" || err.code === "CANCELLED")) || (err instanceof Error && err.name === "AbortError");
}

export interface FanoutResult extends InstancePage {
  unreachable: string[];
}

/**
 * Instances one region page is assumed to yield before any region of the walk
 * has answered: the first page starts ceil(page_size / this) regions.
 */
export const FIRST_PAGE_REGION_YIELD = 10;

export async function listAcrossRegions(
  ctx: CallContext,
  fetchPage: PageFetcher,
  cursor: string,
  filters: Record<string, string>,
  pageSize: number,
  concurrency: number,
  /** Told each region's outcome (metrics); region names come from the cloud's own list. */
  onRegion?: (region: string, reachable: boolean) => void,
  /** Each region's budget without a caller deadline. */
  regionTimeoutMs = DEFAULT_REGION_TIMEOUT_MS,
): Promise<FanoutResult> {
  const { states: pending, yieldHint } = parseCursor(cursor);
  const prefetch = new AbortController();
  const onAbort = () => prefetch.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const childCtx: CallContext = { ...ctx, signal: prefetch.signal };

  type Outcome = { ok: true; page: InstancePage } | { ok: false; error: unknown } | { ok: false; timedOut: true };
  // The budget: when it is spent, regions still answering are cut off (their
  // calls aborted) and reported, whether or not the backend heeds the abort.
  const budgetMs = regionBudgetMs(ctx.deadline, regionTimeoutMs);
  let expired = false;
  let expire!: () => void;
  const budgetSpent = new Promise<Outcome>((resolve) => (expire = () => resolve({ ok: false, timedOut: true })));
  const budgetReason = deadlineExceeded(`region listing timed out after ${budgetMs} ms`);
  const budgetTimer = setTimeout(() => {
    expired = true;
    expire();
    prefetch.abort(budgetReason);
  }, Math.min(budgetMs, 2 ** 31 - 1));

  // Regions start in order, so launched.length is the next one to start.
  const launched: Promise<Outcome>[] = [];
  /** Pages that arrived, consumed or not (what the walk learns from them). */
  const answered: (InstancePage | undefined)[] = [];
  const launch = (i: number) => {
    const [region, regionCursor] = pending[i]!;
    launched[i] = fetchPage(childCtx, { region, filters, pageSize, cursor: regionCursor ?? undefined }).then(
      (page) => {
        answered[i] = page;
        return { ok: true as const, page };
      },
      (error) => ({ ok: false as const, error }),
    );
  };
  // The first wave: regions in order until what they should yield fills the
  // page (a region being re-read yields less what earlier pages took of it).
  const perRegion = Math.min(pageSize, yieldHint ?? FIRST_PAGE_REGION_YIELD);
  for (let expected = 0; expected < pageSize && launched.length < Math.min(concurrency, pending.length); ) {
    expected += Math.max(1, perRegion - pending[launched.length]![2]);
    launch(launched.length);
  }

  const instances: Instance[] = [];
  const unreachable: string[] = [];
  /** What the next page reads, in order. */
  const remaining: RegionState[] = [];
  /** Regions this page did not reach (a suffix of pending). */
  const unconsumed: number[] = [];
  // Starts every region from `from` (the first one not answered yet) up to
  // the concurrency limit: for when the estimate that chose the first wave
  // turned out wrong.
  const readAhead = (from: number) => {
    while (!expired && launched.length < pending.length && launched.length - from < concurrency) launch(launched.length);
  };
  // Region i gave nothing and nothing is collected yet (empty or failing
  // regions): the estimate was too optimistic, so read ahead now instead of
  // one round trip per empty region.
  const readAheadIfEmpty = (i: number, gaveSome: boolean) => {
    if (!gaveSome && instances.length === 0) readAhead(i + 1);
  };
  try {
    for (let i = 0; i < pending.length; i++) {
      const state = pending[i]!;
      if (instances.length >= pageSize) {
        unconsumed.push(i);
        continue;
      }
      if (launched[i] === undefined) {
        // Not started yet. With instances in hand and a wave planned from
        // what earlier pages saw, answer now rather than spend a second
        // round trip. The first page's wave was a guess: it reads on, as
        // does a page with nothing yet (unless the budget is spent: the
        // next page reads the rest).
        if (expired || (instances.length > 0 && yieldHint !== undefined)) {
          unconsumed.push(i);
          continue;
        }
        readAhead(i);
      }
      // A region that answered before the budget was spent counts, even when read after.
      const outcome = await Promise.race([launched[i]!, budgetSpent]);
      const [region, regionCursor, skip] = state;
      if (!outcome.ok) {
        if (ctx.signal.aborted) throw "error" in outcome ? outcome.error : ctx.signal.reason;
        readAheadIfEmpty(i, false);
        onRegion?.(region, false);
        const why =
          "timedOut" in outcome || outcome.error === budgetReason || (expired && prefetch.signal.reason === budgetReason && isAbort(outcome.error))
            ? `timed out after ${budgetMs} ms`
            : outcome.error instanceof ProviderError
              ? `${outcome.error.code}: ${bounded(outcome.error.message)}`
              : "internal error";
        unreachable.push(`${region}: ${why}`);
        continue;
      }
      const page = outcome.page;
      onRegion?.(region, true);
      readAheadIfEmpty(i, page.instances.length > skip);
      for (const u of page.unreachable ?? []) unreachable.push(`${region}/${u}`);
      const items = page.instances.slice(skip);
      const taken = items.slice(0, pageSize - instances.length);
      instances.push(...taken);
      if (taken.length < items.length) remaining.push([region, regionCursor, skip + taken.length]);
      else if (page.nextCursor) remaining.push([region, page.nextCursor, 0]);
    }
  } finally {
    clearTimeout(budgetTimer);
    ctx.signal.removeEventListener("abort", onAbort);
    prefetch.abort();
  }
  // Regions this page did not reach stay, except one that already answered
  // that it has nothing (an empty region started ahead of a full page).
  for (const i of unconsumed) {
    const page = answered[i];
    const [region, , skip] = pending[i]!;
    if (page && !page.nextCursor && page.instances.length <= skip && !page.unreachable?.length) {
      onRegion?.(region, true);
      continue;
    }
    remaining.push(pending[i]!);
  }
  return {
    instances,
    unreachable,
    nextCursor: remaining.length > 0 ? JSON.stringify({ r: remaining, ...yieldOf(answered, yieldHint) } satisfies FanoutCursor) : undefined,
  };
}

/**
 * What one region page yields, for the next page's read-ahead: from pages
 * that were not a region's last (a region's tail says nothing about how
 * dense the regions are); tails alone (small regions) only when nothing
 * better is known.
 */
function yieldOf(answered: (InstancePage | undefined)[], hint: number | undefined): { y?: number } {
  let fullPages = 0;
  let fullPageInstances = 0;
  let pages = 0;
  let pageInstances = 0;
  for (const page of answered) {
    if (!page) continue;
    pages++;
    pageInstances += page.instances.length;
    if (page.nextCursor) {
      fullPages++;
      fullPageInstances += page.instances.length;
    }
  }
  const observed = fullPages > 0 ? fullPageInstances / fullPages : (hint ?? (pages > 0 ? pageInstances / pages : undefined));
  return observed === undefined ? {} : { y: Math.min(MAX_SKIP, Math.max(1, Math.round(observed))) };
}
