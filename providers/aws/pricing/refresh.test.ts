// The EC2 refresh path: the offer-file parser on the hand-written samples in
// testdata/ (documented format, real field names) and the live download
// code against a local HTTP server serving those samples. Nothing here
// reaches the internet.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startPriceListServer, type PriceListServer } from "../../../shared/testing/price-list-server";
import { awsPriceQuote } from "./quote";
import { awsCatalogFromOffers, fetchAwsOfferPrices, mergeAwsOfferPrices, parseAwsOfferFile, type AwsOfferFile } from "./refresh";
import { awsPriceListResponse } from "./testing/price-list-routes";

const DATA = join(import.meta.dir, "testdata");
const json = async <T>(name: string): Promise<T> => (await Bun.file(join(DATA, name)).json()) as T;

const US_EAST_1 = "aws-ec2-offer-us-east-1.sample.json";
const EU_WEST_1 = "aws-ec2-offer-eu-west-1.sample.json";

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

describe("live download code against a local server with the samples", () => {
  let server: PriceListServer;
  let base: string;

  beforeAll(() => {
    server = startPriceListServer(awsPriceListResponse);
    base = server.base;
  });
  afterAll(() => server.stop());

  test("AWS: region index, then each region's current offer file", async () => {
    const prices = await fetchAwsOfferPrices({ baseUrl: base });
    expect(prices.instances["t3.micro"]).toEqual({ "us-east-1": 0.0104, "eu-west-1": 0.0114 });
    const only = await fetchAwsOfferPrices({ baseUrl: base, regions: ["eu-west-1"] });
    expect(Object.keys(only.instances["m5.large"]!)).toEqual(["eu-west-1"]);
    await expect(fetchAwsOfferPrices({ baseUrl: base, regions: ["xx-nowhere-1"] })).rejects.toThrow("region xx-nowhere-1 is not in the AWS region index");
  });
});
