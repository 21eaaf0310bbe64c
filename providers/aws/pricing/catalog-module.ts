// Where the bundled EC2 catalog module lives and how it is written (build
// and refresh scripts, and the test that the committed module is current).
import { checkPrices, checkProvenance, renderCatalogModule, sortedPrices, sortKeys } from "../../../shared/pricing/catalog-writer";
import type { AwsCatalog } from "./catalog-types";

export const AWS_CATALOG_MODULE_PATH = new URL("./catalog.generated.ts", import.meta.url).pathname;

/** Checks the invariants the quote code relies on; throws naming the entry. */
export function validateAwsCatalog(catalog: AwsCatalog): void {
  checkProvenance(catalog);
  for (const [type, prices] of Object.entries(catalog.instances)) checkPrices(`aws ${type}`, prices);
}

export function renderAwsCatalogModule(catalog: AwsCatalog, generatedBy: string): string {
  validateAwsCatalog(catalog);
  const normalized: AwsCatalog = { ...catalog, instances: sortKeys(catalog.instances, sortedPrices) };
  return renderCatalogModule(normalized, { exportName: "AWS_PRICE_CATALOG", typeName: "AwsCatalog", correctionsFile: "providers/aws/pricing/corrections.ts" }, generatedBy);
}
