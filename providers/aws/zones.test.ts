// ListRegions zones where moto cannot help: moto has no local or wavelength
// zones, no zone opt-in status and no impaired zones, and cannot show how
// many DescribeAvailabilityZones calls were made or whether they overlapped.
// A scriptable EC2 Query-protocol endpoint (fake-ec2.ts) answers with EC2's
// DescribeRegions / DescribeAvailabilityZones XML (element names from the EC2
// API reference: modelled, not recorded), so the real SDK parses it; the
// calls go through the real gRPC server and client. The moto side (real
// zones of every region) is in aws.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { awsProvider } from "./definition";
import { describeRegionsXml, describeZonesXml, startFakeEc2, type FakeAnswer, type FakeEc2, type RecordedRequest } from "./fake-ec2";

const ENV = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
const REGIONS = [
  { name: "us-east-1", optInStatus: "opt-in-not-required" },
  { name: "us-west-2", optInStatus: "opt-in-not-required" },
  { name: "eu-south-2", optInStatus: "opted-in" },
  { name: "ap-east-1", optInStatus: "not-opted-in" },
];
const ZONES: Record<string, string> = {
  "us-east-1": describeZonesXml("us-east-1", [
    { name: "us-east-1b", id: "use1-az1" },
    { name: "us-east-1a", id: "use1-az6", state: "impaired" },
  ]),
  "us-west-2": describeZonesXml("us-west-2", [
    { name: "us-west-2a", id: "usw2-az1" },
    { name: "us-west-2-lax-1a", id: "usw2-lax1-az1", type: "local-zone", optInStatus: "not-opted-in", parent: "us-west-2a", group: "us-west-2-lax-1" },
    { name: "us-west-2-den-1a", id: "usw2-den1-az1", type: "local-zone", optInStatus: "opted-in", parent: "us-west-2a", group: "us-west-2-den-1" },
  ]),
  "eu-south-2": describeZonesXml("eu-south-2", [{ name: "eu-south-2a", id: "eus2-az1" }]),
};

let fake: FakeEc2;
let provider: TestProvider;
const call = (method: string, req: object = {}) => provider.client.call<any>(method, req, { deadlineMs: 30_000 });
const zoneCalls = () => fake.requests.filter((r) => r.action === "DescribeAvailabilityZones");

/**
 * Holds every DescribeAvailabilityZones answer until `expected` calls are in
 * flight at once: if the provider asked the regions one after another, the
 * first call would never be answered and ListRegions would hit its deadline.
 */
function barrier(expected: number, answer: (req: RecordedRequest) => FakeAnswer) {
  const waiting: (() => void)[] = [];
  return (req: RecordedRequest) =>
    new Promise<FakeAnswer>((resolve) => {
      waiting.push(() => resolve(answer(req)));
      if (waiting.length === expected) for (const release of waiting.splice(0)) release();
    });
}

beforeAll(async () => {
  fake = startFakeEc2();
  provider = await startTestProvider(awsProvider, ["--endpoint", fake.url, "--max-attempts", "1"], ENV);
  fake.answers.set("DescribeRegions", () => ({ xml: describeRegionsXml(REGIONS) }));
});
afterAll(async () => {
  await provider?.close();
  await fake?.stop();
});

