// The shape of the bundled Compute Engine price catalog
// (catalog.generated.ts), written by scripts/build-price-catalog.ts and
// scripts/refresh-prices.ts.
import type { CatalogProvenance, RegionPrices } from "../../../shared/pricing/catalog-types";

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
