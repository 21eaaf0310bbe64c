// ListInstances: validates the query, wraps the backend's cursors into page
// tokens, and answers region "*" either from the backend's own all-regions
// listing or by fanning out over its regions.
import { ProviderError } from "../../errors";
import type { CallContext, InstancePage, ListInstancesQuery } from "../../provider";
import { instanceToWire } from "../convert";
import { checkFanoutRegions, initialFanoutCursor, listAcrossRegions, parseFanoutCursor } from "../fanout";
import { decodePageToken, encodePageToken, queryFingerprint } from "../page-token";
import { checkPageSize, checkRegion, checkStringMap } from "../validation";
import { regionOrDefault, rpc, type HandlerEnv, type HandlerGroup, type RequestOf, type ResponseOf } from "./env";

export function listingHandlers(env: HandlerEnv): HandlerGroup<"ListInstances"> {
  return { ListInstances: rpc(env, "ListInstances", (req, ctx) => listPage(env, ctx, req)) };
}

async function listPage(env: HandlerEnv, ctx: CallContext, req: RequestOf<"ListInstances">): Promise<ResponseOf<"ListInstances">> {
  const { backend, deps, opts } = env;

  /** Runs a page-token check, counting refusals (forged or stale tokens show up on a dashboard). */
  function tokenChecked<T>(check: () => T): T {
    try {
      return check();
    } catch (err) {
      deps.metrics?.pageTokenRejected("ListInstances");
      throw err;
    }
  }

  /** tokenChecked for a backend's own cursor check, which runs inside its listing. */
  async function backendTokenChecked<T>(list: () => Promise<T>): Promise<T> {
    try {
      return await list();
    } catch (err) {
      if (err instanceof ProviderError && err.code === "INVALID_ARGUMENT" && err.details.field === "page_token") deps.metrics?.pageTokenRejected("ListInstances");
      throw err;
    }
  }

  const regionValue = checkRegion("region", req.region, true);
  const filters = checkStringMap("filters", req.filters);
  const pageSize = checkPageSize(req.page_size);
  const resolved = await regionOrDefault(env, regionValue, ctx);
  const fingerprint = queryFingerprint(resolved, filters);
  const token = (req.page_token ?? "").trim();
  const state = token ? tokenChecked(() => decodePageToken(token, fingerprint)) : undefined;

  let page: InstancePage & { unreachable?: string[] };
  if (resolved === "*" && backend.listAllRegions) {
    // The cloud answers every region at once: its own cursor is the token's
    // (the backend refuses a forged one before any cloud call).
    const listAll = backend.listAllRegions.bind(backend);
    page = await backendTokenChecked(() => listAll(ctx, { filters, pageSize, cursor: state?.cursor }));
  } else if (resolved === "*") {
    // A token's region list is checked shape-first (no cloud call), then
    // against the real regions, before any instance listing.
    const pending = state ? tokenChecked(() => parseFanoutCursor(state.cursor)) : undefined;
    const available = await env.regions.available(ctx);
    if (pending) tokenChecked(() => checkFanoutRegions(pending, available));
    const cursor = state?.cursor ?? initialFanoutCursor(available);
    page = await listAcrossRegions(ctx, (c, q) => backend.listInstances(c, q), cursor, filters, pageSize, opts.fanoutConcurrency, (r, ok) =>
      deps.metrics?.fanoutRegion(r, ok), opts.fanoutRegionTimeoutMs,
    );
  } else {
    const query: ListInstancesQuery = { region: resolved, filters, pageSize, cursor: state?.cursor };
    page = await backend.listInstances(ctx, query);
  }
  if (page.instances.length > pageSize) {
    // A backend bug, caught here rather than breaking the contract.
    throw new Error(`backend returned ${page.instances.length} instances for page_size ${pageSize}`);
  }
  const seen = (state?.seen ?? 0) + page.instances.length;
  const last = !page.nextCursor;
  return {
    instances: page.instances.map((i) => instanceToWire(i, backend.provider)),
    next_page_token: last ? "" : encodePageToken({ cursor: page.nextCursor!, seen }, fingerprint),
    total_count: last ? seen : (page.totalCount ?? -1),
    unreachable: page.unreachable ?? [],
  };
}
