// Documented corrections to the 2023-08-06 snapshot in shared/pricing/snapshot
// (Apache Libcloud's pricing.json). The snapshot's README warns that it has
// known errors: several EC2 entries in the US regions read 6-10% high (they
// match the Dedicated-tenancy or another variant, not on-demand Linux with
// shared tenancy), and Libcloud keeps GCE per-unit rates at more decimals
// than Google's published tables, so e2-standard-2 comes out 0.067011
// instead of Google's 0.067006.
//
// Each entry names the value it expects to find, so that if the snapshot is
// ever replaced the build fails instead of silently "correcting" a number
// that was already right. Only prices we could check against AWS's published
// on-demand Linux table are listed; the rest of the snapshot is NOT verified
// (the README says so, and the refresh path is the real fix).
import type { CatalogCorrection } from "./catalog-types";

export interface AwsPriceFix {
  instanceType: string;
  region: string;
  expected: number;
  corrected: number;
}

const AWS_PUBLISHED = "AWS's published on-demand Linux (shared tenancy) price, https://aws.amazon.com/ec2/pricing/on-demand/";

function fixes(instanceType: string, corrected: number, wrong: Record<string, number>): AwsPriceFix[] {
  return Object.entries(wrong).map(([region, expected]) => ({ instanceType, region, expected, corrected }));
}

/** Applied in this order by scripts/build-price-catalog.ts. */
export const AWS_PRICE_FIXES: AwsPriceFix[] = [
  ...fixes("m5.large", 0.096, { "us-east-1": 0.102, "us-east-2": 0.102, "us-west-2": 0.102 }),
  ...fixes("m5.xlarge", 0.192, { "us-east-2": 0.204, "us-west-2": 0.204 }),
  ...fixes("m5.2xlarge", 0.384, { "us-east-2": 0.407 }),
  ...fixes("m5.4xlarge", 0.768, { "us-east-1": 0.815, "us-east-2": 0.815, "us-west-2": 0.815 }),
  ...fixes("t3.micro", 0.0104, { "us-west-2": 0.011 }),
  ...fixes("t3.small", 0.0208, { "us-east-1": 0.022, "us-east-2": 0.022 }),
  ...fixes("t3.medium", 0.0416, { "us-west-2": 0.0441 }),
  ...fixes("t3.xlarge", 0.1664, { "us-east-1": 0.1763, "us-east-2": 0.1763 }),
  ...fixes("c5.2xlarge", 0.34, { "us-east-2": 0.361 }),
  ...fixes("c6i.large", 0.085, { "us-east-1": 0.0935 }),
  ...fixes("m6i.large", 0.096, { "us-east-2": 0.1056 }),
  ...fixes("m6i.xlarge", 0.192, { "us-east-1": 0.2112, "us-east-2": 0.2112 }),
  ...fixes("m6g.large", 0.077, { "us-east-1": 0.0816, "us-east-2": 0.0816, "us-west-2": 0.0816 }),
  ...fixes("m7i.large", 0.1008, { "us-east-2": 0.11088 }),
  ...fixes("r6i.large", 0.126, { "us-east-1": 0.1386, "us-east-2": 0.1386, "us-west-2": 0.1386 }),
  ...fixes("m4.large", 0.1, { "us-west-2": 0.11 }),
];

export function awsFixDescriptions(): CatalogCorrection[] {
  return AWS_PRICE_FIXES.map((f) => ({
    what: `${f.instanceType} ${f.region}`,
    from: String(f.expected),
    to: String(f.corrected),
    reason: AWS_PUBLISHED,
  }));
}

/**
 * Google publishes per-unit Compute Engine rates with 6 decimals and its
 * machine-type prices follow from those (e2-standard-2 in us-central1:
 * 2 x 0.021811 + 8 x 0.002923 = 0.067006). Libcloud stores some rates with
 * more digits (e2: 0.02181159 / 0.00292353), which drifts from the published
 * machine prices; the catalog keeps the first 6 decimals.
 */
export const GCE_RATE_DECIMALS = 6;

export function truncateRate(value: number, decimals = GCE_RATE_DECIMALS): number {
  const scale = 10 ** decimals;
  // The epsilon keeps values like 0.0348 (0.034799999... in binary) intact.
  return Math.floor(value * scale + 1e-6) / scale;
}

export const GCE_RATE_CORRECTION: CatalogCorrection = {
  what: "GCE per-vCPU and per-GiB rates with more than 6 decimals (e2, e2_custom, m1 and a few others)",
  from: "e.g. e2 us-central1 0.02181159 per vCPU-hour, 0.00292353 per GiB-hour",
  to: "e.g. 0.021811 and 0.002923 (first 6 decimals)",
  reason:
    "Google's published Compute Engine price tables list per-unit rates with 6 decimals and machine prices computed from them (e2-standard-2 us-central1 = 0.067006 USD/h, https://cloud.google.com/compute/vm-instance-pricing)",
};

/**
 * Libcloud's GCE data has no us-east1 or us-west1 entries at all. Google's
 * "... running in Americas" SKUs bill us-central1, us-east1 and us-west1 at
 * one rate (Compute Engine's lowest price tier), so the build copies the
 * us-central1 rates to those two regions, where the snapshot lacks them.
 */
export const GCE_REGION_COPIES: { from: string; to: string[] } = { from: "us-central1", to: ["us-east1", "us-west1"] };

export const GCE_REGION_CORRECTION: CatalogCorrection = {
  what: "GCE us-east1 and us-west1 (missing from the snapshot)",
  from: "no entries",
  to: "the us-central1 rates of every series",
  reason:
    "Google's Cloud Billing SKUs \"<series> Instance Core/Ram running in Americas\" cover us-central1, us-east1 and us-west1 with one price",
};
