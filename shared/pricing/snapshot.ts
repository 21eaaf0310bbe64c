// Turns the dated Libcloud snapshot (shared/pricing/snapshot/*.json) into a
// PriceCatalog, applying the documented corrections. Pure function, so the
// build script and the tests run exactly the same code.
import type { GceFamilyRates, PriceCatalog, RegionPrices } from "./catalog-types";
import { AWS_PRICE_FIXES, awsFixDescriptions, GCE_RATE_CORRECTION, GCE_REGION_COPIES, GCE_REGION_CORRECTION, truncateRate } from "./corrections";

interface SnapshotMeta {
  source: string;
  source_updated: string;
}

export interface SnapshotFiles {
  aws: { aws_ec2_linux: Record<string, RegionPrices>; meta: SnapshotMeta };
  gce: {
    gce_families: Record<string, { cpu?: { on_demand?: RegionPrices }; ram?: { on_demand?: RegionPrices } }>;
    meta: SnapshotMeta;
  };
}

/** Libcloud's f1/g1 "cpu" entries are whole-instance prices of the shared-core types. */
const PER_INSTANCE_FAMILIES: Record<string, string> = { f1: "f1-micro", g1: "g1-small" };

function mapPrices(prices: RegionPrices | undefined, f: (n: number) => number): RegionPrices {
  return Object.fromEntries(Object.entries(prices ?? {}).map(([r, p]) => [r, f(p)]));
}

export function buildCatalogFromSnapshot(files: SnapshotFiles): PriceCatalog {
  const instances: Record<string, RegionPrices> = {};
  for (const [type, prices] of Object.entries(files.aws.aws_ec2_linux)) instances[type] = { ...prices };
  for (const fix of AWS_PRICE_FIXES) {
    const found = instances[fix.instanceType]?.[fix.region];
    if (found !== fix.expected) {
      throw new Error(
        `correction ${fix.instanceType} ${fix.region}: expected the snapshot to read ${fix.expected}, found ${found}; review shared/pricing/corrections.ts`,
      );
    }
    instances[fix.instanceType]![fix.region] = fix.corrected;
  }

  const families: Record<string, GceFamilyRates> = {};
  const perInstance: Record<string, RegionPrices> = {};
  for (const [family, rates] of Object.entries(files.gce.gce_families)) {
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

  const origin = `${files.aws.meta.source}, updated ${files.aws.meta.source_updated}, with documented corrections`;
  return {
    aws: {
      source: "aws-price-list-snapshot",
      origin,
      date: files.aws.meta.source_updated,
      currency: "USD",
      corrections: awsFixDescriptions(),
      instances,
    },
    gce: {
      source: "gce-price-list-snapshot",
      origin: `${files.gce.meta.source}, updated ${files.gce.meta.source_updated}, with documented corrections`,
      date: files.gce.meta.source_updated,
      currency: "USD",
      corrections: [GCE_RATE_CORRECTION, GCE_REGION_CORRECTION],
      families,
      perInstance,
    },
  };
}
