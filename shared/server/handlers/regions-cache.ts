// The available regions (GetProviderInfo, and every page of a "*" listing,
// which checks its token against them), reused for a few seconds: a cloud
// call per page only for that doubled a walk's round trips. Only answers are
// reused, never a call in flight: one caller's cancellation must not fail
// the others. Per tenant (per-call credentials): accounts differ in their
// opted-in regions, clouds in their regions.
import type { CallContext, CloudBackend } from "../../provider";

const FANOUT_REGIONS_TTL_MS = 15_000;
/** Tenants whose region lists are reused at once (oldest first out). */
const MAX_REGION_CACHES = 1024;

export class RegionsCache {
  private readonly byTenant = new Map<string, { until: number; regions: string[] }>();

  constructor(private readonly backend: CloudBackend) {}

  async available(ctx: CallContext): Promise<string[]> {
    const key = ctx.tenant ?? "";
    const hit = this.byTenant.get(key);
    if (hit && hit.until > Date.now()) return hit.regions;
    const regions = (await this.backend.listRegions(ctx)).filter((r) => r.status === "available").map((r) => r.id);
    this.byTenant.delete(key);
    this.byTenant.set(key, { until: Date.now() + FANOUT_REGIONS_TTL_MS, regions });
    if (this.byTenant.size > MAX_REGION_CACHES) this.byTenant.delete(this.byTenant.keys().next().value!);
    return regions;
  }
}
