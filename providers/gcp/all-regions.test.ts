// Region "*" on GCE is answered natively: one unfiltered aggregatedList per
// page answers for every zone, instead of one region-filtered call per
// region. Counted at the recorded Compute Engine server (testing/fake-gce.ts)
// through a real gRPC client; forged cursors must cost no cloud call at all.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { encodePageToken, queryFingerprint } from "../../shared/server/page-token";
import { forgeFanoutToken } from "../../shared/testing/forge";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { gcpProvider } from "./definition";
import { FakeGce } from "./testing/fake-gce";

const PROJECT = "project_name";
const TOKEN = "ya29.static-test-token";
let fake: FakeGce;
let provider: TestProvider;

beforeAll(async () => {
  fake = new FakeGce({ project: PROJECT, accessToken: TOKEN }).start();
  provider = await startTestProvider(gcpProvider, ["--endpoint", fake.url, "--region", "us-central1", "--metrics-addr", "127.0.0.1:0"], {
    GOOGLE_OAUTH_ACCESS_TOKEN: TOKEN,
    GCP_PROJECT_ID: PROJECT,
  });
});

afterAll(async () => {
  await provider?.close();
  await fake?.stop();
});

afterEach(() => {
  fake.unreachableZones.clear();
  fake.forcedPageSize = undefined;
});

const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 20_000 });
const instanceCalls = () => fake.requests.filter((r) => /\/aggregated\/instances$|\/zones\/[^/]+\/instances$/.test(r.path) && r.method === "GET");
/** skyclust_page_tokens_rejected_total for ListInstances, from the provider's /metrics. */
async function tokensRejected(): Promise<number> {
  const text = await (await fetch(`http://${provider.started.metrics!.address}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("skyclust_page_tokens_rejected_total{") && l.includes('grpc_method="ListInstances"'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}
/** What an attacker can build without a secret: a "*" token around any cursor. */
const forged = (cursor: string) => encodePageToken({ cursor, seen: 0 }, queryFingerprint("*", {}));

describe('region "*" on GCE', () => {
  test("one page of the whole project costs one aggregatedList, unfiltered, and no regions call", async () => {
    const regions = new Set(fake.regions.map((r: any) => r.name));
    expect(regions.size).toBeGreaterThan(1); // the fan-out would have made one call per region
    const before = fake.requests.length;
    const page = await call("ListInstances", { region: "*", page_size: 500 });
    const sent = fake.requests.slice(before);
    const listed = sent.filter((r) => /\/aggregated\/instances$|\/instances$/.test(r.path) && r.method === "GET");
    expect(listed.map((r) => r.path)).toEqual([`/compute/v1/projects/${PROJECT}/aggregated/instances`]);
    expect(listed[0]!.query.filter).toBeUndefined();
    expect(sent.filter((r) => /\/regions$/.test(r.path)).length).toBe(0);
    const expected = fake.allInstances().map((i: any) => i.name).sort();
    expect(page.instances.map((i: any) => i.name).sort()).toEqual(expected);
    // Instances of more than one region came from that one call.
    expect(new Set(page.instances.map((i: any) => i.region)).size).toBeGreaterThan(1);
    expect(page.total_count).toBe(expected.length);
    expect(page.next_page_token).toBe("");
  });

  test("a walk in small pages: one aggregatedList per page, never more than page_size, every instance once", async () => {
    fake.unreachableZones.add("europe-west1-a");
    const before = instanceCalls().length;
    const pages = await provider.client.listPages({ region: "*", page_size: 2 }, 50, { deadlineMs: 20_000 });
    expect(instanceCalls().length - before).toBe(pages.length);
    expect(pages.every((p) => p.instances.length <= 2)).toBe(true);
    const names = pages.flatMap((p) => p.instances.map((i: any) => i.name));
    expect(new Set(names).size).toBe(names.length);
    const reachable = fake.allInstances().filter((i: any) => !i.zone.endsWith("/zones/europe-west1-a"));
    expect(names.sort()).toEqual(reachable.map((i: any) => i.name).sort());
    expect(pages.at(-1).total_count).toBe(reachable.length);
    // The unreachable zone is reported, as a region listing reports it.
    expect(pages[0].unreachable.some((u: string) => u.startsWith("europe-west1-a:"))).toBe(true);
  });

  test("a position inside a GCE page larger than page_size survives in the token", async () => {
    fake.forcedPageSize = 3;
    const pages = await provider.client.listPages({ region: "*", page_size: 2 }, 50, { deadlineMs: 20_000 });
    const names = pages.flatMap((p) => p.instances.map((i: any) => i.name));
    expect(pages.every((p) => p.instances.length <= 2)).toBe(true);
    expect(names.sort()).toEqual(fake.allInstances().map((i: any) => i.name).sort());
  });

  test("portable filters reach GCE without a zone term", async () => {
    const before = instanceCalls().length;
    const res = await call("ListInstances", { region: "*", filters: { status: "suspended" } });
    expect(res.instances.map((i: any) => i.name)).toEqual(["libcloud-demo-multiple-nodes-001"]);
    const sent = instanceCalls().slice(before);
    expect(sent.length).toBe(1);
    expect(sent[0]!.query.filter).toBe('(status eq "SUSPENDED")');
  });
});

describe('forged "*" page tokens on GCE: INVALID_ARGUMENT before any cloud call', () => {
  const cases: [string, string][] = [
    ["not JSON", "garbage"],
    ["a multi-region fan-out cursor", JSON.parse(Buffer.from(forgeFanoutToken([["us-central1", null, 0]]).split(".")[1]!, "base64url").toString()).c],
    ["an oversized GCE page token", JSON.stringify({ t: "x".repeat(100_000), s: 0 })],
    ["an empty GCE page token", JSON.stringify({ t: "", s: 0 })],
    ["a position beyond any GCE page", JSON.stringify({ t: null, s: 1_000_000 })],
    ["a negative position", JSON.stringify({ t: null, s: -1 })],
  ];
  for (const [what, cursor] of cases) {
    test(what, async () => {
      const before = fake.requests.length;
      const rejected = await tokensRejected();
      const err = await grpcError(call("ListInstances", { region: "*", page_size: 500, page_token: forged(cursor) }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain("page_token");
      expect(fake.requests.length).toBe(before);
      // Refused by the backend's own cursor check, and still counted on the dashboard.
      expect(await tokensRejected()).toBe(rejected + 1);
    });
  }
});
