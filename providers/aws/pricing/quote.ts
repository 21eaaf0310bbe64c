// EC2 on-demand Linux prices from the bundled catalog.
import { invalidArgument, notFound } from "../../../shared/errors";
import type { PriceQuote } from "../../../shared/provider";
import type { AwsCatalog } from "./catalog-types";
import { AWS_PRICE_CATALOG } from "./catalog.generated";

/**
 * Hourly price of an EC2 instance type in a region. A type the catalog does
 * not know is INVALID_ARGUMENT naming `instance_type` (the same code an
 * unknown type gets from CreateInstance), with the family's known types as a
 * hint; a known type without a price in that region is NOT_FOUND.
 */
export function awsPriceQuote(instanceType: string, region: string, catalog: AwsCatalog = AWS_PRICE_CATALOG): PriceQuote {
  const byRegion = catalog.instances[instanceType];
  if (!byRegion) {
    throw invalidArgument(
      "instance_type",
      `instance type ${instanceType} is not in the AWS price catalog (${catalog.source}, ${catalog.date}); ${typeHint(instanceType, catalog)}`,
    );
  }
  const hourly = byRegion[region];
  if (hourly === undefined) {
    const known = Object.values(catalog.instances).some((prices) => region in prices);
    throw notFound(
      known
        ? `no price for instance type ${instanceType} in region ${region} in the AWS price catalog (${catalog.source}, ${catalog.date}); priced regions: ${Object.keys(byRegion).join(", ")}`
        : `region ${region} is not in the AWS price catalog (${catalog.source}, ${catalog.date})`,
    );
  }
  const correction = catalog.corrections.find((c) => c.what === `${instanceType} ${region}`);
  return {
    hourlyRate: hourly,
    currency: catalog.currency,
    source: `${catalog.source}: ${catalog.origin}`,
    date: catalog.date,
    breakdown: [
      {
        name: "compute",
        hourlyRate: hourly,
        detail: `${instanceType} on-demand Linux, shared tenancy, ${region}` + (correction ? ` (snapshot read ${correction.from}; corrected)` : ""),
      },
    ],
  };
}

const HINT_MAX = 12;

/** Known types of the same family (t3.* for "t3.mega"), else some families; bounded. */
function typeHint(instanceType: string, catalog: AwsCatalog): string {
  const family = instanceType.split(".")[0] ?? "";
  const types = Object.keys(catalog.instances);
  const sameFamily = types.filter((t) => t.startsWith(`${family}.`));
  if (sameFamily.length > 0) return `known ${family} types: ${bounded(sameFamily)}`;
  const families = [...new Set(types.map((t) => t.split(".")[0]!))].sort();
  return `known families: ${bounded(families)}`;
}

function bounded(items: string[]): string {
  const shown = items.slice(0, HINT_MAX).join(", ");
  return items.length > HINT_MAX ? `${shown} and ${items.length - HINT_MAX} more` : shown;
}
