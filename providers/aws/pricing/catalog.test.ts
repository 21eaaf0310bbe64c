// The bundled EC2 catalog: known published prices, the documented
// corrections, INVALID_ARGUMENT/NOT_FOUND answers, and that the committed
// module is exactly what the build makes from the snapshot.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SNAPSHOT_BUILD, snapshotDir } from "../../../shared/pricing/snapshot";
import { thrownProviderError } from "../../../shared/testing/provider-error";
import { renderAwsCatalogModule } from "./catalog-module";
import { AWS_PRICE_CATALOG } from "./catalog.generated";
import { AWS_PRICE_FIXES } from "./corrections";
import { awsPriceQuote } from "./quote";
import { AWS_SNAPSHOT_DIR, AWS_SNAPSHOT_FILE, awsCatalogFromSnapshot, type AwsSnapshot } from "./snapshot";

const SNAPSHOT_DIR = snapshotDir(AWS_SNAPSHOT_DIR);

const thrown = thrownProviderError;

describe("AWS catalog", () => {
  test("published on-demand Linux prices", () => {
    expect(awsPriceQuote("t3.micro", "us-east-1").hourlyRate).toBe(0.0104);
    expect(awsPriceQuote("m5.large", "us-east-1").hourlyRate).toBe(0.096); // the snapshot reads 0.102
    expect(awsPriceQuote("m5.xlarge", "us-west-2").hourlyRate).toBe(0.192); // the snapshot reads 0.204
    expect(awsPriceQuote("t3.micro", "eu-west-1").hourlyRate).toBe(0.0122); // uncorrected snapshot value
  });

  test("every quote names its source and date; corrected entries say so", () => {
    const q = awsPriceQuote("m5.large", "us-east-1");
    expect(q.currency).toBe("USD");
    expect(q.date).toBe("2023-08-06");
    expect(q.source).toStartWith("aws-price-list-snapshot");
    expect(q.source).toContain("Libcloud");
    expect(q.breakdown).toEqual([{ name: "compute", hourlyRate: 0.096, detail: expect.stringContaining("snapshot read 0.102; corrected") }]);
    expect(awsPriceQuote("t3.micro", "us-east-1").breakdown[0]!.detail).not.toContain("corrected");
  });

  test("INVALID_ARGUMENT names the unknown type; NOT_FOUND the unknown region or the missing pair", () => {
    const type = thrown(() => awsPriceQuote("t9.enormous", "us-east-1"));
    expect(type.code).toBe("INVALID_ARGUMENT");
    expect(type.details.field).toBe("instance_type");
    expect(type.message).toContain("instance type t9.enormous");
    const region = thrown(() => awsPriceQuote("t3.micro", "mars-north-1"));
    expect(region.code).toBe("NOT_FOUND");
    expect(region.message).toContain("region mars-north-1");
    const pair = thrown(() => awsPriceQuote("t3.micro", "eu-central-1")); // a gap in the snapshot
    expect(pair.message).toContain("t3.micro in region eu-central-1");
  });
});

describe("EC2 catalog build", () => {
  test("the bundled module is exactly what scripts/build-price-catalog.ts makes from the snapshot", async () => {
    if (!existsSync(SNAPSHOT_DIR)) throw new Error(`price snapshot not found at ${SNAPSHOT_DIR} (set SKYCLUST_PRICING_SNAPSHOT)`);
    const snapshot: AwsSnapshot = await Bun.file(join(SNAPSHOT_DIR, AWS_SNAPSHOT_FILE)).json();
    const built = awsCatalogFromSnapshot(snapshot);
    expect(built).toEqual(AWS_PRICE_CATALOG);
    const onDisk = await Bun.file(join(import.meta.dir, "catalog.generated.ts")).text();
    expect(onDisk).toBe(renderAwsCatalogModule(built, SNAPSHOT_BUILD));
    // Every correction changed a value the snapshot really had.
    for (const fix of AWS_PRICE_FIXES) expect(snapshot.aws_ec2_linux[fix.instanceType]![fix.region]).toBe(fix.expected);
  });

  test("a correction whose expected value is not in the snapshot stops the build", () => {
    const snapshot: AwsSnapshot = { aws_ec2_linux: { "m5.large": { "us-east-1": 0.096 } }, meta: { source: "x", source_updated: "2023-08-06" } };
    expect(() => awsCatalogFromSnapshot(snapshot)).toThrow("expected the snapshot to read 0.102");
  });
});

describe("bundled, not read at run time", () => {
  test("the modules that answer quotes never touch the file system (bun build --compile embeds them)", async () => {
    for (const name of ["quote.ts", "catalog.generated.ts", "catalog-types.ts", "../../../shared/pricing/catalog-types.ts", "../../../shared/pricing/rounding.ts", "../../../shared/pricing/duration.ts"]) {
      const text = await Bun.file(join(import.meta.dir, name)).text();
      expect({ name, fs: /node:fs|Bun\.file|readFile|import\.meta\.(dir|url)/.test(text) }).toEqual({ name, fs: false });
    }
    const { AWS_PRICE_CATALOG: staticImport } = await import("./catalog.generated");
    expect(staticImport).toBe(AWS_PRICE_CATALOG);
  });
});
