// Builds shared/pricing/catalog.generated.ts (the offline price catalog
// bundled into every binary) from the dated snapshot in shared/pricing/snapshot,
// applying the documented corrections in shared/pricing/corrections.ts.
//
//   bun scripts/build-price-catalog.ts [--from DIR] [--out FILE]
//
// DIR defaults to shared/pricing/snapshot (or $SKYCLUST_PRICING_SNAPSHOT).
import { join } from "node:path";
import { buildCatalogFromSnapshot, type SnapshotFiles } from "../shared/pricing/snapshot";
import { CATALOG_MODULE_PATH, renderCatalogModule } from "../shared/pricing/catalog-writer";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (import.meta.main) {
  const args = Bun.argv.slice(2);
  const dir = option(args, "--from") ?? process.env.SKYCLUST_PRICING_SNAPSHOT ?? join(import.meta.dir, "../shared/pricing/snapshot");
  const out = option(args, "--out") ?? CATALOG_MODULE_PATH;
  const files: SnapshotFiles = {
    aws: await Bun.file(join(dir, "aws-ec2-linux-ondemand.json")).json(),
    gce: await Bun.file(join(dir, "gce-family-rates.json")).json(),
  };
  const catalog = buildCatalogFromSnapshot(files);
  await Bun.write(out, renderCatalogModule(catalog, "scripts/build-price-catalog.ts from the 2023-08-06 snapshot"));
  console.log(
    `wrote ${out}: ${Object.keys(catalog.aws.instances).length} EC2 types, ${Object.keys(catalog.gce.families).length} GCE families, ` +
      `${catalog.aws.corrections.length + catalog.gce.corrections.length} corrections`,
  );
}
