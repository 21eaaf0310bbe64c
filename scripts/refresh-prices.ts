// Rebuilds the bundled price catalogs (providers/aws/pricing/catalog.generated.ts,
// providers/gcp/pricing/catalog.generated.ts) from each cloud's own public
// price list: AWS's EC2 offer files (Price List Bulk API) and Google's Cloud
// Billing Catalog SKUs for Compute Engine. Live by default; give recorded
// files to work offline (that is how the tests run it).
//
//   bun scripts/refresh-prices.ts [--aws] [--gcp] [options]
//     --aws                      refresh the EC2 catalog (default: both)
//     --gcp                      refresh the Compute Engine catalog
//     --aws-regions a,b          only these regions' offer files (live mode)
//     --aws-offer FILE           read an offer file instead of downloading (repeatable)
//     --gcp-skus FILE            read a ListSkus response page instead of downloading (repeatable)
//     --gcp-api-key KEY          API key for the Cloud Billing Catalog (or env GOOGLE_API_KEY)
//     --aws-base-url URL         default https://pricing.us-east-1.amazonaws.com
//     --gcp-base-url URL         default https://cloudbilling.googleapis.com
//     --aws-out FILE             default providers/aws/pricing/catalog.generated.ts
//     --gcp-out FILE             default providers/gcp/pricing/catalog.generated.ts
//     --dry-run                  print a summary, write nothing
// A catalog not refreshed is left as it is.
import { AWS_CATALOG_MODULE_PATH, renderAwsCatalogModule } from "../providers/aws/pricing/catalog-module";
import type { AwsCatalog } from "../providers/aws/pricing/catalog-types";
import { AWS_PRICE_CATALOG } from "../providers/aws/pricing/catalog.generated";
import { awsCatalogFromOffers, fetchAwsOfferPrices, mergeAwsOfferPrices, parseAwsOfferFile, type AwsOfferFile } from "../providers/aws/pricing/refresh";
import { GCE_CATALOG_MODULE_PATH, renderGceCatalogModule } from "../providers/gcp/pricing/catalog-module";
import type { GceCatalog } from "../providers/gcp/pricing/catalog-types";
import { GCE_PRICE_CATALOG } from "../providers/gcp/pricing/catalog.generated";
import { fetchComputeEngineSkus, gceCatalogFromSkus, parseGceSkus, type BillingSku, type ListSkusResponse } from "../providers/gcp/pricing/refresh";

export interface RefreshOptions {
  aws: boolean;
  gcp: boolean;
  awsRegions?: string[];
  awsOfferFiles: string[];
  gcpSkuFiles: string[];
  gcpApiKey?: string;
  awsBaseUrl?: string;
  gcpBaseUrl?: string;
  awsOut: string;
  gcpOut: string;
  dryRun: boolean;
}

export function parseRefreshArgs(argv: string[], env: Record<string, string | undefined>): RefreshOptions {
  const opts: RefreshOptions = {
    aws: false,
    gcp: false,
    awsOfferFiles: [],
    gcpSkuFiles: [],
    awsOut: AWS_CATALOG_MODULE_PATH,
    gcpOut: GCE_CATALOG_MODULE_PATH,
    dryRun: false,
  };
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
    else if (arg === "--aws-out") opts.awsOut = value();
    else if (arg === "--gcp-out") opts.gcpOut = value();
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

/** The refreshed catalogs; a cloud not asked for is absent (its module stays as it is). */
export async function refreshCatalogs(opts: RefreshOptions, log: (line: string) => void = () => {}): Promise<{ aws?: AwsCatalog; gce?: GceCatalog }> {
  const refreshed: { aws?: AwsCatalog; gce?: GceCatalog } = {};
  if (opts.aws) {
    const prices =
      opts.awsOfferFiles.length > 0
        ? mergeAwsOfferPrices(await Promise.all(opts.awsOfferFiles.map(async (f) => parseAwsOfferFile((await Bun.file(f).json()) as AwsOfferFile))))
        : await fetchAwsOfferPrices({ baseUrl: opts.awsBaseUrl, regions: opts.awsRegions, log });
    refreshed.aws = awsCatalogFromOffers(prices);
  }
  if (opts.gcp) {
    let skus: BillingSku[];
    if (opts.gcpSkuFiles.length > 0) {
      skus = [];
      for (const f of opts.gcpSkuFiles) skus.push(...(((await Bun.file(f).json()) as ListSkusResponse).skus ?? []));
    } else {
      skus = await fetchComputeEngineSkus({ apiKey: opts.gcpApiKey!, baseUrl: opts.gcpBaseUrl, log });
    }
    refreshed.gce = gceCatalogFromSkus(parseGceSkus(skus));
  }
  return refreshed;
}

if (import.meta.main) {
  try {
    const opts = parseRefreshArgs(Bun.argv.slice(2), process.env);
    const refreshed = await refreshCatalogs(opts, (l) => console.error(l));
    const aws = refreshed.aws ?? AWS_PRICE_CATALOG;
    const gce = refreshed.gce ?? GCE_PRICE_CATALOG;
    const summary =
      `aws: ${Object.keys(aws.instances).length} types (${aws.source}, ${aws.date})${refreshed.aws ? "" : " kept"}; ` +
      `gce: ${Object.keys(gce.families).length} rate families, ${Object.keys(gce.perInstance).length} flat types (${gce.source}, ${gce.date})${refreshed.gce ? "" : " kept"}`;
    if (opts.dryRun) console.log(`dry run, nothing written: ${summary}`);
    else {
      const written: string[] = [];
      if (refreshed.aws) {
        await Bun.write(opts.awsOut, renderAwsCatalogModule(refreshed.aws, "scripts/refresh-prices.ts"));
        written.push(opts.awsOut);
      }
      if (refreshed.gce) {
        await Bun.write(opts.gcpOut, renderGceCatalogModule(refreshed.gce, "scripts/refresh-prices.ts"));
        written.push(opts.gcpOut);
      }
      console.log(`wrote ${written.join(" and ")}: ${summary}`);
    }
  } catch (err) {
    console.error(`refresh-prices: ${(err as Error).message}`);
    process.exit(1);
  }
}
