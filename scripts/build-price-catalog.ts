// Builds the offline price catalogs bundled into the AWS and GCP binaries
// (providers/aws/pricing/catalog.generated.ts,
// providers/gcp/pricing/catalog.generated.ts) from each cloud's dated
// snapshot (providers/<cloud>/pricing/snapshot/), applying the documented
// corrections in providers/<cloud>/pricing/corrections.ts.
//
//   bun scripts/build-price-catalog.ts [--from DIR] [--aws-out FILE] [--gcp-out FILE]
//
// DIR (or $SKYCLUST_PRICING_SNAPSHOT) holds both snapshot files; by default
// each cloud's own snapshot/ folder is read.
import { join } from "node:path";
import { AWS_CATALOG_MODULE_PATH, renderAwsCatalogModule } from "../providers/aws/pricing/catalog-module";
import type { AwsCatalog } from "../providers/aws/pricing/catalog-types";
import { AWS_SNAPSHOT_DIR, AWS_SNAPSHOT_FILE, awsCatalogFromSnapshot, type AwsSnapshot } from "../providers/aws/pricing/snapshot";
import { GCE_CATALOG_MODULE_PATH, renderGceCatalogModule } from "../providers/gcp/pricing/catalog-module";
import type { GceCatalog } from "../providers/gcp/pricing/catalog-types";
import { GCE_SNAPSHOT_DIR, GCE_SNAPSHOT_FILE, gceCatalogFromSnapshot, type GceSnapshot } from "../providers/gcp/pricing/snapshot";
import { SNAPSHOT_BUILD, snapshotDir } from "../shared/pricing/snapshot";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Both catalogs from the snapshots (`from`: one directory holding both files). */
export async function buildCatalogs(from?: string): Promise<{ aws: AwsCatalog; gce: GceCatalog }> {
  const aws: AwsSnapshot = await Bun.file(join(snapshotDir(AWS_SNAPSHOT_DIR, from ?? process.env.SKYCLUST_PRICING_SNAPSHOT), AWS_SNAPSHOT_FILE)).json();
  const gce: GceSnapshot = await Bun.file(join(snapshotDir(GCE_SNAPSHOT_DIR, from ?? process.env.SKYCLUST_PRICING_SNAPSHOT), GCE_SNAPSHOT_FILE)).json();
  return { aws: awsCatalogFromSnapshot(aws), gce: gceCatalogFromSnapshot(gce) };
}

if (import.meta.main) {
  const args = Bun.argv.slice(2);
  const { aws, gce } = await buildCatalogs(option(args, "--from"));
  const awsOut = option(args, "--aws-out") ?? AWS_CATALOG_MODULE_PATH;
  const gceOut = option(args, "--gcp-out") ?? GCE_CATALOG_MODULE_PATH;
  await Bun.write(awsOut, renderAwsCatalogModule(aws, SNAPSHOT_BUILD));
  await Bun.write(gceOut, renderGceCatalogModule(gce, SNAPSHOT_BUILD));
  console.log(
    `wrote ${awsOut}: ${Object.keys(aws.instances).length} EC2 types, ${aws.corrections.length} corrections; ` +
      `${gceOut}: ${Object.keys(gce.families).length} GCE families, ${gce.corrections.length} corrections`,
  );
}
