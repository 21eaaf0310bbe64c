// Reads Compute Engine prices from the Cloud Billing Catalog API
// (GET https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus?key=...&pageToken=...),
// whose pages look like
//   { skus: [ { name, skuId, description: "E2 Instance Core running in Americas",
//       category: { serviceDisplayName, resourceFamily: "Compute", resourceGroup, usageType: "OnDemand" },
//       serviceRegions: ["us-central1", ...],
//       pricingInfo: [ { effectiveTime, pricingExpression: { usageUnit: "h" | "GiBy.h",
//         tieredRates: [ { startUsageAmount, unitPrice: { currencyCode, units: "0", nanos: 21811590 } } ] } } ] } ],
//     nextPageToken: "" }
// Google bills general-purpose machines per vCPU-hour and per GiB-hour of
// each series (the SKU description names the series); the machine type's
// shape (gce-shapes.ts) turns those into a machine price.
import type { RegionPrices } from "../../../shared/pricing/catalog-types";
import { getJson, isoDate } from "../../../shared/pricing/refresh-http";
import type { GceCatalog, GceFamilyRates } from "./catalog-types";
import { GCE_RATE_CORRECTION, truncateRate } from "./corrections";

export const COMPUTE_ENGINE_SERVICE = "6F81-5844-456A";
export const CLOUD_BILLING_BASE_URL = "https://cloudbilling.googleapis.com";

export interface BillingSku {
  name?: string;
  skuId: string;
  description: string;
  category: { serviceDisplayName?: string; resourceFamily: string; resourceGroup?: string; usageType: string };
  serviceRegions: string[];
  pricingInfo: {
    effectiveTime?: string;
    pricingExpression: {
      usageUnit: string;
      tieredRates: { startUsageAmount?: number; unitPrice: { currencyCode: string; units?: string; nanos?: number } }[];
    };
  }[];
}

export interface ListSkusResponse {
  skus?: BillingSku[];
  nextPageToken?: string;
}

export interface GceSkuPrices {
  /** YYYY-MM-DD: the newest pricingInfo.effectiveTime among the SKUs used. */
  date: string;
  families: Record<string, GceFamilyRates>;
  perInstance: Record<string, RegionPrices>;
}

type Target = { family: string; resource: "vcpu" | "gib" } | { perInstance: string };

/**
 * Description (before " running in <place>") -> where the rate goes. Exact
 * matches only: "E2 Custom Instance Core", "Sole Tenancy ...", "Spot
 * Preemptible ..." and "Commitment ..." SKUs sit next to these.
 */
const SKU_TARGETS: Record<string, Target> = {
  "E2 Instance Core": { family: "e2", resource: "vcpu" },
  "E2 Instance Ram": { family: "e2", resource: "gib" },
  "E2 Custom Instance Core": { family: "e2_custom", resource: "vcpu" },
  "E2 Custom Instance Ram": { family: "e2_custom", resource: "gib" },
  "N1 Predefined Instance Core": { family: "n1", resource: "vcpu" },
  "N1 Predefined Instance Ram": { family: "n1", resource: "gib" },
  "Custom Instance Core": { family: "n1_custom", resource: "vcpu" },
  "Custom Instance Ram": { family: "n1_custom", resource: "gib" },
  "Custom Extended Instance Ram": { family: "n1_custom_extended", resource: "gib" },
  "N2 Instance Core": { family: "n2", resource: "vcpu" },
  "N2 Instance Ram": { family: "n2", resource: "gib" },
  "N2 Custom Instance Core": { family: "n2_custom", resource: "vcpu" },
  "N2 Custom Instance Ram": { family: "n2_custom", resource: "gib" },
  "N2 Custom Extended Instance Ram": { family: "n2_custom_extended", resource: "gib" },
  "N2D AMD Instance Core": { family: "n2d", resource: "vcpu" },
  "N2D AMD Instance Ram": { family: "n2d", resource: "gib" },
  "N2D AMD Custom Instance Core": { family: "n2d_custom", resource: "vcpu" },
  "N2D AMD Custom Instance Ram": { family: "n2d_custom", resource: "gib" },
  "N2D AMD Custom Extended Instance Ram": { family: "n2d_custom_extended", resource: "gib" },
  "Compute optimized Core": { family: "c2", resource: "vcpu" },
  "Compute optimized Ram": { family: "c2", resource: "gib" },
  "C3 Instance Core": { family: "c3", resource: "vcpu" },
  "C3 Instance Ram": { family: "c3", resource: "gib" },
  "T2D AMD Instance Core": { family: "t2d", resource: "vcpu" },
  "T2D AMD Instance Ram": { family: "t2d", resource: "gib" },
  "Memory-optimized Instance Core": { family: "m1", resource: "vcpu" },
  "Memory-optimized Instance Ram": { family: "m1", resource: "gib" },
  "Micro Instance with burstable CPU": { perInstance: "f1-micro" },
  "Small Instance with 1 VCPU": { perInstance: "g1-small" },
};

