// GetCostEstimate through a real gRPC client over loopback: the providers in
// sandbox mode (bundled catalog for aws/gcp, labelled demo rate card for
// openstack/proxmox), and a sandbox cloud priced the way the cloud-mode
// backends price (catalog lookups without the sandbox's own region check,
// an operator rate card loaded from flags/env), for the rate-card path and
// the NOT_FOUND/FAILED_PRECONDITION answers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRateCard, RATE_CARD_FLAGS, rateCardQuote, type RateCard } from "../shared/pricing";
import { parseArgs } from "../shared/config";
import type { CallContext, PriceQuote } from "../shared/provider";
import { SandboxBackend } from "../shared/sandbox/backend";
import type { SandboxProfile } from "../shared/sandbox/profile";
import { badRequestFields, grpcError } from "../shared/testing/client";
import { startTestProvider, startTestServerWithBackend, type TestProvider } from "../shared/testing/harness";
import { awsProvider } from "./aws/definition";
import { awsPriceQuote } from "./aws/pricing/quote";
import { awsSandboxProfile } from "./aws/sandbox-profile";
import { gcpProvider } from "./gcp/definition";
import { gcpPriceQuote } from "./gcp/pricing/quote";
import { gcpSandboxProfile } from "./gcp/sandbox-profile";
import { openstackProvider } from "./openstack/definition";
import { openstackSandboxProfile } from "./openstack/sandbox-profile";
import { proxmoxProvider } from "./proxmox/definition";

type Estimate = {
  instance_type: string;
  region: string;
  duration: string;
  cost: number;
  currency: string;
  hourly_rate: number;
  price_source: string;
  price_date: string;
  breakdown: { name: string; hourly_rate: number; cost: number; detail: string }[];
  hours: number;
};

const estimate = (p: TestProvider, req: object) => p.client.call<Estimate>("GetCostEstimate", req);

/** A sandbox cloud whose prices come from `quote`, as a cloud-mode backend's do. */
class PricedSandbox extends SandboxBackend {
  constructor(
    profile: SandboxProfile,
    private readonly quote: (type: { instanceType: string; region: string }) => PriceQuote,
  ) {
    super(profile, { transitionMs: 10, seedPerRegion: 0, latencyMs: 0, failRegions: [] });
  }
  override async priceQuote(_ctx: CallContext, req: { instanceType: string; region: string }): Promise<PriceQuote> {
    return this.quote(req);
  }
}

