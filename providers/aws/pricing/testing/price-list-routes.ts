// The AWS Price List Bulk API paths the refresher reads, answered from the
// hand-written samples in ../testdata/ (for the refresh tests' local server).
import { join } from "node:path";

const DATA = join(import.meta.dir, "../testdata");

export const AWS_OFFER_SAMPLES = {
  usEast1: join(DATA, "aws-ec2-offer-us-east-1.sample.json"),
  euWest1: join(DATA, "aws-ec2-offer-eu-west-1.sample.json"),
  regionIndex: join(DATA, "aws-ec2-region-index.sample.json"),
};

const ROUTES: Record<string, string> = {
  "/offers/v1.0/aws/AmazonEC2/current/region_index.json": AWS_OFFER_SAMPLES.regionIndex,
  "/offers/v1.0/aws/AmazonEC2/20230803203951/us-east-1/index.json": AWS_OFFER_SAMPLES.usEast1,
  "/offers/v1.0/aws/AmazonEC2/20230804113012/eu-west-1/index.json": AWS_OFFER_SAMPLES.euWest1,
};

/** The sample for `url`, or undefined when it is not an AWS price-list path. */
export function awsPriceListResponse(url: URL): Response | undefined {
  const file = ROUTES[url.pathname];
  return file ? new Response(Bun.file(file), { headers: { "content-type": "application/json" } }) : undefined;
}
