// Documented corrections to the 2023-08-06 EC2 snapshot in snapshot/
// (Apache Libcloud's pricing.json). The snapshot's README warns that it has
// known errors: several EC2 entries in the US regions read 6-10% high (they
// match the Dedicated-tenancy or another variant, not on-demand Linux with
// shared tenancy).
//
// Each entry names the value it expects to find, so that if the snapshot is
// ever replaced the build fails instead of silently "correcting" a number
// that was already right. Only prices we could check against AWS's published
// on-demand Linux table are listed; the rest of the snapshot is NOT verified
// (the README says so, and the refresh path is the real fix).
import type { CatalogCorrection } from "../../../shared/pricing/catalog-types";

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