describe("aws sandbox: bundled EC2 catalog", () => {
  let p: TestProvider;
  beforeAll(async () => {
    p = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-seed-instances", "0"]);
  });
  afterAll(() => p.close());

  test("t3.micro in us-east-1 is 0.0104 USD/h with source, date and breakdown", async () => {
    const res = await estimate(p, { instance_type: "t3.micro", region: "us-east-1", duration: "1h" });
    expect(res).toMatchObject({
      instance_type: "t3.micro",
      region: "us-east-1",
      duration: "1h",
      cost: 0.0104,
      currency: "USD",
      hourly_rate: 0.0104,
      price_date: "2023-08-06",
      hours: 1,
    });
    expect(res.price_source).toStartWith("aws-price-list-snapshot");
    expect(res.breakdown).toEqual([{ name: "compute", hourly_rate: 0.0104, cost: 0.0104, detail: "t3.micro on-demand Linux, shared tenancy, us-east-1" }]);
  });

  test("m5.large in us-east-1 is the corrected 0.096 USD/h (the snapshot reads 0.102)", async () => {
    const res = await estimate(p, { instance_type: "m5.large", region: "us-east-1", duration: "1m" });
    expect(res.hourly_rate).toBe(0.096);
    expect(res.cost).toBe(70.08); // 730 h
    expect(res.breakdown[0]!.detail).toContain("corrected");
  });

  test.each([
    ["", "1h", 1, 0.0104],
    ["30min", "30min", 0.5, 0.0052],
    ["90 minutes", "90 minutes", 1.5, 0.0156],
    ["1.5h", "1.5h", 1.5, 0.0156],
    ["1d", "1d", 24, 0.2496],
    ["1w", "1w", 168, 1.7472],
    ["2 weeks", "2 weeks", 336, 3.4944],
    ["1m", "1m", 730, 7.592],
    ["1mo", "1mo", 730, 7.592],
    ["0.5month", "0.5month", 365, 3.796],
    ["1y", "1y", 8760, 91.104],
    ["0.7d", "0.7d", 16.8, 0.17472],
  ])("duration %p: %p = %p hours, cost %p", async (duration, text, hours, cost) => {
    const res = await estimate(p, { instance_type: "t3.micro", region: "us-east-1", duration });
    expect([res.duration, res.hours, res.cost]).toEqual([text, hours, cost]);
    expect(res.breakdown[0]!.cost).toBe(cost);
  });

  test("an empty region means the provider's default region", async () => {
    expect((await estimate(p, { instance_type: "t3.micro" })).region).toBe("us-east-1");
  });

  test.each(["1", "1M", "1s", "-1h", "1h30min", "0h", "soon"])("bad duration %p is INVALID_ARGUMENT naming the duration field", async (duration) => {
    const err = await grpcError(estimate(p, { instance_type: "t3.micro", region: "us-east-1", duration }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("duration");
    expect(badRequestFields(err)).toEqual(["duration"]);
  });

  test("a type with no catalog price in a sandbox region is NOT_FOUND naming both", async () => {
    // The 2023-08-06 snapshot has no t3.micro price for eu-central-1.
    const err = await grpcError(estimate(p, { instance_type: "t3.micro", region: "eu-central-1" }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toContain("t3.micro in region eu-central-1");
  });

  test("an unknown instance type is INVALID_ARGUMENT naming instance_type, as CreateInstance answers an unknown type", async () => {
    const err = await grpcError(estimate(p, { instance_type: "t9.enormous", region: "us-east-1" }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("t9.enormous");
    expect(badRequestFields(err)).toEqual(["instance_type"]);
    const create = await grpcError(p.client.call("CreateInstance", { name: "x", type: "t9.enormous", region: "us-east-1" }));
    expect(create.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(create)).toEqual(["type"]);
  });

  test("any type the bundled catalog prices is priced in the sandbox too, not only the sandbox's own types", async () => {
    const res = await estimate(p, { instance_type: "m5.large", region: "us-east-1", duration: "1h" });
    expect(res.cost).toBe(0.096);
  });

  test("an unknown type of a known family hints at the family's types, bounded", async () => {
    const err = await grpcError(estimate(p, { instance_type: "t3.mega", region: "us-east-1" }));
    expect(err.details).toContain("known t3 types: ");
    expect(err.details).toContain("t3.micro");
    expect(err.details.length).toBeLessThan(600);
  });
});

describe("gcp sandbox: bundled Compute Engine catalog", () => {
  let p: TestProvider;
  beforeAll(async () => {
    p = await startTestProvider(gcpProvider, ["--sandbox", "--sandbox-seed-instances", "0"]);
  });
  afterAll(() => p.close());

  test("e2-standard-2 in us-central1 is 0.067006 USD/h, vCPU and memory itemised", async () => {
    const res = await estimate(p, { instance_type: "e2-standard-2", region: "us-central1", duration: "1h" });
    expect(res.hourly_rate).toBe(0.067006);
    expect(res.cost).toBe(0.067006);
    expect(res.price_date).toBe("2023-08-06");
    expect(res.price_source).toStartWith("gce-price-list-snapshot");
    expect(res.breakdown.map((c) => [c.name, c.hourly_rate])).toEqual([
      ["vcpu", 0.043622],
      ["memory", 0.023384],
    ]);
  });

  test("n1-standard-1 is not a sandbox machine type but the catalog prices it, as the real backend does", async () => {
    const res = await estimate(p, { instance_type: "n1-standard-1", region: "us-central1", duration: "1h" });
    expect(res.hourly_rate).toBe(0.0475);
  });

  test("shared-core e2-micro: proration uses the unrounded rate, rounding only in the response", async () => {
    const res = await estimate(p, { instance_type: "e2-micro", region: "us-central1", duration: "1m" });
    expect(res.hourly_rate).toBe(0.008376); // 0.00837575 rounded for display
    // 0.00837575 x 730 = 6.1142975 -> 6.114298; the rounded rate would give 6.11448.
    expect(res.cost).toBe(6.114298);
    expect(res.breakdown[0]!.detail).toContain("shared-core");
  });

  test("us-east1 (absent from the snapshot) is priced at the Americas rate of us-central1", async () => {
    const res = await estimate(p, { instance_type: "e2-standard-2", region: "us-east1" });
    expect(res.hourly_rate).toBe(0.067006);
  });
});

describe("openstack and proxmox sandboxes: demo rate cards, labelled as such", () => {
  test.each([
    [openstackProvider, "m1.medium", 2 * 0.02 + 4 * 0.005],
    [proxmoxProvider, "medium", 2 * 0.015 + 4 * 0.004],
  ] as const)("%#: a priced size whose source says demo", async (def, type, hourly) => {
    const p = await startTestProvider(def, ["--sandbox", "--sandbox-seed-instances", "0"]);
    try {
      const res = await estimate(p, { instance_type: type, duration: "1d" });
      expect(res.hourly_rate).toBeCloseTo(hourly, 12);
      expect(res.cost).toBeCloseTo(hourly * 24, 6);
      expect(res.price_source).toContain("demo rate card");
      expect(res.breakdown.map((c) => c.name)).toEqual(["vcpu", "memory"]);
      // An unknown flavor: the code and hint CreateInstance gives.
      const err = await grpcError(estimate(p, { instance_type: "no-such-flavor" }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["instance_type"]);
      expect(err.details).toContain(type);
    } finally {
      await p.close();
    }
  });
});

describe("operator rate card path (priced like the cloud-mode OpenStack/Proxmox backends)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "skyclust-cost-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const FLAVOR_DISK_GIB: Record<string, number> = { "m1.tiny": 1, "m1.small": 20, "m1.medium": 40, "m1.large": 80 };

  async function serve(card: RateCard | undefined): Promise<TestProvider> {
    const profile = openstackSandboxProfile();
    return startTestServerWithBackend(
      new PricedSandbox(profile, (req) => {
        const flavor = profile.instanceTypes.find((t) => t.name === req.instanceType);
        if (!card) return rateCardQuote(undefined, { name: req.instanceType, vcpus: 0, memoryGiB: 0 });
        if (!flavor) throw new Error("unexpected flavor in test");
        return rateCardQuote(card, { ...flavor, diskGiB: FLAVOR_DISK_GIB[flavor.name] });
      }),
    );
  }

  test("a rate card file with a flavor price and a disk rate, in EUR", async () => {
    const path = join(dir, "card.yaml");
    writeFileSync(path, "source: test cloud list\ndate: 2026-01-15\ncurrency: EUR\nvcpu_hour: 0.02\ngib_hour: 0.005\ndisk_gib_month: 0.073\nflavors:\n  m1.large: { hourly: 0.2 }\n");
    const settings = parseArgs(RATE_CARD_FLAGS, [], { SKYCLUST_RATE_CARD: path }).settings;
    const p = await serve(loadRateCard(settings));
    try {
      const res = await estimate(p, { instance_type: "m1.medium", region: "RegionOne", duration: "1m" });
      // 2 vCPU x 0.02 + 4 GiB x 0.005 + 40 GiB x 0.073 / 730 = 0.04 + 0.02 + 0.004 per hour
      expect(res.hourly_rate).toBeCloseTo(0.064, 12);
      expect(res.cost).toBeCloseTo(46.72, 6);
      expect(res).toMatchObject({ currency: "EUR", price_source: "operator rate card: test cloud list", price_date: "2026-01-15" });
      expect(res.breakdown.map((c) => [c.name, c.cost])).toEqual([
        ["vcpu", 29.2],
        ["memory", 14.6],
        ["root_disk", 2.92],
      ]);
      const flat = await estimate(p, { instance_type: "m1.large", region: "RegionOne", duration: "10h" });
      expect(flat.breakdown.map((c) => c.name)).toEqual(["compute", "root_disk"]);
      expect(flat.cost).toBeCloseTo(2 + (80 * 0.073 * 10) / 730, 6);
    } finally {
      await p.close();
    }
  });

  test("rates from environment variables only", async () => {
    const env = { SKYCLUST_RATE_VCPU_HOUR: "0.01", SKYCLUST_RATE_GIB_HOUR: "0.002", SKYCLUST_RATE_DATE: "2026-03-01" };
    const p = await serve(loadRateCard(parseArgs(RATE_CARD_FLAGS, [], env).settings));
    try {
      const res = await estimate(p, { instance_type: "m1.small", region: "RegionOne", duration: "1h" });
      expect(res.hourly_rate).toBeCloseTo(0.014, 12);
      expect(res).toMatchObject({ price_source: "operator rate card (environment)", price_date: "2026-03-01", currency: "USD" });
    } finally {
      await p.close();
    }
  });

  test("without a rate card the answer is FAILED_PRECONDITION saying how to set one, never a number", async () => {
    expect(loadRateCard(parseArgs(RATE_CARD_FLAGS, [], {}).settings)).toBeUndefined();
    const p = await serve(undefined);
    try {
      const err = await grpcError(estimate(p, { instance_type: "m1.small", region: "RegionOne" }));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toContain("no rate card configured");
      expect(err.details).toContain("SKYCLUST_RATE_CARD");
    } finally {
      await p.close();
    }
  });
});

describe("catalog lookups as the cloud-mode AWS and GCP backends do them", () => {
  let p: TestProvider;
  beforeAll(async () => {
    p = await startTestServerWithBackend(new PricedSandbox(awsSandboxProfile(), (req) => awsPriceQuote(req.instanceType, req.region)));
  });
  afterAll(() => p.close());

  test("an unknown region is NOT_FOUND naming the region", async () => {
    const err = await grpcError(estimate(p, { instance_type: "t3.micro", region: "mars-north-1" }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toContain("region mars-north-1");
  });

  test("an unknown instance type is INVALID_ARGUMENT naming the type and the field", async () => {
    const err = await grpcError(estimate(p, { instance_type: "x9.huge", region: "us-east-1" }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["instance_type"]);
    expect(err.details).toContain("instance type x9.huge");
    expect(err.details).toContain("known families: ");
  });

  test("gcp: an unknown region is NOT_FOUND, an unknown machine type INVALID_ARGUMENT, each naming it", async () => {
    const gcp = await startTestServerWithBackend(new PricedSandbox(gcpSandboxProfile(), (req) => gcpPriceQuote(req.instanceType, req.region)));
    try {
      const region = await grpcError(gcp.client.call("GetCostEstimate", { instance_type: "e2-standard-2", region: "moon-central1" }));
      expect(region.code).toBe(grpc.status.NOT_FOUND);
      expect(region.details).toContain("region moon-central1");
      const type = await grpcError(gcp.client.call("GetCostEstimate", { instance_type: "e2-standard-3", region: "us-central1" }));
      expect(type.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(type)).toEqual(["instance_type"]);
      expect(type.details).toContain("machine type e2-standard-3");
    } finally {
      await gcp.close();
    }
  });

  test("a region the backend knows but AWS does not price the type in still gets a real number elsewhere", async () => {
    expect((await estimate(p, { instance_type: "m5.large", region: "eu-west-1", duration: "1d" })).cost).toBeCloseTo(0.114 * 24, 6);
  });
});
