// The shape of the bundled EC2 price catalog (catalog.generated.ts), written
// by scripts/build-price-catalog.ts and scripts/refresh-prices.ts.
import type { CatalogProvenance, RegionPrices } from "../../../shared/pricing/catalog-types";

export interface AwsCatalog extends CatalogProvenance {
  /** instance type -> region -> USD per instance-hour (on-demand Linux, shared tenancy). */
  instances: Record<string, RegionPrices>;
}
