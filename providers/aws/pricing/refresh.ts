// Reads AWS's EC2 price list in the Price List Bulk API's JSON offer-file
// format (https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/reading-service-price-list-file-for-services.html):
//   { formatVersion, disclaimer, offerCode: "AmazonEC2", version, publicationDate,
//     products: { SKU: { sku, productFamily, attributes: { instanceType, regionCode,
//       operatingSystem, tenancy, preInstalledSw, licenseModel, capacitystatus, operation, ... } } },
//     terms: { OnDemand: { SKU: { OFFERTERM: { priceDimensions: { RATECODE: {
//       unit: "Hrs", pricePerUnit: { USD: "0.0960000000" } } } } } }, Reserved: {...} } }
// and the region index that points at one offer file per region:
//   { publicationDate, regions: { "us-east-1": { regionCode, currentVersionUrl } } }.
// Only on-demand, Linux, shared tenancy, no pre-installed software, no
// license, "Used" capacity (not reservations) rows are kept: the same
// definition as the bundled snapshot.
import { getJson, isoDate } from "../../../shared/pricing/refresh-http";
import type { AwsCatalog } from "./catalog-types";

export interface AwsOfferFile {
  formatVersion?: string;
  offerCode?: string;
  version?: string;
  publicationDate: string;
  products: Record<string, { sku: string; productFamily?: string; attributes?: Record<string, string> }>;
  terms: {
    OnDemand?: Record<
      string,
      Record<string, { priceDimensions: Record<string, { unit: string; pricePerUnit: Record<string, string>; description?: string }> }>
    >;
  };
}

export interface AwsRegionIndex {
  publicationDate?: string;
  regions: Record<string, { regionCode: string; currentVersionUrl: string }>;
}

export interface AwsOfferPrices {
  /** YYYY-MM-DD of the offer file's publicationDate. */
  date: string;
  /** instance type -> region -> USD per hour. */
  instances: Record<string, Record<string, number>>;
}

const WANTED: Record<string, string> = {
  operatingSystem: "Linux",
  tenancy: "Shared",
  preInstalledSw: "NA",
  licenseModel: "No License required",
  capacitystatus: "Used",
  operation: "RunInstances",
};
const COMPUTE_FAMILIES = new Set(["Compute Instance", "Compute Instance (bare metal)"]);

/** On-demand Linux hourly prices from one offer file (one region or all). */
export function parseAwsOfferFile(offer: AwsOfferFile, fallbackRegion?: string): AwsOfferPrices {
  if (!offer || typeof offer !== "object" || !offer.products || !offer.terms) {
    throw new Error("not an AWS offer file: expected products and terms");
  }
  if (offer.offerCode !== undefined && offer.offerCode !== "AmazonEC2") throw new Error(`offer file is for ${offer.offerCode}, not AmazonEC2`);
  const instances: Record<string, Record<string, number>> = {};
  for (const [sku, product] of Object.entries(offer.products)) {
    const a = product.attributes ?? {};
    if (!COMPUTE_FAMILIES.has(product.productFamily ?? "")) continue;
    if (!Object.entries(WANTED).every(([k, v]) => a[k] === v)) continue;
    const region = a.regionCode ?? fallbackRegion;
    if (!a.instanceType || !region) throw new Error(`offer product ${sku} has no instanceType or regionCode`);
    const price = onDemandHourly(offer, sku);
    if (price === undefined) continue; // listed but not sold on demand
    const byRegion = (instances[a.instanceType] ??= {});
    if (byRegion[region] !== undefined && byRegion[region] !== price) {
      throw new Error(`two on-demand Linux prices for ${a.instanceType} in ${region}: ${byRegion[region]} and ${price} (sku ${sku})`);
    }
    byRegion[region] = price;
  }
  return { date: isoDate(offer.publicationDate, "publicationDate"), instances };
}

function onDemandHourly(offer: AwsOfferFile, sku: string): number | undefined {
  const terms = offer.terms.OnDemand?.[sku];
  if (!terms) return undefined;
  const prices: number[] = [];
  for (const term of Object.values(terms)) {
    for (const dim of Object.values(term.priceDimensions ?? {})) {
      if (dim.unit !== "Hrs") continue;
      const usd = dim.pricePerUnit?.USD;
      const n = Number(usd);
      if (usd === undefined || !Number.isFinite(n)) throw new Error(`sku ${sku}: pricePerUnit.USD is not a number: ${usd}`);
      prices.push(n);
    }
  }
  const positive = prices.filter((p) => p > 0);
  if (positive.length > 1 && new Set(positive).size > 1) throw new Error(`sku ${sku}: several hourly on-demand prices ${positive.join(", ")}`);
  // A price of 0 marks a type AWS lists but does not sell on demand there.
  return positive[0];
}

/** Merges per-region results; the catalog date is the newest publicationDate. */
export function mergeAwsOfferPrices(parts: AwsOfferPrices[]): AwsOfferPrices {
  const instances: Record<string, Record<string, number>> = {};
  for (const part of parts) {
    for (const [type, byRegion] of Object.entries(part.instances)) Object.assign((instances[type] ??= {}), byRegion);
  }
  const date = parts.map((p) => p.date).sort().at(-1);
  if (!date) throw new Error("no AWS offer files were read");
  return { date, instances };
}

export const AWS_PRICING_BASE_URL = "https://pricing.us-east-1.amazonaws.com";

export interface FetchOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Restrict to these regions (default: every region in the index). */
  regions?: string[];
  log?: (line: string) => void;
}

/** Downloads the region index and each region's EC2 offer file, then parses them. */
export async function fetchAwsOfferPrices(opts: FetchOptions = {}): Promise<AwsOfferPrices> {
  const base = opts.baseUrl ?? AWS_PRICING_BASE_URL;
  const get = opts.fetch ?? fetch;
  const indexUrl = `${base}/offers/v1.0/aws/AmazonEC2/current/region_index.json`;
  const index = (await getJson(get, indexUrl, opts.signal)) as AwsRegionIndex;
  if (!index?.regions) throw new Error(`${indexUrl}: not a region index (no "regions")`);
  const wanted = opts.regions ?? Object.keys(index.regions);
  const parts: AwsOfferPrices[] = [];
  for (const region of wanted) {
    const entry = index.regions[region];
    if (!entry) throw new Error(`region ${region} is not in the AWS region index`);
    const url = new URL(entry.currentVersionUrl, base).toString();
    opts.log?.(`aws: reading ${url}`);
    parts.push(parseAwsOfferFile((await getJson(get, url, opts.signal)) as AwsOfferFile, entry.regionCode));
  }
  return mergeAwsOfferPrices(parts);
}

/** The refreshed prices as the EC2 catalog, with their provenance. */
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
