// EC2 regions: DescribeRegions(AllRegions) -> Region, and a TTL cache so
// GetProviderInfo and every "*" listing do not call DescribeRegions again.
import type { AvailabilityZone, Region as Ec2Region } from "@aws-sdk/client-ec2";
import type { Region, Zone } from "../../shared/provider";

// Display names are not in the EC2 API (only in SSM public parameters);
// regions missing here show their id, which is still correct.
const DISPLAY_NAMES: Record<string, string> = {
  "us-east-1": "US East (N. Virginia)",
  "us-east-2": "US East (Ohio)",
  "us-west-1": "US West (N. California)",
  "us-west-2": "US West (Oregon)",
  "af-south-1": "Africa (Cape Town)",
  "ap-east-1": "Asia Pacific (Hong Kong)",
  "ap-south-1": "Asia Pacific (Mumbai)",
  "ap-south-2": "Asia Pacific (Hyderabad)",
  "ap-southeast-1": "Asia Pacific (Singapore)",
  "ap-southeast-2": "Asia Pacific (Sydney)",
  "ap-southeast-3": "Asia Pacific (Jakarta)",
  "ap-southeast-4": "Asia Pacific (Melbourne)",
  "ap-northeast-1": "Asia Pacific (Tokyo)",
  "ap-northeast-2": "Asia Pacific (Seoul)",
  "ap-northeast-3": "Asia Pacific (Osaka)",
  "ca-central-1": "Canada (Central)",
  "ca-west-1": "Canada West (Calgary)",
  "eu-central-1": "Europe (Frankfurt)",
  "eu-central-2": "Europe (Zurich)",
  "eu-west-1": "Europe (Ireland)",
  "eu-west-2": "Europe (London)",
  "eu-west-3": "Europe (Paris)",
  "eu-south-1": "Europe (Milan)",
  "eu-south-2": "Europe (Spain)",
  "eu-north-1": "Europe (Stockholm)",
  "il-central-1": "Israel (Tel Aviv)",
  "me-south-1": "Middle East (Bahrain)",
  "me-central-1": "Middle East (UAE)",
  "sa-east-1": "South America (Sao Paulo)",
};

/** EC2 OptInStatus -> Region.status: only usable regions are "available". */
export function regionStatus(optInStatus: string | undefined): string {
  if (optInStatus === undefined || optInStatus === "opt-in-not-required" || optInStatus === "opted-in") return "available";
  return optInStatus; // "not-opted-in", or whatever EC2 adds later
}

export function toRegion(r: Ec2Region): Region {
  const id = r.RegionName ?? "";
  return { id, name: id, displayName: DISPLAY_NAMES[id] ?? id, status: regionStatus(r.OptInStatus), zones: [] };
}

/** An opt-in status that allows use: AZs need no opt-in, local zones must be opted into. */
function optedIn(optInStatus: string | undefined): boolean {
  return optInStatus === undefined || optInStatus === "opt-in-not-required" || optInStatus === "opted-in";
}

/** EC2 AvailabilityZone -> Zone. EC2 omits OptInStatus only for plain AZs (and moto omits it everywhere). */
export function toZone(z: AvailabilityZone): Zone {
  const optInStatus = z.OptInStatus ?? "opt-in-not-required";
  return {
    name: z.ZoneName ?? "",
    id: z.ZoneId,
    status: z.State ?? "unknown",
    zoneType: z.ZoneType ?? "availability-zone",
    optInRequired: optInStatus !== "opt-in-not-required",
    optInStatus,
    parentZone: z.ParentZoneName,
    groupName: z.GroupName ?? z.NetworkBorderGroup,
  };
}

/** A zone an instance can be placed in now. */
export function usableZone(z: Zone): boolean {
  return z.status === "available" && optedIn(z.optInStatus);
}

/** Zones sorted by name, and the names of the usable ones, for one region. */
export function withZones(region: Region, zones: Zone[]): Region {
  const sorted = [...zones].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...region, zones: sorted.filter(usableZone).map((z) => z.name), zoneDetails: sorted };
}

/** Runs work over items with at most `limit` in flight; results keep the items' order. */
export async function mapConcurrently<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * Keeps a value for ttlMs. A failed refresh serves the stale value when
 * there is one (regions rarely change; an outage of DescribeRegions must not
 * break every "*" listing), and throws only when there is none.
 */
export class TtlCache<T> {
  private value?: { data: T; at: number };

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(load: () => Promise<T>, onStale?: (err: unknown) => void): Promise<T> {
    const cached = this.value;
    if (cached && this.now() - cached.at < this.ttlMs) return cached.data;
    try {
      const data = await load();
      this.value = { data, at: this.now() };
      return data;
    } catch (err) {
      if (!cached) throw err;
      onStale?.(err);
      return cached.data;
    }
  }
}
