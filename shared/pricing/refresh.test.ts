// The refresh path: AWS offer-file and Cloud Billing SKU parsers on the
// hand-written samples in testdata/ (documented formats, real field names),
// the live download code against a local HTTP server serving those samples,
// and scripts/refresh-prices.ts end to end. Nothing here reaches the internet.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { awsPriceQuote, gcpPriceQuote } from ".";
import {
  fetchAwsOfferPrices,
  mergeAwsOfferPrices,
  parseAwsOfferFile,
  type AwsOfferFile,
} from "./refresh/aws-offer";
import { awsCatalogFromOffers, gceCatalogFromSkus } from "./refresh/catalog";
import { fetchComputeEngineSkus, parseGceSkus, type BillingSku, type ListSkusResponse } from "./refresh/gcp-skus";

const DATA = join(import.meta.dir, "testdata");
const REPO = resolve(import.meta.dir, "../..");
const json = async <T>(name: string): Promise<T> => (await Bun.file(join(DATA, name)).json()) as T;

const US_EAST_1 = "aws-ec2-offer-us-east-1.sample.json";
const EU_WEST_1 = "aws-ec2-offer-eu-west-1.sample.json";
const PAGE_1 = "gcp-compute-skus-page1.sample.json";
const PAGE_2 = "gcp-compute-skus-page2.sample.json";

async function allSkus(): Promise<BillingSku[]> {
  return [...((await json<ListSkusResponse>(PAGE_1)).skus ?? []), ...((await json<ListSkusResponse>(PAGE_2)).skus ?? [])];
}

describe("AWS offer files", () => {
  test("keeps on-demand Linux shared-tenancy prices and skips every decoy", async () => {
    const prices = parseAwsOfferFile(await json<AwsOfferFile>(US_EAST_1));
    expect(prices).toEqual({
      date: "2023-08-03",
      instances: {
        "t3.micro": { "us-east-1": 0.0104 },
        "m5.large": { "us-east-1": 0.096 }, // not Dedicated 0.113, Windows, RHEL, SQL Web or the reservation
        "c5.large": { "us-east-1": 0.085 },
        "m5.metal": { "us-east-1": 4.608 },
      },
    });
  });

  test("merges regions; the catalog date is the newest publicationDate", async () => {
    const merged = mergeAwsOfferPrices([parseAwsOfferFile(await json(US_EAST_1)), parseAwsOfferFile(await json(EU_WEST_1))]);
    expect(merged.date).toBe("2023-08-04");
    expect(merged.instances["m5.large"]).toEqual({ "us-east-1": 0.096, "eu-west-1": 0.107 });
  });

  test("two different prices for one type and region is an error, not a silent pick", async () => {
    const offer = await json<AwsOfferFile>(US_EAST_1);
    offer.products.SAMPLEM5LARGEDED!.attributes!.tenancy = "Shared"; // the Dedicated row now looks like a second m5.large price
    expect(() => parseAwsOfferFile(offer)).toThrow("two on-demand Linux prices for m5.large in us-east-1");
  });

  test("other services' offer files are refused", async () => {
    const offer = await json<AwsOfferFile>(US_EAST_1);
    offer.offerCode = "AmazonRDS";
    expect(() => parseAwsOfferFile(offer)).toThrow("not AmazonEC2");
  });

  test("a refreshed catalog quotes with its own source and date", async () => {
    const aws = awsCatalogFromOffers(parseAwsOfferFile(await json(US_EAST_1)));
    const q = awsPriceQuote("m5.large", "us-east-1", aws);
    expect(q.hourlyRate).toBe(0.096);
    expect(q.date).toBe("2023-08-03");
    expect(q.source).toStartWith("aws-price-list-bulk-api");
  });
});

