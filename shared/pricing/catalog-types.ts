// The parts every bundled price catalog shares, whatever the cloud: prices
// by region, and the provenance every part carries because a finance reader
// must be able to trace each number. Each catalog cloud declares its own
// shape on top (providers/aws/pricing/catalog-types.ts,
// providers/gcp/pricing/catalog-types.ts); the build and refresh scripts
// write those shapes, so the quote code never cares where the numbers came
// from.

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
