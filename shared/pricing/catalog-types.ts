// The shape of the bundled price catalog (catalog.generated.ts). The build
// script (scripts/build-price-catalog.ts) and the refresh script
// (scripts/refresh-prices.ts) both write this shape, so the quote code never
// cares where the numbers came from; every part carries its own source and
// date because a finance reader must be able to trace each number.

/** Region id -> USD price for one unit (an instance-hour, a vCPU-hour, ...). */
export type RegionPrices = Record<string, number>;

/** One documented change the build applied to its source data. */
export interface CatalogCorrection {
  /** What was changed, e.g. "m5.large us-east-1" or "e2 vCPU rate, all regions". */
  what: string;
  /** The value(s) in the source, as a short text. */
  from: string;
  /** The value(s) in the catalog. */
  to: string;
  /** Why, and where the right number is published. */
  reason: string;
}

export interface CatalogProvenance {
  /** Short machine-friendly name, e.g. "aws-price-list-snapshot". */
  source: string;
  /** Human description of the data's origin. */
  origin: string;
  /** Date of the price data, YYYY-MM-DD. */
  date: string;
  currency: string;
  corrections: CatalogCorrection[];
}

export interface AwsCatalog extends CatalogProvenance {
  /** instance type -> region -> USD per instance-hour (on-demand Linux, shared tenancy). */
  instances: Record<string, RegionPrices>;
}

export interface GceFamilyRates {
  /** Region -> USD per vCPU-hour. */
  vcpuHour: RegionPrices;
  /** Region -> USD per GiB-hour of memory. */
  gibHour: RegionPrices;
}

export interface GceCatalog extends CatalogProvenance {
  /**
   * On-demand resource rates by family key: "e2", "n1", "n2", "n2d", "c2",
   * "c3", "t2d", "m1", and custom variants "e2_custom", "n1_custom",
   * "n2_custom", "n2d_custom" plus "<family>_custom_extended" (extended memory).
   */
  families: Record<string, GceFamilyRates>;
  /** Shared-core types billed per instance-hour: "f1-micro", "g1-small". */
  perInstance: Record<string, RegionPrices>;
}

export interface PriceCatalog {
  aws: AwsCatalog;
  gce: GceCatalog;
}