describe("Cloud Billing Catalog SKUs", () => {
  test("per-series vCPU and GiB rates, flat f1/g1 prices, decoys skipped", async () => {
    const prices = parseGceSkus(await allSkus());
    expect(prices.date).toBe("2023-08-07"); // newest effectiveTime
    expect(Object.keys(prices.families).sort()).toEqual(["e2", "n1", "n2", "n2_custom", "t2d"]);
    expect(prices.families.e2!.vcpuHour).toEqual({
      "us-central1": 0.021811, // SKU 0.02181159, cut to Google's published 6 decimals
      "us-east1": 0.021811,
      "us-west1": 0.021811,
      "northamerica-northeast1": 0.021811,
      "europe-west1": 0.023993,
    });
    expect(prices.families.e2!.gibHour["us-central1"]).toBe(0.002923);
    expect(prices.families.n1!.vcpuHour["us-central1"]).toBe(0.031611); // resourceGroup N1Standard, matched by description
    expect(prices.perInstance).toEqual({
      "f1-micro": { "us-central1": 0.0076, "us-east1": 0.0076, "us-west1": 0.0076, "northamerica-northeast1": 0.0076 },
      "g1-small": { "us-central1": 0.0257, "us-east1": 0.0257, "us-west1": 0.0257, "northamerica-northeast1": 0.0257 },
    });
  });

  test("machine prices from refreshed rates: e2-standard-2 is 0.067006, and t2d (absent from the snapshot) is priced", async () => {
    const gce = gceCatalogFromSkus(parseGceSkus(await allSkus()));
    expect(gcpPriceQuote("e2-standard-2", "us-central1", gce).hourlyRate).toBeCloseTo(0.067006, 12);
    expect(gcpPriceQuote("t2d-standard-1", "us-central1", gce).hourlyRate).toBeCloseTo(0.027502 + 4 * 0.003686, 12);
    expect(gcpPriceQuote("n2-custom-2-8192", "us-east1", gce).hourlyRate).toBeCloseTo(2 * 0.033174 + 8 * 0.004446, 12);
    const q = gcpPriceQuote("g1-small", "us-west1", gce);
    expect([q.hourlyRate, q.source.split(":")[0], q.date]).toEqual([0.0257, "gcp-cloud-billing-catalog", "2023-08-07"]);
  });

  test("a unit the parser does not expect is an error (a GiB-month where GiB-hours belong)", async () => {
    const skus = await allSkus();
    skus[1]!.pricingInfo[0]!.pricingExpression.usageUnit = "GiBy.mo";
    expect(() => parseGceSkus(skus)).toThrow("usageUnit GiBy.mo, expected GiBy.h");
  });

  test("two on-demand SKUs pricing the same series and region differently is an error", async () => {
    const skus = await allSkus();
    const twin = structuredClone(skus[0]!);
    twin.skuId = "SAMP-TWIN-9999";
    twin.pricingInfo[0]!.pricingExpression.tieredRates[0]!.unitPrice.nanos = 30000000;
    expect(() => parseGceSkus([...skus, twin])).toThrow("SAMP-TWIN-9999");
  });
});

