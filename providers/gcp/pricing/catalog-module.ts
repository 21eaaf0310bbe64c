// Where the bundled Compute Engine catalog module lives and how it is
// written (build and refresh scripts, and the test that the committed
// module is current).
import { checkPrices, checkProvenance, renderCatalogModule, sortedPrices, sortKeys } from "../../../shared/pricing/catalog-writer";
import type { GceCatalog } from "./catalog-types";

export const GCE_CATALOG_MODULE_PATH = new URL("./catalog.generated.ts", import.meta.url).pathname;

/** Checks the invariants the quote code relies on; throws naming the entry. */
export function validateGceCatalog(catalog: GceCatalog): void {
  checkProvenance(catalog);
  for (const [family, rates] of Object.entries(catalog.families)) {
    checkPrices(`gce ${family} vCPU`, rates.vcpuHour);
    checkPrices(`gce ${family} GiB`, rates.gibHour);
  }
  for (const [type, prices] of Object.entries(catalog.perInstance)) checkPrices(`gce ${type}`, prices);
}

export function renderGceCatalogModule(catalog: GceCatalog, generatedBy: string): string {
  validateGceCatalog(catalog);
  const normalized: GceCatalog = {
    ...catalog,
    families: sortKeys(catalog.families, (r) => ({ vcpuHour: sortedPrices(r.vcpuHour), gibHour: sortedPrices(r.gibHour) })),
    perInstance: sortKeys(catalog.perInstance, sortedPrices),
  };
  return renderCatalogModule(normalized, { exportName: "GCE_PRICE_CATALOG", typeName: "GceCatalog", correctionsFile: "providers/gcp/pricing/corrections.ts" }, generatedBy);
}
