// Rebuilds shared/pricing/catalog.generated.ts from each cloud's own public
// price list: AWS's EC2 offer files (Price List Bulk API) and Google's Cloud
// Billing Catalog SKUs for Compute Engine. Live by default; give recorded
// files to work offline (that is how the tests run it).
//
//   bun scripts/refresh-prices.ts [--aws] [--gcp] [options]
//     --aws                      refresh the EC2 part (default: both parts)
//     --gcp                      refresh the Compute Engine part
//     --aws-regions a,b          only these regions' offer files (live mode)
//     --aws-offer FILE           read an offer file instead of downloading (repeatable)
//     --gcp-skus FILE            read a ListSkus response page instead of downloading (repeatable)
//     --gcp-api-key KEY          API key for the Cloud Billing Catalog (or env GOOGLE_API_KEY)
//     --aws-base-url URL         default https://pricing.us-east-1.amazonaws.com
//     --gcp-base-url URL         default https://cloudbilling.googleapis.com
//     --out FILE                 default shared/pricing/catalog.generated.ts
//     --dry-run                  print a summary, write nothing
// The part not refreshed is kept from the current catalog.
import { PRICE_CATALOG } from "../shared/pricing/catalog.generated";
import type { PriceCatalog } from "../shared/pricing/catalog-types";
import { CATALOG_MODULE_PATH, renderCatalogModule } from "../shared/pricing/catalog-writer";
import { fetchAwsOfferPrices, mergeAwsOfferPrices, parseAwsOfferFile, type AwsOfferFile } from "../shared/pricing/refresh/aws-offer";
import { awsCatalogFromOffers, gceCatalogFromSkus } from "../shared/pricing/refresh/catalog";
import { fetchComputeEngineSkus, parseGceSkus, type BillingSku, type ListSkusResponse } from "../shared/pricing/refresh/gcp-skus";

export interface RefreshOptions {
  aws: boolean;
  gcp: boolean;
  awsRegions?: string[];
  awsOfferFiles: string[];
  gcpSkuFiles: string[];
  gcpApiKey?: string;
  awsBaseUrl?: string;
  gcpBaseUrl?: string;
  out: string;
  dryRun: boolean;
}

export function parseRefreshArgs(argv: string[], env: Record<string, string | undefined>): RefreshOptions {
  const opts: RefreshOptions = { aws: false, gcp: false, awsOfferFiles: [], gcpSkuFiles: [], out: CATALOG_MODULE_PATH, dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--aws") opts.aws = true;
    else if (arg === "--gcp") opts.gcp = true;
    else if (arg === "--aws-regions") opts.awsRegions = value().split(",").map((s) => s.trim()).filter(Boolean);
    else if (arg === "--aws-offer") opts.awsOfferFiles.push(value());
    else if (arg === "--gcp-skus") opts.gcpSkuFiles.push(value());
    else if (arg === "--gcp-api-key") opts.gcpApiKey = value();
    else if (arg === "--aws-base-url") opts.awsBaseUrl = value();
    else if (arg === "--gcp-base-url") opts.gcpBaseUrl = value();
    else if (arg === "--out") opts.out = value();
    else if (arg === "--dry-run") opts.dryRun = true;
    else throw new Error(`unknown argument ${arg} (see the header of scripts/refresh-prices.ts)`);
  }
  if (!opts.aws && !opts.gcp) {
    opts.aws = true;
    opts.gcp = true;
  }
  opts.gcpApiKey ??= env.GOOGLE_API_KEY;
  if (opts.gcp && opts.gcpSkuFiles.length === 0 && !opts.gcpApiKey) {
    throw new Error("refreshing GCP prices live needs an API key: --gcp-api-key KEY or GOOGLE_API_KEY (or --gcp-skus FILE offline)");
  }
  return opts;
}

export async function refreshCatalog(opts: RefreshOptions, log: (line: string) => void = () => {}): Promise<PriceCatalog> {
  const catalog: PriceCatalog = { aws: PRICE_CATALOG.aws, gce: PRICE_CATALOG.gce };
  if (opts.aws) {
    const prices =
      opts.awsOfferFiles.length > 0
        ? mergeAwsOfferPrices(await Promise.all(opts.awsOfferFiles.map(async (f) => parseAwsOfferFile((await Bun.file(f).json()) as AwsOfferFile))))
        : await fetchAwsOfferPrices({ baseUrl: opts.awsBaseUrl, regions: opts.awsRegions, log });
    catalog.aws = awsCatalogFromOffers(prices);
  }
  if (opts.gcp) {
    let skus: BillingSku[];
    if (opts.gcpSkuFiles.length > 0) {
      skus = [];
      for (const f of opts.gcpSkuFiles) skus.push(...(((await Bun.file(f).json()) as ListSkusResponse).skus ?? []));
    } else {
      skus = await fetchComputeEngineSkus({ apiKey: opts.gcpApiKey!, baseUrl: opts.gcpBaseUrl, log });
    }
    catalog.gce = gceCatalogFromSkus(parseGceSkus(skus));
  }
  return catalog;
}

if (import.meta.main) {
  try {
    const opts = parseRefreshArgs(Bun.argv.slice(2), process.env);
    const catalog = await refreshCatalog(opts, (l) => console.error(l));
    const summary =
      `aws: ${Object.keys(catalog.aws.instances).length} types (${catalog.aws.source}, ${catalog.aws.date}); ` +
      `gce: ${Object.keys(catalog.gce.families).length} rate families, ${Object.keys(catalog.gce.perInstance).length} flat types (${catalog.gce.source}, ${catalog.gce.date})`;
    if (opts.dryRun) console.log(`dry run, nothing written: ${summary}`);
    else {
      await Bun.write(opts.out, renderCatalogModule(catalog, "scripts/refresh-prices.ts"));
      console.log(`wrote ${opts.out}: ${summary}`);
    }
  } catch (err) {
    console.error(`refresh-prices: ${(err as Error).message}`);
    process.exit(1);
  }
}
