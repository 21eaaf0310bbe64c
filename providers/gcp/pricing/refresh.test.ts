// The Compute Engine refresh path: the Cloud Billing SKU parser on the
// hand-written samples in testdata/ (documented format, real field names)
// and the live download code against a local HTTP server serving those
// samples. Nothing here reaches the internet.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startPriceListServer, type PriceListServer } from "../../../shared/testing/price-list-server";
import { gcpPriceQuote } from "./quote";
import { fetchComputeEngineSkus, gceCatalogFromSkus, parseGceSkus, type BillingSku, type ListSkusResponse } from "./refresh";
import { gcpPriceListResponse } from "./testing/price-list-routes";

const DATA = join(import.meta.dir, "testdata");
const json = async <T>(name: string): Promise<T> => (await Bun.file(join(DATA, name)).json()) as T;

const PAGE_1 = "gcp-compute-skus-page1.sample.json";
const PAGE_2 = "gcp-compute-skus-page2.sample.json";

async function allSkus(): Promise<BillingSku[]> {
  return [...((await json<ListSkusResponse>(PAGE_1)).skus ?? []), ...((await json<ListSkusResponse>(PAGE_2)).skus ?? [])];
}

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
  let server: PriceListServer;
  let base: string;
  let requests: URL[];

  beforeAll(() => {
    server = startPriceListServer(gcpPriceListResponse);
    base = server.base;
    requests = server.requests;
  });
  afterAll(() => server.stop());

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
});
