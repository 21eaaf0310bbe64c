// Turns the dated Libcloud EC2 snapshot (snapshot/aws-ec2-linux-ondemand.json)
// into the EC2 catalog, applying the documented corrections. Pure function,
// so the build script and the tests run exactly the same code.
import type { RegionPrices } from "../../../shared/pricing/catalog-types";
import { snapshotOrigin, type SnapshotMeta } from "../../../shared/pricing/snapshot";
import type { AwsCatalog } from "./catalog-types";
import { AWS_PRICE_FIXES, awsFixDescriptions } from "./corrections";

export const AWS_SNAPSHOT_FILE = "aws-ec2-linux-ondemand.json";
/** The snapshot directory in this folder (scripts and tests read it; the binary never does). */
export const AWS_SNAPSHOT_DIR = new URL("./snapshot", import.meta.url).pathname;

export interface AwsSnapshot {
  aws_ec2_linux: Record<string, RegionPrices>;
  meta: SnapshotMeta;
}

export function awsCatalogFromSnapshot(snapshot: AwsSnapshot): AwsCatalog {
  const instances: Record<string, RegionPrices> = {};
  for (const [type, prices] of Object.entries(snapshot.aws_ec2_linux)) instances[type] = { ...prices };
  for (const fix of AWS_PRICE_FIXES) {
    const found = instances[fix.instanceType]?.[fix.region];
    if (found !== fix.expected) {
      throw new Error(
        `correction ${fix.instanceType} ${fix.region}: expected the snapshot to read ${fix.expected}, found ${found}; review providers/aws/pricing/corrections.ts`,
      );
    }
    instances[fix.instanceType]![fix.region] = fix.corrected;
  }
  return {
    source: "aws-price-list-snapshot",
    origin: snapshotOrigin(snapshot.meta),
    date: snapshot.meta.source_updated,
    currency: "USD",
    corrections: awsFixDescriptions(),
    instances,
  };
}