const EXPECTED_UNIT = { vcpu: "h", gib: "GiBy.h", perInstance: "h" } as const;

/** Per-series on-demand rates from Cloud Billing Catalog SKUs of Compute Engine. */
export function parseGceSkus(skus: BillingSku[]): GceSkuPrices {
  const families: Record<string, GceFamilyRates> = {};
  const perInstance: Record<string, RegionPrices> = {};
  const origin = new Map<string, string>(); // "family/resource/region" -> skuId, to report conflicts
  let newest = "";
  for (const sku of skus) {
    if (sku.category?.resourceFamily !== "Compute" || sku.category.usageType !== "OnDemand") continue;
    const m = /^(.*) running in .+$/.exec(sku.description ?? "");
    const target = m ? SKU_TARGETS[m[1]!] : undefined;
    if (!target) continue;
    const info = sku.pricingInfo?.[0];
    if (!info) throw new Error(`sku ${sku.skuId} (${sku.description}) has no pricingInfo`);
    const expected = "perInstance" in target ? EXPECTED_UNIT.perInstance : EXPECTED_UNIT[target.resource];
    if (info.pricingExpression.usageUnit !== expected) {
      throw new Error(`sku ${sku.skuId} (${sku.description}): usageUnit ${info.pricingExpression.usageUnit}, expected ${expected}`);
    }
    const price = unitPrice(sku);
    if (info.effectiveTime) newest = [newest, isoDate(info.effectiveTime, `sku ${sku.skuId} effectiveTime`)].sort().at(-1)!;
    for (const region of sku.serviceRegions ?? []) {
      const key = "perInstance" in target ? `${target.perInstance}/${region}` : `${target.family}/${target.resource}/${region}`;
      const table =
        "perInstance" in target
          ? (perInstance[target.perInstance] ??= {})
          : (families[target.family] ??= { vcpuHour: {}, gibHour: {} })[target.resource === "vcpu" ? "vcpuHour" : "gibHour"];
      if (table[region] !== undefined && table[region] !== price) {
        throw new Error(`two on-demand prices for ${key}: ${table[region]} (sku ${origin.get(key)}) and ${price} (sku ${sku.skuId})`);
      }
      table[region] = price;
      origin.set(key, sku.skuId);
    }
  }
  if (!newest) throw new Error("no Compute Engine on-demand machine SKUs found");
  return { date: newest, families, perInstance };
}

/**
 * USD per usage unit. Free allowances appear as a first tier at 0 (e.g. a
 * monthly free e2-micro); an estimate is for paid usage, so the last tier's
 * rate is used. Rates are cut to 6 decimals like Google's published tables
 * (see corrections.ts), so the refreshed and bundled catalogs agree.
 */
function unitPrice(sku: BillingSku): number {
  const rates = sku.pricingInfo[0]!.pricingExpression.tieredRates;
  const last = rates?.at(-1);
  if (!last) throw new Error(`sku ${sku.skuId} (${sku.description}) has no tieredRates`);
  if (last.unitPrice.currencyCode !== "USD") throw new Error(`sku ${sku.skuId}: currency ${last.unitPrice.currencyCode}, expected USD`);
  const units = Number(last.unitPrice.units ?? "0");
  const nanos = last.unitPrice.nanos ?? 0;
  if (!Number.isInteger(units) || !Number.isInteger(nanos)) throw new Error(`sku ${sku.skuId}: malformed unitPrice`);
  const price = truncateRate(units + nanos / 1e9);
  if (!(price > 0)) throw new Error(`sku ${sku.skuId} (${sku.description}): price is not positive`);
  return price;
}

export interface GceFetchOptions {
  apiKey: string;
  baseUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** Pages through services/6F81-5844-456A/skus and returns every SKU. */
export async function fetchComputeEngineSkus(opts: GceFetchOptions): Promise<BillingSku[]> {
  const base = opts.baseUrl ?? CLOUD_BILLING_BASE_URL;
  const get = opts.fetch ?? fetch;
  const skus: BillingSku[] = [];
  let pageToken = "";
  for (let page = 1; page <= 1000; page++) {
    const url = new URL(`/v1/services/${COMPUTE_ENGINE_SERVICE}/skus`, base);
    url.searchParams.set("key", opts.apiKey);
    url.searchParams.set("currencyCode", "USD");
    url.searchParams.set("pageSize", "5000");
    if (pageToken) url.searchParams.set("pageToken", pageToken);
    opts.log?.(`gcp: reading SKU page ${page}`);
    const body = (await getJson(get, url.toString(), opts.signal)) as ListSkusResponse;
    skus.push(...(body.skus ?? []));
    pageToken = body.nextPageToken ?? "";
    if (!pageToken) return skus;
  }
  throw new Error("Cloud Billing Catalog: more than 1000 pages; giving up");
}

/** The refreshed prices as the Compute Engine catalog, with their provenance. */
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
