// Turns refreshed price lists into catalog parts with their provenance.
import type { AwsCatalog, GceCatalog } from "../catalog-types";
import { GCE_RATE_CORRECTION } from "../corrections";
import type { AwsOfferPrices } from "./aws-offer";
import type { GceSkuPrices } from "./gcp-skus";

export function awsCatalogFromOffers(prices: AwsOfferPrices): AwsCatalog {
  return {
    source: "aws-price-list-bulk-api",
    origin: "AWS Price List Bulk API, AmazonEC2 offer files (on-demand, Linux, shared tenancy)",
    date: prices.date,
    currency: "USD",
    corrections: [],
    instances: prices.instances,
  };
}

export function gceCatalogFromSkus(prices: GceSkuPrices): GceCatalog {
  return {
    source: "gcp-cloud-billing-catalog",
    origin: "Google Cloud Billing Catalog API, Compute Engine SKUs (service 6F81-5844-456A, on-demand)",
    date: prices.date,
    currency: "USD",
    corrections: [{ ...GCE_RATE_CORRECTION, what: "every per-vCPU and per-GiB rate", from: "SKU unitPrice (units + nanos)" }],
    families: prices.families,
    perInstance: prices.perInstance,
  };
}
