// ListInstances with region "*": every available region is listed
// concurrently (at most `concurrency` cloud calls in flight), regions are
// consumed in a stable order so pages are deterministic, and a region that
// fails is reported in `unreachable` instead of failing the call.
//
// The cursor records, per region, the cloud cursor of the page being read
// and how many of its instances earlier pages already returned. A page never
// holds more than pageSize instances; once it is full, prefetches that are
// no longer needed are cancelled.
import type { CallContext, Instance, InstancePage, ListInstancesQuery } from "../provider";
import { ProviderError, invalidArgument } from "../errors";

type RegionState = [region: string, cursor: string | null, skip: number];

interface FanoutCursor {
  /** Regions still to read, in order. */
  r: RegionState[];
}

export type PageFetcher = (ctx: CallContext, query: ListInstancesQuery) => Promise<InstancePage>;

export function initialFanoutCursor(regions: string[]): string {
  return JSON.stringify({ r: regions.map((r) => [r, null, 0]) } satisfies FanoutCursor);
}

function parseCursor(cursor: string): FanoutCursor {
  try {
    const parsed = JSON.parse(cursor) as FanoutCursor;
    if (!Array.isArray(parsed.r)) throw new Error();
    for (const s of parsed.r) {
      if (!Array.isArray(s) || typeof s[0] !== "string" || typeof s[2] !== "number") throw new Error();
    }
    return parsed;
  } catch {
    throw invalidArgument("page_token", "the token is not a multi-region listing token");
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
  const pending = parseCursor(cursor).r;
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
        const why = outcome.error instanceof ProviderError ? `${outcome.error.code}: ${outcome.error.message}` : "internal error";
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
