// Turns the dated Libcloud Compute Engine snapshot
// (snapshot/gce-family-rates.json) into the GCE catalog, applying the
// documented corrections. Pure function, so the build script and the tests
// run exactly the same code.
import type { RegionPrices } from "../../../shared/pricing/catalog-types";
import { snapshotOrigin, type SnapshotMeta } from "../../../shared/pricing/snapshot";
import type { GceCatalog, GceFamilyRates } from "./catalog-types";
import { GCE_RATE_CORRECTION, GCE_REGION_COPIES, GCE_REGION_CORRECTION, truncateRate } from "./corrections";

export const GCE_SNAPSHOT_FILE = "gce-family-rates.json";
/** The snapshot directory in this folder (scripts and tests read it; the binary never does). */
export const GCE_SNAPSHOT_DIR = new URL("./snapshot", import.meta.url).pathname;

export interface GceSnapshot {
  gce_families: Record<string, { cpu?: { on_demand?: RegionPrices }; ram?: { on_demand?: RegionPrices } }>;
  meta: SnapshotMeta;
}

/** Libcloud's f1/g1 "cpu" entries are whole-instance prices of the shared-core types. */
const PER_INSTANCE_FAMILIES: Record<string, string> = { f1: "f1-micro", g1: "g1-small" };

function mapPrices(prices: RegionPrices | undefined, f: (n: number) => number): RegionPrices {
  return Object.fromEntries(Object.entries(prices ?? {}).map(([r, p]) => [r, f(p)]));
}

export function gceCatalogFromSnapshot(snapshot: GceSnapshot): GceCatalog {
  const families: Record<string, GceFamilyRates> = {};
  const perInstance: Record<string, RegionPrices> = {};
  for (const [family, rates] of Object.entries(snapshot.gce_families)) {
    const perInstanceType = PER_INSTANCE_FAMILIES[family];
    if (perInstanceType) {
      perInstance[perInstanceType] = { ...rates.cpu?.on_demand };
      continue;
    }
    const vcpuHour = mapPrices(rates.cpu?.on_demand, (p) => truncateRate(p));
    const gibHour = mapPrices(rates.ram?.on_demand, (p) => truncateRate(p));
    // Families with no prices at all (the *_custom_extended ones) stay out,
    // so a quote says "no price" instead of finding an empty table.
    if (Object.keys(vcpuHour).length === 0 && Object.keys(gibHour).length === 0) continue;
    families[family] = { vcpuHour, gibHour };
  }

  const copyRegions = (prices: RegionPrices) => {
    const source = prices[GCE_REGION_COPIES.from];
    if (source === undefined) return;
    for (const region of GCE_REGION_COPIES.to) prices[region] ??= source;
  };
  for (const rates of Object.values(families)) {
    copyRegions(rates.vcpuHour);
    copyRegions(rates.gibHour);
  }
  for (const prices of Object.values(perInstance)) copyRegions(prices);

  return {
    source: "gce-price-list-snapshot",
    origin: snapshotOrigin(snapshot.meta),
    date: snapshot.meta.source_updated,
    currency: "USD",
    corrections: [GCE_RATE_CORRECTION, GCE_REGION_CORRECTION],
    families,
    perInstance,
  };
}
