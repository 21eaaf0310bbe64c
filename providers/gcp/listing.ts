// ListInstances for one region (aggregatedList restricted to the region's
// zones), one zone (instances.list), or every region at once (region "*":
// one unfiltered aggregatedList answers for every zone, so a "*" page costs
// one Compute Engine call, not one per region). Pages of at most pageSize
// over GCE's larger (or region-restricted) pages come from the shared
// adapter, shared/cloud/paging.ts.
import { decodeCursor, readPage, type PagingLimits } from "../../shared/cloud/paging";
import type { AllRegionsQuery, CallContext, Instance, InstancePage } from "../../shared/provider";
import { bootDiskKey, type BootImages } from "./boot-images";
import { buildFilter } from "./filters";
import { gceCall, type GceClients } from "./gce-api";
import { lastSegment, toInstance, type GceInstance } from "./instances";
import { regionOfZone, type ListScope } from "./rules";

/**
 * GCE's maxResults is 1..500, and a GCE page holds at most 500 instances; a
 * filter can leave GCE pages empty, so one of our pages stops after 10 GCE
 * calls. GCE's own page tokens are a few hundred characters: a cursor is
 * forgeable, so what is forwarded is bounded.
 */
const GCE_PAGING: PagingLimits = { cloud: "GCE", minResults: 1, maxResults: 500, maxCallsPerPage: 10, maxTokenLength: 2048, maxSkip: 500 };

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
  if (filter.matchesNothing) {
    if (query.cursor) decodeCursor(query.cursor, GCE_PAGING, query.pageSize); // a forged cursor is refused all the same
    return { instances: [], totalCount: 0 };
  }
  const unreachable = new Set<string>();
  const page = await readPage<GceInstance>(
    async (pageToken, maxResults) => {
      const gce = await fetchGcePage(ctx, clients, project, location, filter.expression, pageToken ?? null, maxResults);
      gce.unreachable.forEach((u) => unreachable.add(u));
      return { items: gce.items, nextToken: gce.nextPageToken };
    },
    query.pageSize,
    query.cursor,
    GCE_PAGING,
  );
  // Images are resolved once for the whole page (boot-images.ts), not per instance.
  const boot = bootImages ? await bootImages.resolve(ctx, page.items) : new Map();
  const instances: Instance[] = page.items.map((raw) => toInstance(raw, boot.get(bootDiskKey(raw) ?? "")));
  return { instances, unreachable: [...unreachable], ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}
