// ListInstances for one region (aggregatedList restricted to the region's
// zones), one zone (instances.list), or every region at once (region "*":
// one unfiltered aggregatedList answers for every zone, so a "*" page costs
// one Compute Engine call, not one per region). The backend cursor wraps GCE's own
// page token plus how many instances of that GCE page earlier pages already
// returned, so a page never holds more than pageSize even when GCE's pages
// are larger or the region is restricted on our side.
import { invalidArgument } from "../../shared/errors";
import type { AllRegionsQuery, CallContext, Instance, InstancePage } from "../../shared/provider";
import { bootDiskKey, type BootImages } from "./boot-images";
import { buildFilter } from "./filters";
import { gceCall, type GceClients } from "./gce-api";
import { lastSegment, toInstance, type GceInstance } from "./instances";
import { regionOfZone, type ListScope } from "./rules";

/** GCE pages fetched at most for one of our pages before handing back a cursor. */
const MAX_GCE_PAGES_PER_PAGE = 10;
/** GCE's own page tokens are a few hundred characters; a cursor is forgeable, so bound what we forward. */
const MAX_GCE_PAGE_TOKEN = 2048;
/** A position inside one GCE page, which holds at most 500 instances. */
const MAX_SKIP = 500;

interface Cursor {
  /** GCE page token of the GCE page being read; null for the first page. */
  t: string | null;
  /** Instances of that GCE page already returned. */
  s: number;
}

function parseCursor(cursor: string | undefined): Cursor {
  if (!cursor) return { t: null, s: 0 };
  try {
    const c = JSON.parse(cursor) as Cursor;
    const tokenOk = c.t === null || (typeof c.t === "string" && c.t.length > 0 && c.t.length <= MAX_GCE_PAGE_TOKEN);
    if (tokenOk && Number.isInteger(c.s) && c.s >= 0 && c.s <= MAX_SKIP) return c;
  } catch {
    // fall through
  }
  throw invalidArgument("page_token", "not a GCE listing token");
}

export interface GcePage {
  items: GceInstance[];
  nextPageToken?: string;
  /** "ZONE: reason" for zones GCE could not list. */
  unreachable: string[];
}

/** One GCE page of instances in `location`, with a filter expression. */
export async function fetchGcePage(
  ctx: CallContext,
  clients: GceClients,
  project: string,
  location: ListScope,
  filter: string | undefined,
  pageToken: string | null,
  maxResults: number,
): Promise<GcePage> {
  const base = { project, maxResults, ...(filter ? { filter } : {}), ...(pageToken ? { pageToken } : {}) };
  if (location.kind === "zone") {
    const [, , raw] = await gceCall(ctx, "instances.list", { safe: true, blame: "caller", field: "filters" }, (o) =>
      clients.instances.list({ ...base, zone: location.zone }, { ...o, autoPaginate: false }),
    );
    return { items: raw?.items ?? [], nextPageToken: raw?.nextPageToken || undefined, unreachable: [] };
  }
  await clients.instances.initialize();
  // The generated aggregatedList only iterates; the inner call with
  // autoPaginate off returns one page and its raw response (token, warnings).
  const aggregated = (clients.instances as unknown as { innerApiCalls: Record<string, Function> }).innerApiCalls.aggregatedList!;
  const [, , raw] = (await gceCall(ctx, "instances.aggregatedList", { safe: true, blame: "caller", field: "filters" }, (o) =>
    aggregated(base, { ...o, autoPaginate: false }),
  )) as [unknown, unknown, AggregatedResponse];
  // A region listing keeps its region's zones only (a raw `filter` cannot
  // say the region, so it is restricted here); "*" keeps every zone.
  const inScope = (zone: string) => location.kind === "all" || regionOfZone(zone) === location.region;
  const items: GceInstance[] = [];
  const unreachable: string[] = [];
  for (const [scope, scoped] of Object.entries(raw?.items ?? {})) {
    const zone = lastSegment(scope);
    if (!inScope(zone)) continue;
    if (scoped.warning?.code === "UNREACHABLE") unreachable.push(`${zone}: ${scoped.warning.message || "unreachable"}`);
    items.push(...(scoped.instances ?? []).filter((i) => inScope(lastSegment(i.zone))));
  }
  for (const scope of raw?.unreachables ?? []) {
    const zone = lastSegment(scope);
    if (inScope(zone) && !unreachable.some((u) => u.startsWith(`${zone}:`))) unreachable.push(`${zone}: unreachable`);
  }
  return { items, nextPageToken: raw?.nextPageToken || undefined, unreachable };
}

interface AggregatedResponse {
  items?: Record<string, { instances?: GceInstance[]; warning?: { code?: string; message?: string } }>;
  nextPageToken?: string;
  unreachables?: string[];
}

export async function listInstancePage(
  ctx: CallContext,
  clients: GceClients,
  project: string,
  location: ListScope,
  query: AllRegionsQuery,
  bootImages?: BootImages,
): Promise<InstancePage> {
  const filter = buildFilter(query.filters, location);
  let cursor = parseCursor(query.cursor);
  if (filter.matchesNothing) return { instances: [], totalCount: 0 };
  const out: GceInstance[] = [];
  const unreachable = new Set<string>();
  // Images are resolved once for the whole page (boot-images.ts), not per instance.
  const result = async (nextCursor?: Cursor): Promise<InstancePage> => {
    const boot = bootImages ? await bootImages.resolve(ctx, out) : new Map();
    const instances: Instance[] = out.map((raw) => toInstance(raw, boot.get(bootDiskKey(raw) ?? "")));
    return { instances, unreachable: [...unreachable], ...(nextCursor ? { nextCursor: JSON.stringify(nextCursor) } : {}) };
  };
  for (let fetched = 0; fetched < MAX_GCE_PAGES_PER_PAGE; fetched++) {
    const page = await fetchGcePage(ctx, clients, project, location, filter.expression, cursor.t, query.pageSize);
    page.unreachable.forEach((u) => unreachable.add(u));
    const available = page.items.slice(cursor.s);
    const take = available.slice(0, query.pageSize - out.length);
    out.push(...take);
    if (take.length < available.length) return result({ t: cursor.t, s: cursor.s + take.length });
    if (!page.nextPageToken) return result();
    cursor = { t: page.nextPageToken, s: 0 };
    if (out.length === query.pageSize) return result(cursor);
  }
  return result(cursor);
}
