// ListInstances for one region (aggregatedList restricted to the region's
// zones) or one zone (instances.list). The backend cursor wraps GCE's own
// page token plus how many instances of that GCE page earlier pages already
// returned, so a page never holds more than pageSize even when GCE's pages
// are larger or the region is restricted on our side.
import { invalidArgument } from "../../shared/errors";
import type { CallContext, Instance, InstancePage, ListInstancesQuery } from "../../shared/provider";
import { bootDiskKey, type BootImages } from "./boot-images";
import { buildFilter } from "./filters";
import { gceCall, type GceClients } from "./gce-api";
import { lastSegment, toInstance, type GceInstance } from "./instances";
import { regionOfZone, type Location } from "./rules";

/** GCE pages fetched at most for one of our pages before handing back a cursor. */
const MAX_GCE_PAGES_PER_PAGE = 10;

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
    if ((c.t === null || typeof c.t === "string") && Number.isInteger(c.s) && c.s >= 0) return c;
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
  location: Location,
  filter: string | undefined,
  pageToken: string | null,
  maxResults: number,
): Promise<GcePage> {
  const base = { project, maxResults, ...(filter ? { filter } : {}), ...(pageToken ? { pageToken } : {}) };
  if (location.kind === "zone") {
    const [, , raw] = await gceCall(ctx, "instances.list", { safe: true, field: "filters" }, (o) =>
      clients.instances.list({ ...base, zone: location.zone }, { ...o, autoPaginate: false }),
    );
    return { items: raw?.items ?? [], nextPageToken: raw?.nextPageToken || undefined, unreachable: [] };
  }
  await clients.instances.initialize();
  // The generated aggregatedList only iterates; the inner call with
  // autoPaginate off returns one page and its raw response (token, warnings).
  const aggregated = (clients.instances as unknown as { innerApiCalls: Record<string, Function> }).innerApiCalls.aggregatedList!;
  const [, , raw] = (await gceCall(ctx, "instances.aggregatedList", { safe: true, field: "filters" }, (o) =>
    aggregated(base, { ...o, autoPaginate: false }),
  )) as [unknown, unknown, AggregatedResponse];
  const items: GceInstance[] = [];
  const unreachable: string[] = [];
  for (const [scope, scoped] of Object.entries(raw?.items ?? {})) {
    const zone = lastSegment(scope);
    if (regionOfZone(zone) !== location.region) continue;
    if (scoped.warning?.code === "UNREACHABLE") unreachable.push(`${zone}: ${scoped.warning.message || "unreachable"}`);
    items.push(...(scoped.instances ?? []).filter((i) => regionOfZone(lastSegment(i.zone)) === location.region));
  }
  for (const scope of raw?.unreachables ?? []) {
    const zone = lastSegment(scope);
    if (regionOfZone(zone) === location.region && !unreachable.some((u) => u.startsWith(`${zone}:`))) unreachable.push(`${zone}: unreachable`);
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
  location: Location,
  query: ListInstancesQuery,
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
