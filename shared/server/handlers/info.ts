// GetProviderInfo, ListRegions, HealthCheck and GetCostEstimate: what the
// provider is and what it can do, where, and at what price.
import { capabilitiesToWire } from "../../capabilities";
import { parseDuration } from "../../pricing/duration";
import { roundToDecimals } from "../../pricing/rounding";
import { regionToWire, toTimestamp } from "../convert";
import { checkRegion, requireText } from "../validation";
import { defaultRegionOf, regionOrDefault, rpc, type HandlerEnv, type HandlerGroup, type ResponseOf } from "./env";

export function infoHandlers(env: HandlerEnv): HandlerGroup<"GetProviderInfo" | "ListRegions" | "HealthCheck" | "GetCostEstimate"> {
  const { backend, opts } = env;
  // The reply depends only on the tenant's backend (fixed by its
  // credentials) and its available regions: built once per region list the
  // cache hands out (a tenant gets the same array until it is refreshed),
  // not per call. Frozen: every call of that tenant answers this object.
  const infoReplies = new WeakMap<readonly string[], ResponseOf<"GetProviderInfo">>();
  return {
    GetProviderInfo: rpc(env, "GetProviderInfo", async (_req, ctx) => {
      const regions = await env.regions.available(ctx);
      let reply = infoReplies.get(regions);
      if (!reply) {
        const capabilities = { ...capabilitiesToWire(backend.capabilities()), ...opts.serverCapabilities, mode: backend.mode, default_region: await defaultRegionOf(backend, ctx.signal) };
        reply = Object.freeze({
          name: backend.provider,
          version: opts.version,
          supported_regions: Object.freeze([...regions]) as string[],
          capabilities: Object.freeze(capabilities),
        });
        infoReplies.set(regions, reply);
      }
      return reply;
    }),

    ListRegions: rpc(env, "ListRegions", async (_req, ctx) => ({ regions: (await backend.listRegions(ctx, { zones: true })).map(regionToWire) })),

    GetCostEstimate: rpc(env, "GetCostEstimate", async (req, ctx) => {
      const instanceType = requireText("instance_type", req.instance_type, 128);
      const regionValue = checkRegion("region", req.region, false);
      const duration = parseDuration(req.duration ?? "");
      const regionName = await regionOrDefault(env, regionValue, ctx);
      const quote = await backend.priceQuote(ctx, { instanceType, region: regionName });
      const round = (n: number) => roundToDecimals(n, 6);
      return {
        instance_type: instanceType,
        region: regionName,
        duration: duration.text,
        cost: round(quote.hourlyRate * duration.hours),
        currency: quote.currency,
        hourly_rate: round(quote.hourlyRate),
        price_source: quote.source,
        price_date: quote.date,
        breakdown: quote.breakdown.map((c) => ({
          name: c.name,
          hourly_rate: round(c.hourlyRate),
          cost: round(c.hourlyRate * duration.hours),
          detail: c.detail ?? "",
        })),
        hours: duration.hours,
      };
    }),

    HealthCheck: rpc(env, "HealthCheck", async (_req, ctx) => {
      const report = await backend.healthCheck(ctx).catch((err: unknown) => ({
        healthy: false,
        message: err instanceof Error ? err.message : "health check failed",
        checks: {},
      }));
      return { healthy: report.healthy, message: report.message, timestamp: toTimestamp(new Date()), checks: report.checks };
    }),
  };
}
