// EC2 on-demand Linux prices from the bundled catalog.
import { notFound } from "../errors";
import type { PriceQuote } from "../provider";
import type { AwsCatalog } from "./catalog-types";
import { PRICE_CATALOG } from "./catalog.generated";

/** Hourly price of an EC2 instance type in a region; NOT_FOUND names what is missing. */
export function awsPriceQuote(instanceType: string, region: string, catalog: AwsCatalog = PRICE_CATALOG.aws): PriceQuote {
  const byRegion = catalog.instances[instanceType];
  if (!byRegion) {
    throw notFound(`instance type ${instanceType} is not in the AWS price catalog (${catalog.source}, ${catalog.date})`);
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