describe("ListRegions zones", () => {
  test("GetProviderInfo needs no zones: no DescribeAvailabilityZones call", async () => {
    const info = await call("GetProviderInfo");
    expect(info.supported_regions).toEqual(["eu-south-2", "us-east-1", "us-west-2"]);
    expect(info.capabilities.region_zones).toBe("true");
    expect(zoneCalls()).toHaveLength(0);
  });

  test("zones of every usable region, asked concurrently, with state, type and opt-in marked", async () => {
    // Three usable regions: all three calls must be in flight together.
    fake.answers.set(
      "DescribeAvailabilityZones",
      barrier(3, (req) => ({ xml: ZONES[req.region]! })),
    );
    const { regions } = await call("ListRegions");
    const byId = new Map<string, any>(regions.map((r: any) => [r.id, r]));

    // Each call went to its own region, asking for opt-in zones too.
    expect(zoneCalls().map((r) => r.region).sort()).toEqual(["eu-south-2", "us-east-1", "us-west-2"]);
    expect(zoneCalls().every((r) => r.params.get("AllAvailabilityZones") === "true")).toBe(true);

    // An impaired zone is reported but is not offered for placement.
    expect(byId.get("us-east-1").zones).toEqual(["us-east-1b"]);
    expect(byId.get("us-east-1").zone_details.map((z: any) => [z.name, z.id, z.status])).toEqual([
      ["us-east-1a", "use1-az6", "impaired"],
      ["us-east-1b", "use1-az1", "available"],
    ]);

    // Local zones: the one not opted into is listed, marked, and not usable.
    const west = byId.get("us-west-2");
    expect(west.zones).toEqual(["us-west-2-den-1a", "us-west-2a"]);
    const lax = west.zone_details.find((z: any) => z.name === "us-west-2-lax-1a");
    expect(lax).toMatchObject({
      zone_type: "local-zone",
      opt_in_required: true,
      opt_in_status: "not-opted-in",
      parent_zone: "us-west-2a",
      group_name: "us-west-2-lax-1",
      status: "available",
    });
    expect(west.zone_details.find((z: any) => z.name === "us-west-2-den-1a")).toMatchObject({ opt_in_required: true, opt_in_status: "opted-in" });
    expect(west.zone_details.find((z: any) => z.name === "us-west-2a")).toMatchObject({
      zone_type: "availability-zone",
      opt_in_required: false,
      opt_in_status: "opt-in-not-required",
    });

    // A region not opted into is not asked (EC2 would refuse) and has no zones.
    expect(byId.get("ap-east-1")).toMatchObject({ status: "not-opted-in", zones: [], zone_details: [] });
  });

  test("zones are cached like the region list: a second ListRegions makes no EC2 call", async () => {
    const before = fake.requests.length;
    const { regions } = await call("ListRegions");
    expect(fake.requests.length).toBe(before);
    expect(regions.find((r: any) => r.id === "eu-south-2").zones).toEqual(["eu-south-2a"]);
  });
});

describe("zones when EC2 fails", () => {
  let fresh: TestProvider;
  beforeAll(async () => {
    fresh = await startTestProvider(awsProvider, ["--endpoint", fake.url, "--max-attempts", "1", "--regions-cache-seconds", "0"], ENV);
  });
  afterAll(async () => {
    await fresh?.close();
  });

  test("a region whose zones cannot be read is listed without zones; the others keep theirs", async () => {
    fake.answers.set("DescribeAvailabilityZones", (req) =>
      req.region === "us-west-2" ? { error: "UnauthorizedOperation", message: "You are not authorized to perform this operation." } : { xml: ZONES[req.region]! },
    );
    const { regions } = await fresh.client.call<any>("ListRegions", {}, { deadlineMs: 30_000 });
    const byId = new Map<string, any>(regions.map((r: any) => [r.id, r]));
    expect(byId.get("us-west-2")).toMatchObject({ status: "available", zones: [], zone_details: [] });
    expect(byId.get("us-east-1").zones).toEqual(["us-east-1b"]);
  });

  test("with a cache, a failed refresh serves the zones read before", async () => {
    // A cache of 0 s refreshes on every call; the stale answer is still kept.
    fake.answers.set("DescribeAvailabilityZones", (req) => ({ xml: ZONES[req.region]! }));
    await fresh.client.call<any>("ListRegions", {}, { deadlineMs: 30_000 });
    fake.answers.set("DescribeAvailabilityZones", () => ({ error: "InternalError", status: 500 }));
    const { regions } = await fresh.client.call<any>("ListRegions", {}, { deadlineMs: 30_000 });
    expect(regions.find((r: any) => r.id === "us-west-2").zones).toEqual(["us-west-2-den-1a", "us-west-2a"]);
  });
});