describe("live download code against a local server with the samples", () => {
  let server: ReturnType<typeof Bun.serve>;
  let base: string;
  const requests: URL[] = [];

  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        requests.push(url);
        const send = (name: string) => new Response(Bun.file(join(DATA, name)), { headers: { "content-type": "application/json" } });
        if (url.pathname === "/offers/v1.0/aws/AmazonEC2/current/region_index.json") return send("aws-ec2-region-index.sample.json");
        if (url.pathname === "/offers/v1.0/aws/AmazonEC2/20230803203951/us-east-1/index.json") return send(US_EAST_1);
        if (url.pathname === "/offers/v1.0/aws/AmazonEC2/20230804113012/eu-west-1/index.json") return send(EU_WEST_1);
        if (url.pathname === "/v1/services/6F81-5844-456A/skus") {
          if (url.searchParams.get("key") !== "test-key") return new Response('{"error":{"code":403}}', { status: 403 });
          return send(url.searchParams.get("pageToken") === "sample-page-2" ? PAGE_2 : PAGE_1);
        }
        return new Response("not found", { status: 404 });
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.stop(true));

  test("AWS: region index, then each region's current offer file", async () => {
    const prices = await fetchAwsOfferPrices({ baseUrl: base });
    expect(prices.instances["t3.micro"]).toEqual({ "us-east-1": 0.0104, "eu-west-1": 0.0114 });
    const only = await fetchAwsOfferPrices({ baseUrl: base, regions: ["eu-west-1"] });
    expect(Object.keys(only.instances["m5.large"]!)).toEqual(["eu-west-1"]);
    await expect(fetchAwsOfferPrices({ baseUrl: base, regions: ["xx-nowhere-1"] })).rejects.toThrow("region xx-nowhere-1 is not in the AWS region index");
  });

  test("GCP: follows nextPageToken with the API key, and never prints the key", async () => {
    requests.length = 0;
    const skus = await fetchComputeEngineSkus({ apiKey: "test-key", baseUrl: base });
    expect(skus.length).toBe(18);
    expect(requests.map((u) => u.searchParams.get("pageToken"))).toEqual([null, "sample-page-2"]);
    expect(requests.every((u) => u.searchParams.get("currencyCode") === "USD")).toBe(true);
    const err = await fetchComputeEngineSkus({ apiKey: "wrong-secret-key", baseUrl: base }).catch((e: Error) => e);
    expect((err as Error).message).toContain("HTTP 403");
    expect((err as Error).message).not.toContain("wrong-secret-key");
  });

  test("scripts/refresh-prices.ts writes a catalog module from the live (local) endpoints", async () => {
    const dir = mkdtempSync(join(tmpdir(), "skyclust-refresh-"));
    try {
      const out = join(dir, "catalog.generated.ts");
      const proc = Bun.spawn(
        [process.execPath, "scripts/refresh-prices.ts", "--aws-base-url", base, "--gcp-base-url", base, "--gcp-api-key", "test-key", "--out", out],
        { cwd: REPO, stdout: "pipe", stderr: "pipe", env: { ...process.env, GOOGLE_API_KEY: "" } },
      );
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect(stderr).not.toContain("test-key");
      expect(code).toBe(0);
      expect(stdout).toContain("aws: 4 types (aws-price-list-bulk-api, 2023-08-04)");
      expect(stdout).toContain("gce: 5 rate families, 2 flat types (gcp-cloud-billing-catalog, 2023-08-07)");
      const text = await Bun.file(out).text();
      expect(text).toStartWith("// GENERATED by scripts/refresh-prices.ts");
      const catalog = JSON.parse(text.slice(text.indexOf("= {") + 2, text.lastIndexOf(";")));
      expect(catalog.aws.instances["m5.large"]).toEqual({ "eu-west-1": 0.107, "us-east-1": 0.096 });
      expect(catalog.gce.families.e2.vcpuHour["us-central1"]).toBe(0.021811);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("scripts/refresh-prices.ts offline", () => {
  test("recorded files, one cloud only, dry run: the other part is kept and nothing is written", async () => {
    const bundled = join(import.meta.dir, "catalog.generated.ts");
    const before = await Bun.file(bundled).text();
    const proc = Bun.spawn([process.execPath, "scripts/refresh-prices.ts", "--gcp", "--gcp-skus", join(DATA, PAGE_1), "--gcp-skus", join(DATA, PAGE_2), "--dry-run"], {
      cwd: REPO,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    expect(stdout).toContain("dry run, nothing written");
    expect(stdout).toContain("aws-price-list-snapshot, 2023-08-06"); // kept from the bundled catalog
    expect(stdout).toContain("gce: 5 rate families, 2 flat types (gcp-cloud-billing-catalog, 2023-08-07)");
    expect(await Bun.file(bundled).text()).toBe(before);
  });

  test("live GCP without an API key is refused with a clear message", async () => {
    const proc = Bun.spawn([process.execPath, "scripts/refresh-prices.ts", "--gcp", "--dry-run"], { cwd: REPO, stdout: "pipe", stderr: "pipe", env: { ...process.env, GOOGLE_API_KEY: "" } });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain("needs an API key");
  });
});
