// The bundled Compute Engine catalog: machine shapes (shared-core and
// custom included), Google's published prices, the documented corrections,
// INVALID_ARGUMENT/NOT_FOUND answers, and that the committed module is
// exactly what the build makes from the snapshot.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SNAPSHOT_BUILD, snapshotDir } from "../../../shared/pricing/snapshot";
import { thrownProviderError } from "../../../shared/testing/provider-error";
import { renderGceCatalogModule } from "./catalog-module";
import { GCE_PRICE_CATALOG } from "./catalog.generated";
import { truncateRate } from "./corrections";
import { gceMachineShape } from "./gce-shapes";
import { gcpPriceQuote } from "./quote";
import { GCE_SNAPSHOT_DIR, GCE_SNAPSHOT_FILE, gceCatalogFromSnapshot, type GceSnapshot } from "./snapshot";

const SNAPSHOT_DIR = snapshotDir(GCE_SNAPSHOT_DIR);

const thrown = thrownProviderError;

describe("GCE machine shapes", () => {
  test.each([
    ["e2-standard-2", 2, 2, 8],
    ["e2-highmem-4", 4, 4, 32],
    ["e2-highcpu-8", 8, 8, 8],
    ["n1-standard-1", 1, 1, 3.75],
    ["n1-highmem-2", 2, 2, 13],
    ["n1-highcpu-96", 96, 96, 86.4],
    ["n2-standard-4", 4, 4, 16],
    ["n2d-highcpu-16", 16, 16, 16],
    ["c2-standard-4", 4, 4, 16],
    ["c3-highcpu-22", 22, 22, 44],
    ["t2d-standard-1", 1, 1, 4],
    ["e2-micro", 2, 0.25, 1],
    ["e2-small", 2, 0.5, 2],
    ["e2-medium", 2, 1, 4],
    ["f1-micro", 1, 0.2, 0.6],
    ["g1-small", 1, 0.5, 1.7],
    ["e2-custom-4-8192", 4, 4, 8],
    ["n2-custom-2-10240", 2, 2, 10],
    ["custom-2-7680", 2, 2, 7.5],
    ["e2-custom-small-2048", 2, 0.5, 2],
    ["zones/us-central1-a/machineTypes/e2-standard-2", 2, 2, 8],
  ])("%s: %d vCPUs (%d billed), %d GiB", (name, vcpus, billed, gib) => {
    const shape = gceMachineShape(name)!;
    expect(shape).toBeDefined();
    expect([shape.vcpus, shape.billedVcpus, shape.memoryGiB]).toEqual([vcpus, billed, gib]);
  });

  test.each(["e2-standard-3", "n1-standard-0", "x9-standard-2", "e2-mega-2", "c2-highmem-4", "n2-custom-small-2048", "m5.large", "custom-0-1024"])(
    "%s is not a machine type",
    (name) => expect(gceMachineShape(name)).toBeUndefined(),
  );
});

describe("GCE catalog", () => {
  const hourly = (type: string, region = "us-central1") => gcpPriceQuote(type, region).hourlyRate;

  test("e2-standard-2 in us-central1 is Google's published 0.067006 USD/h", () => {
    expect(hourly("e2-standard-2")).toBeCloseTo(0.067006, 12);
    const q = gcpPriceQuote("e2-standard-2", "us-central1");
    expect(q.breakdown.map((c) => c.name)).toEqual(["vcpu", "memory"]);
    expect(q.date).toBe("2023-08-06");
    expect(q.source).toStartWith("gce-price-list-snapshot");
  });

  test("shared-core types: e2 bills a fraction of a vCPU, f1/g1 a flat price", () => {
    expect(hourly("e2-micro")).toBeCloseTo(0.25 * 0.021811 + 1 * 0.002923, 12); // 0.008376 published
    expect(hourly("e2-small")).toBeCloseTo(0.5 * 0.021811 + 2 * 0.002923, 12); // 0.016751
    expect(hourly("e2-medium")).toBeCloseTo(0.021811 + 4 * 0.002923, 12); // 0.033503
    expect(hourly("f1-micro")).toBe(0.0076);
    expect(hourly("g1-small")).toBe(0.0257);
    expect(gcpPriceQuote("e2-micro", "us-central1").breakdown[0]!.detail).toContain("shared-core");
  });

  test("predefined and custom types use their series' rates", () => {
    expect(hourly("n1-standard-1")).toBeCloseTo(0.031611 + 3.75 * 0.004237, 12); // 0.0475 published
    expect(hourly("c2-standard-4")).toBeCloseTo(4 * 0.033982 + 16 * 0.004555, 12);
    expect(hourly("e2-custom-4-8192")).toBeCloseTo(4 * 0.021811 + 8 * 0.002923, 12);
    expect(hourly("n2-custom-2-10240")).toBeCloseTo(2 * 0.033174 + 10 * 0.004446, 12);
    // Memory beyond 8 GiB per vCPU ("-ext") bills at the extended-memory rate.
    const ext = gcpPriceQuote("n2-custom-2-20480-ext", "us-central1");
    expect(ext.breakdown.map((c) => [c.name, c.detail])).toEqual([
      ["vcpu", "2 vCPU x 0.033174/vCPU-hour"],
      ["memory", "16 GiB x 0.004446/GiB-hour"],
      ["extended_memory", "4 GiB x 0.00955/GiB-hour"],
    ]);
    expect(ext.hourlyRate).toBeCloseTo(2 * 0.033174 + 16 * 0.004446 + 4 * 0.00955, 12);
    // us-east1/us-west1 are missing from the snapshot; the build copies the Americas (us-central1) rates.
    expect(hourly("n2-standard-4", "us-east1")).toBe(hourly("n2-standard-4"));
    expect(hourly("g1-small", "us-west1")).toBe(0.0257);
    expect(GCE_PRICE_CATALOG.corrections.map((c) => c.what)).toContain("GCE us-east1 and us-west1 (missing from the snapshot)");
    expect(hourly("e2-standard-2", "europe-west1")).toBeCloseTo(2 * 0.023993 + 8 * 0.003216, 12);
  });

  test("INVALID_ARGUMENT for unknown machine types; NOT_FOUND for regions and series the snapshot has no rates for", () => {
    const type = thrown(() => gcpPriceQuote("e2-standard-3", "us-central1"));
    expect(type.code).toBe("INVALID_ARGUMENT");
    expect(type.message).toContain("machine type e2-standard-3");
    const region = thrown(() => gcpPriceQuote("e2-standard-2", "moon-central1"));
    expect(region.code).toBe("NOT_FOUND");
    expect(region.message).toContain("region moon-central1");
    expect(thrown(() => gcpPriceQuote("c3-standard-4", "us-central1")).message).toContain("series c3");
    // The snapshot has on-demand extended memory for n1/n2 custom types, not for n2d.
    expect(thrown(() => gcpPriceQuote("n2d-custom-2-20480-ext", "us-central1")).message).toContain("extended-memory");
  });
});

describe("GCE catalog build", () => {
  test("the bundled module is exactly what scripts/build-price-catalog.ts makes from the snapshot", async () => {
    if (!existsSync(SNAPSHOT_DIR)) throw new Error(`price snapshot not found at ${SNAPSHOT_DIR} (set SKYCLUST_PRICING_SNAPSHOT)`);
    const snapshot: GceSnapshot = await Bun.file(join(SNAPSHOT_DIR, GCE_SNAPSHOT_FILE)).json();
    const built = gceCatalogFromSnapshot(snapshot);
    expect(built).toEqual(GCE_PRICE_CATALOG);
    const onDisk = await Bun.file(join(import.meta.dir, "catalog.generated.ts")).text();
    expect(onDisk).toBe(renderGceCatalogModule(built, SNAPSHOT_BUILD));
  });

  test("GCE rates keep 6 decimals without binary drift", () => {
    expect(truncateRate(0.02181159)).toBe(0.021811);
    expect(truncateRate(0.00292353)).toBe(0.002923);
    expect(truncateRate(0.0348)).toBe(0.0348);
    expect(truncateRate(0.031611)).toBe(0.031611);
  });
});

describe("bundled, not read at run time", () => {
  test("the modules that answer quotes never touch the file system (bun build --compile embeds them)", async () => {
    for (const name of ["quote.ts", "gce-shapes.ts", "catalog.generated.ts", "catalog-types.ts", "../../../shared/pricing/catalog-types.ts"]) {
      const text = await Bun.file(join(import.meta.dir, name)).text();
      expect({ name, fs: /node:fs|Bun\.file|readFile|import\.meta\.(dir|url)/.test(text) }).toEqual({ name, fs: false });
    }
    const { GCE_PRICE_CATALOG: staticImport } = await import("./catalog.generated");
    expect(staticImport).toBe(GCE_PRICE_CATALOG);
  });
});
