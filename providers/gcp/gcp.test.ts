// The real GCP backend through a real gRPC client, against a local server
// speaking the Compute Engine v1 REST API (testing/fake-gce.ts, built from
// recorded responses). The provider is started exactly as main does, from
// flags: --endpoint, --credentials-file (a throwaway service-account key
// whose self-signed JWTs the server verifies) or --access-token.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { generateKeyPair } from "../../shared/keys";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { GateProxy } from "../../shared/testing/gate-proxy";
import { sameKeyRace } from "../../shared/testing/same-key-race";
import { gcpProvider } from "./definition";
import { FakeGce, makeServiceAccount, type ServiceAccount } from "./testing/fake-gce";
import { capabilityFlags, capabilityProblems } from "../../shared/testing/capabilities";

const PROJECT = "project_name";
let sa: ServiceAccount;
let fake: FakeGce;
let provider: TestProvider;

async function startProvider(extra: string[] = [], env: Record<string, string> = {}): Promise<TestProvider> {
  return startTestProvider(gcpProvider, ["--endpoint", fake.url, "--region", "us-central1", ...extra], env);
}

beforeAll(async () => {
  sa = makeServiceAccount(PROJECT);
  fake = new FakeGce({ project: PROJECT, serviceAccount: sa, accessToken: "ya29.static-test-token" }).start();
  // GCP_PROJECT_ID unset on purpose: the project comes from the key file.
  provider = await startProvider(["--credentials-file", sa.keyFile]);
});

afterAll(async () => {
  await provider?.close();
  await fake?.stop();
  sa?.cleanup();
});

afterEach(() => {
  fake.unreachableZones.clear();
  fake.forcedPageSize = undefined;
  fake.failures = [];
  fake.pollsBeforeDone = 1;
});

const call = <T = any>(method: string, req: object = {}, opts = {}) => provider.client.call<T>(method, req, { deadlineMs: 20_000, ...opts });

async function listAll(req: Record<string, unknown>) {
  const pages = await provider.client.listPages(req, 50, { deadlineMs: 20_000 });
  return { pages, instances: pages.flatMap((p) => p.instances), unreachable: pages.flatMap((p) => p.unreachable) };
}

describe("regions and provider info", () => {
  test("ListRegions maps regions.list (status UP -> available, zone names)", async () => {
    const res = await call("ListRegions");
    const byId = Object.fromEntries(res.regions.map((r: any) => [r.id, r]));
    expect(Object.keys(byId).sort()).toEqual(["europe-west1", "us-central1", "us-central2"]);
    expect(byId["us-central1"]).toMatchObject({ status: "available", zones: ["us-central1-a", "us-central1-b"] });
    // Every call carried a self-signed JWT the server verified against the key.
    expect(fake.requests.every((r) => r.auth === "jwt")).toBe(true);
  });

  test("GetProviderInfo reports the project and auth kind, never the key", async () => {
    const info = await call("GetProviderInfo");
    expect(info.name).toBe("gcp");
    expect(info.capabilities).toMatchObject({ mode: "cloud", project: PROJECT, auth: "service-account-key" });
    expect(JSON.stringify(info)).not.toContain("PRIVATE KEY");
    expect(capabilityProblems(info.capabilities)).toEqual([]);
    // GCE has no forced stop, its reset is always hard, "*" is one aggregated list, key pairs live in untagged project metadata.
    expect(capabilityFlags(info.capabilities)).toMatchObject({ stop_force: false, restart_force: true, list_all_regions_native: true, key_pair_tags: false, cost_estimates: true });
    expect(info.capabilities.price_source).toBe("catalog");
    expect(info.supported_regions).toContain("us-central2");
  });
});

describe("ListInstances", () => {
  test("a region lists all its zones through aggregatedList with a zone filter; statuses map and keep the raw word", async () => {
    const { instances, pages } = await listAll({ region: "us-central2", page_size: 2 });
    expect(pages.length).toBe(2);
    expect(pages.every((p) => p.instances.length <= 2)).toBe(true);
    expect(pages.at(-1).total_count).toBe(4);
    expect(instances.map((i: any) => i.name).sort()).toEqual([
      "libcloud-demo-multiple-nodes-000",
      "libcloud-demo-multiple-nodes-001",
      "libcloud-demo-np-node",
      "libcloud-demo-persist-node",
    ]);
    const suspended = instances.find((i: any) => i.name === "libcloud-demo-multiple-nodes-001");
    expect(suspended).toMatchObject({ status: "suspended", raw_status: "SUSPENDED", type: "n1-standard-1", zone: "us-central2-a", region: "us-central2", provider: "gcp" });
    const np = instances.find((i: any) => i.name === "libcloud-demo-np-node");
    expect(np).toMatchObject({ id: "18059053700460342373", status: "running", public_ip: "173.255.120.58", private_ip: "10.240.45.206" });
    const sent = fake.requestsTo("GET", /aggregated\/instances$/).at(-1)!;
    expect(sent.query.maxResults).toBe("2");
    expect(sent.query.filter).toContain('(zone eq ".*/zones/us-central2-[a-z]+")');
  });

  test("a zone lists that zone only (instances.list)", async () => {
    const res = await call("ListInstances", { region: "us-central1-a" });
    expect(res.instances.map((i: any) => i.name)).toEqual(["node-name"]);
    expect(fake.requestsTo("GET", /zones\/us-central1-a\/instances$/).length).toBeGreaterThan(0);
  });

  test("page tokens hold a position inside a GCE page larger than page_size", async () => {
    fake.forcedPageSize = 3; // GCE answers 3 per page whatever maxResults says
    const { pages, instances } = await listAll({ region: "us-central2", page_size: 2 });
    expect(pages.map((p) => p.instances.length)).toEqual([2, 2]);
    const names = instances.map((i: any) => i.name);
    expect(new Set(names).size).toBe(4);
    expect(pages[1].total_count).toBe(4);
  });

  test('"*" lists every region across pages; an unreachable zone is reported, not fatal', async () => {
    fake.unreachableZones.add("europe-west1-a");
    const { instances, unreachable, pages } = await listAll({ region: "*", page_size: 3 });
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.every((p) => p.instances.length <= 3)).toBe(true);
    const names = instances.map((i: any) => i.name);
    expect(names).toContain("node-name");
    expect(names).not.toContain("libcloud-demo-europe-np-node");
    expect(new Set(names).size).toBe(names.length);
    expect(unreachable.some((u: string) => u.includes("europe-west1-a"))).toBe(true);
  });

  test("portable filters become a GCE filter: status, name, type, tag", async () => {
    fake.findInstance("libcloud-demo-np-node").labels = { env: "prod" };
    const running = await listAll({ region: "us-central2", filters: { status: "running" } });
    expect(running.instances.length).toBe(3);
    const suspended = await call("ListInstances", { region: "us-central2", filters: { status: "suspended" } });
    expect(suspended.instances.map((i: any) => i.name)).toEqual(["libcloud-demo-multiple-nodes-001"]);
    const byName = await call("ListInstances", { region: "us-central2", filters: { name: "libcloud-demo-np-node" } });
    expect(byName.instances.length).toBe(1);
    const byTag = await call("ListInstances", { region: "us-central2", filters: { "tag:Env": "prod" } });
    expect(byTag.instances.map((i: any) => i.name)).toEqual(["libcloud-demo-np-node"]);
    expect(byTag.instances[0].tags).toEqual({ env: "prod" });
    const byType = await call("ListInstances", { region: "us-central2", filters: { type: "n1-standard-2" } });
    expect(byType.instances.length).toBe(0);
    const none = await call("ListInstances", { region: "us-central2", filters: { status: "terminated" } });
    expect(none).toMatchObject({ instances: [], total_count: 0 });
  });

  test("raw GCE filter text passes through and stands alone", async () => {
    const res = await call("ListInstances", { region: "us-central2", filters: { filter: 'status = "SUSPENDED"' } });
    expect(res.instances.map((i: any) => i.name)).toEqual(["libcloud-demo-multiple-nodes-001"]);
    expect(fake.requestsTo("GET", /aggregated\/instances$/).at(-1)!.query.filter).toBe('status = "SUSPENDED"');
    const mixed = await grpcError(call("ListInstances", { region: "us-central2", filters: { filter: "status = RUNNING", name: "x" } }));
    expect(mixed.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(mixed)).toEqual(["filters[filter]"]);
    const badStatus = await grpcError(call("ListInstances", { region: "us-central2", filters: { status: "sleeping" } }));
    expect(badRequestFields(badStatus)).toEqual(["filters[status]"]);
  });

  test("a region name that is neither region nor zone is INVALID_ARGUMENT", async () => {
    const err = await grpcError(call("ListInstances", { region: "mars" }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["region"]);
    // Well-formed but not a region/zone of the project: not an empty list.
    for (const region of ["asia-south9", "us-central1-f"]) {
      const unknown = await grpcError(call("ListInstances", { region }));
      expect(unknown.code).toBe(status.INVALID_ARGUMENT);
      expect(badRequestFields(unknown)).toEqual(["region"]);
    }
  });
});

describe("image_id from the boot disk", () => {
  // The disk responses are MODELLED from the Compute Engine API reference
  // (compute#disk, compute#diskAggregatedList), not recorded: see FakeGce.disks.
  const DEBIAN = "projects/debian-cloud/global/images/debian-7-wheezy-v20131120";
  const diskCalls = () => fake.requestsTo("GET", /aggregated\/disks$/);
  let fresh: TestProvider;
  beforeAll(async () => {
    // Its own provider, so the disk cache starts empty and calls can be counted.
    fresh = await startProvider(["--credentials-file", sa.keyFile]);
  });
  afterAll(async () => {
    await fresh?.close();
  });
  const listFresh = async (req: Record<string, unknown>) => {
    const pages: any[] = [];
    let token = "";
    do {
      const page = await fresh.client.call<any>("ListInstances", { ...req, page_token: token }, { deadlineMs: 20_000 });
      pages.push(page);
      token = page.next_page_token;
    } while (token && pages.length < 50);
    return { pages, instances: pages.flatMap((p) => p.instances) };
  };

  test("a listing reports each instance's image with one disks call per page, then none (cache)", async () => {
    const before = diskCalls().length;
    const { pages, instances } = await listFresh({ region: "europe-west1", page_size: 2 });
    expect(pages.length).toBe(2);
    const byName = Object.fromEntries(instances.map((i: any) => [i.name, i]));
    expect(byName["libcloud-demo-europe-multiple-nodes-000"].image_id).toBe(DEBIAN);
    expect(byName["libcloud-demo-europe-np-node"].image_id).toBe(DEBIAN);
    expect(byName["libcloud-demo-europe-np-node"].extra.source_image_id).toMatch(/^\d+$/);
    // A boot disk made from a snapshot has no image: it says so instead.
    expect(byName["libcloud-demo-europe-persist-node"].image_id).toBe("");
    expect(byName["libcloud-demo-europe-persist-node"].extra.source_snapshot).toBe(`projects/${PROJECT}/global/snapshots/libcloud-demo-snapshot`);
    // Three instances on two pages: two disk look-ups, each naming only its page's boot disks.
    const calls = diskCalls().slice(before);
    expect(calls.length).toBe(pages.length);
    for (const [i, page] of pages.entries()) {
      const names = page.instances.map((x: any) => x.extra.boot_disk).sort();
      expect(calls[i]!.query.filter).toBe(`name eq "(${names.join("|")})"`);
    }
    // Listed again: the images come from the cache, no disk call at all.
    const again = await listFresh({ region: "europe-west1", page_size: 2 });
    expect(again.instances.map((i: any) => i.image_id)).toEqual(instances.map((i: any) => i.image_id));
    expect(diskCalls().length).toBe(before + calls.length);
  });

  test("a page of hundreds of instances costs a few disk calls, not one per instance", async () => {
    // 120 instances with 60-character names in us-central1-b: their names do
    // not fit one filter expression, so the look-up is split, boundedly.
    const zone = "us-central1-b";
    const template = fake.findInstance("node-name");
    const added: any[] = [];
    for (let n = 0; n < 120; n++) {
      const name = `bulk-${String(n).padStart(3, "0")}-`.padEnd(60, "x");
      const inst = structuredClone(template);
      Object.assign(inst, { name, id: String(9000000000000000000n + BigInt(n)), zone: template.zone.replace("us-central1-a", zone), selfLink: `${template.zone.replace("us-central1-a", zone)}/instances/${name}` });
      inst.disks = [{ ...template.disks[0], source: `${inst.zone}/disks/${name}` }];
      fake.instances.get(zone)!.push(inst);
      fake.addDisk(zone, name, inst.selfLink, { image: `https://www.googleapis.com/compute/v1/projects/my-images/global/images/img-${n}` });
      added.push(inst);
    }
    try {
      const before = diskCalls().length;
      const res = await fresh.client.call<any>("ListInstances", { region: zone, page_size: 500 }, { deadlineMs: 20_000 });
      expect(res.instances.length).toBe(120);
      for (const i of res.instances) expect(i.image_id).toBe(`projects/my-images/global/images/img-${Number(i.name.slice(5, 8))}`);
      const calls = diskCalls().slice(before);
      // 120 names of 60 characters in filters of at most 2000 characters: 4 calls.
      expect(calls.length).toBe(4);
      expect(calls.every((c) => c.query.filter!.length <= 2000)).toBe(true);
    } finally {
      fake.instances.set(zone, fake.instances.get(zone)!.filter((i) => !added.includes(i)));
      fake.disks.set(zone, []);
    }
  });

  test("a failing disk look-up leaves image_id empty and the listing succeeds", async () => {
    // A second provider without a warm cache, and disks.aggregatedList denied.
    const cold = await startProvider(["--credentials-file", sa.keyFile]);
    try {
      fake.failures.push({ method: "GET", path: /aggregated\/disks$/, status: 403, reason: "forbidden", message: "Required 'compute.disks.list' permission for 'projects/project_name'", times: 10 });
      const res = await cold.client.call<any>("ListInstances", { region: "us-central1-a" }, { deadlineMs: 20_000 });
      expect(res.instances.map((i: any) => [i.name, i.image_id])).toEqual([["node-name", ""]]);
      fake.failures = [];
      // The failure was not cached: the next listing asks again and gets it.
      const later = await cold.client.call<any>("ListInstances", { region: "us-central1-a" }, { deadlineMs: 20_000 });
      expect(later.instances[0].image_id).toBe(DEBIAN);
    } finally {
      await cold.close();
    }
  });
});

describe("CreateInstance", () => {
  test("sends the insert body GCE expects and waits for the zone operation", async () => {
    const key = generateKeyPair("ed25519", "deploy");
    await call("ImportKeyPair", { key_pair_name: "deploy", public_key: key.publicKey });
    fake.pollsBeforeDone = 2; // operations.wait returns RUNNING twice: the backend must loop
    const res = await call("CreateInstance", {
      name: "web-1",
      type: "n1-standard-1",
      region: "us-central1",
      zone: "us-central1-b",
      image_id: "projects/debian-cloud/global/images/family/debian-12",
      root_volume_size: 20,
      root_volume_type: "pd-ssd",
      public_ip: true,
      tags: { Env: "prod", team: "infra" },
      security_groups: ["web"],
      user_data: "#!/bin/sh\necho hi\n",
      key_pair_name: "deploy",
      idempotency_key: "create-web-1",
      wait_until_running: true,
    });
    expect(res.instance).toMatchObject({ name: "web-1", status: "running", raw_status: "RUNNING", type: "n1-standard-1", zone: "us-central1-b", region: "us-central1", tags: { env: "prod", team: "infra" }, key_pair_name: "deploy" });
    expect(res.instance.public_ip).toMatch(/^203\.0\.113\./);
    // The family was resolved by GCE to a concrete image; the boot disk records it.
    expect(res.instance.image_id).toBe("projects/debian-cloud/global/images/debian-12-v20240110");
    const [insert] = fake.requestsTo("POST", /zones\/us-central1-b\/instances$/);
    expect(insert!.auth).toBe("jwt");
    expect(insert!.query.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const body = insert!.body;
    expect(body.machineType).toBe("zones/us-central1-b/machineTypes/n1-standard-1");
    expect(body.disks.length).toBe(1);
    expect(body.disks[0]).toMatchObject({
      boot: true,
      autoDelete: true,
      type: "PERSISTENT",
      initializeParams: { sourceImage: "projects/debian-cloud/global/images/family/debian-12", diskSizeGb: "20", diskType: "zones/us-central1-b/diskTypes/pd-ssd" },
    });
    expect(body.labels).toEqual({ env: "prod", team: "infra" });
    expect(body.tags).toEqual({ items: ["web"] });
    expect(body.networkInterfaces).toEqual([{ network: "global/networks/default", accessConfigs: [{ name: "External NAT", type: "ONE_TO_ONE_NAT" }] }]);
    const items = Object.fromEntries(body.metadata.items.map((i: any) => [i.key, i.value]));
    expect(items["startup-script"]).toBe("#!/bin/sh\necho hi\n");
    expect(items["ssh-keys"]).toBe(`deploy:${key.publicKey.split(" ").slice(0, 2).join(" ")} deploy`);
    // The operation answered RUNNING twice before DONE.
    expect(fake.requestsTo("POST", /operations\/[^/]+\/wait$/).length).toBeGreaterThanOrEqual(3);
  });

  test("a retry with the same idempotency key returns the first VM and creates no second one", async () => {
    const req = { name: "idem-1", type: "n1-standard-1", region: "us-central1", idempotency_key: "retry-me" };
    const first = await call("CreateInstance", req);
    const second = await call("CreateInstance", req);
    expect(second.instance.id).toBe(first.instance.id);
    expect(first.instance.zone).toBe("us-central1-a"); // deterministic zone choice
    expect(fake.allInstances().filter((i) => i.name === "idem-1").length).toBe(1);
    const inserts = fake.requestsTo("POST", /zones\/us-central1-a\/instances$/).filter((r) => r.body.name === "idem-1");
    expect(inserts.length).toBe(2);
    expect(inserts[1]!.query.requestId).toBe(inserts[0]!.query.requestId);
  });

  test("20 concurrent creates with one key, one at 0.5 s and 19 at 60 s: one insert, the 19 all get its VM, the short one DEADLINE_EXCEEDED", async () => {
    const proxy = await GateProxy.start(fake.url);
    const viaProxy = await startProvider(["--credentials-file", sa.keyFile, "--endpoint", proxy.url]);
    try {
      const req = { name: "sf-gce", type: "n1-standard-1", region: "us-central1", idempotency_key: "sf-gce-20" };
      // GCE's answer to the insert is held until the short caller has given up.
      const hold = proxy.holdNext((r) => r.method === "POST" && /\/zones\/[^/]+\/instances\?/.test(r.path));
      const { short, ids } = await sameKeyRace(viaProxy.client, req, hold);
      expect(short.code).toBe(status.DEADLINE_EXCEEDED);
      expect(ids.size).toBe(1);
      expect(fake.requestsTo("POST", /zones\/[^/]+\/instances$/).filter((r) => r.body.name === "sf-gce").length).toBe(1);
      expect(fake.allInstances().filter((i) => i.name === "sf-gce").length).toBe(1);
    } finally {
      await viaProxy.close();
      await proxy.stop();
    }
  }, 90_000);

  test("a retry after GCE forgot the requestId still returns the first VM; another key gets ALREADY_EXISTS", async () => {
    const req = { name: "idem-late", type: "n1-standard-1", region: "us-central1-a", idempotency_key: "late-retry" };
    const first = await call("CreateInstance", req);
    fake.forgetRequestIds();
    const again = await call("CreateInstance", req);
    expect(again.instance.id).toBe(first.instance.id);
    const other = await grpcError(call("CreateInstance", { ...req, idempotency_key: "someone-else" }));
    expect(other.code).toBe(status.ALREADY_EXISTS);
    expect(fake.allInstances().filter((i) => i.name === "idem-late").length).toBe(1);
  });

  test("a transient failure while waiting never re-sends the insert", async () => {
    fake.failures = [{ method: "POST", path: /operations\/[^/]+\/wait$/, status: 503, reason: "backendError", times: 2 }];
    const res = await call("CreateInstance", { name: "flaky-wait", type: "g1-small", region: "us-central1-a" });
    expect(res.instance.name).toBe("flaky-wait");
    expect(fake.requestsTo("POST", /instances$/).filter((r) => r.body.name === "flaky-wait").length).toBe(1);
  });

  test("operation errors map to gRPC codes with the reason kept", async () => {
    fake.nextInsertError = { code: "ZONE_RESOURCE_POOL_EXHAUSTED", message: "The zone 'projects/project_name/zones/us-central1-a' does not have enough resources available to fulfill the request.", http: 503 };
    const pool = await grpcError(call("CreateInstance", { name: "no-room", type: "n1-standard-1", region: "us-central1-a" }));
    expect(pool.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(pool.details).toContain("ZONE_RESOURCE_POOL_EXHAUSTED");
    fake.nextInsertError = { code: "QUOTA_EXCEEDED", message: "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.", http: 403 };
    const quota = await grpcError(call("CreateInstance", { name: "no-quota", type: "n1-standard-1", region: "us-central1-a" }));
    expect(quota.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(quota.details).toContain("QUOTA_EXCEEDED");
    expect(fake.findInstance("no-room")).toBeUndefined();
  });

  test("GCE label rules and names are checked before any insert", async () => {
    const before = fake.requestsTo("POST", /instances$/).length;
    const bad = await grpcError(call("CreateInstance", { name: "lbl", type: "n1-standard-1", tags: { Owner: "Alice Smith" } }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(bad)).toEqual(["tags[Owner]"]);
    const name = await grpcError(call("CreateInstance", { name: "Bad_Name", type: "n1-standard-1" }));
    expect(badRequestFields(name)).toEqual(["name"]);
    const zone = await grpcError(call("CreateInstance", { name: "zoneless", type: "n1-standard-1", region: "us-central1", zone: "us-central1-q" }));
    expect(badRequestFields(zone)).toEqual(["zone"]);
    const region = await grpcError(call("CreateInstance", { name: "regionless", type: "n1-standard-1", region: "asia-south9" }));
    expect(badRequestFields(region)).toEqual(["region"]);
    expect(fake.requestsTo("POST", /instances$/).length).toBe(before);
  });

  test("a 400 from GCE names the field; a taken name without a key is ALREADY_EXISTS", async () => {
    const type = await grpcError(call("CreateInstance", { name: "bogus-type", type: "n9-imaginary", region: "us-central1-a" }));
    expect(type.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(type)).toEqual(["type"]);
    const taken = await grpcError(call("CreateInstance", { name: "node-name", type: "n1-standard-1", region: "us-central1-a" }));
    expect(taken.code).toBe(status.ALREADY_EXISTS);
  });
});

describe("instance actions", () => {
  test("stop, start, reset and delete wait for their operations; ids, names and ZONE/NAME all resolve", async () => {
    const id = "4006034190819017667"; // node-name in us-central1-a
    await call("StopInstance", { instance_id: id, region: "us-central1" });
    expect(await call("GetInstanceStatus", { instance_id: id, region: "us-central1" })).toMatchObject({ instance_id: id, status: "stopped", raw_status: "TERMINATED" });
    await call("StartInstance", { instance_id: "node-name", region: "us-central1" });
    expect((await call("GetInstanceStatus", { instance_id: "us-central1-a/node-name" })).status).toBe("running");
    const reset = await call("RestartInstance", { instance_id: "node-name", region: "us-central1-a" });
    expect(reset).toMatchObject({ success: true });
    expect(fake.requestsTo("POST", /instances\/node-name\/reset$/).length).toBe(1);
    await call("DeleteInstance", { instance_id: id, region: "us-central1" });
    const gone = await grpcError(call("GetInstanceStatus", { instance_id: id, region: "us-central1" }));
    expect(gone.code).toBe(status.NOT_FOUND);
    const missing = await grpcError(call("StopInstance", { instance_id: "no-such-vm", region: "us-central1-a" }));
    expect(missing.code).toBe(status.NOT_FOUND);
  });

  test("the caller's deadline stops the wait and nothing keeps polling afterwards", async () => {
    fake.pollsBeforeDone = 1_000_000;
    const err = await grpcError(call("StopInstance", { instance_id: "libcloud-demo-np-node", region: "us-central2" }, { deadlineMs: 1500 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    // The client's timer can fire before the server's: wait for the server to
    // log the call's end, then give a poll sent just before it time to land.
    // (It logs DEADLINE_EXCEEDED, or CANCELLED when the client's RST_STREAM came first.)
    const ended = () => provider.logs.some((l) => l.includes('"msg":"rpc"') && l.includes('"method":"StopInstance"') && /"code":"(DEADLINE_EXCEEDED|CANCELLED)"/.test(l));
    for (let i = 0; i < 200 && !ended(); i++) await Bun.sleep(25);
    expect(ended()).toBe(true);
    await Bun.sleep(300);
    const polls = fake.requestsTo("POST", /operations\/[^/]+\/wait$/).length;
    await Bun.sleep(700);
    expect(fake.requestsTo("POST", /operations\/[^/]+\/wait$/).length).toBe(polls);
  });

  test("Google API errors map to gRPC codes", async () => {
    fake.failures = [{ method: "GET", path: /regions$/, status: 403, reason: "forbidden", message: "Required 'compute.regions.list' permission" }];
    const denied = await grpcError(call("ListRegions"));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(denied.details).toContain("forbidden");
    fake.failures = [{ method: "GET", path: /regions$/, status: 429, reason: "rateLimitExceeded", times: 5 }];
    expect((await grpcError(call("ListRegions"))).code).toBe(status.RESOURCE_EXHAUSTED);
    fake.failures = [{ method: "GET", path: /regions$/, status: 503, reason: "backendError", times: 5 }];
    expect((await grpcError(call("ListRegions"))).code).toBe(status.UNAVAILABLE);
    // One transient failure is retried (a read is safe to repeat).
    fake.failures = [{ method: "GET", path: /regions$/, status: 503, reason: "backendError", times: 1 }];
    expect((await call("ListRegions")).regions.length).toBe(3);
  });
});

describe("key pairs in project metadata ssh-keys", () => {
  test("create returns the private key once; list, duplicate, delete", async () => {
    const created = await call("CreateKeyPair", { key_pair_name: "alice", key_type: "ed25519" });
    expect(created.private_key).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(created.key_pair).toMatchObject({ key_pair_name: "alice", key_type: "ed25519", region: "global" });
    expect(created.key_pair.key_pair_id).toBe(created.key_pair.fingerprint);
    expect(fake.sshKeysValue()).toContain("alice:ssh-ed25519 ");
    expect(fake.sshKeysValue()).not.toContain("PRIVATE");
    const list = await call("ListKeyPairs", { filters: { name: "alice" } });
    expect(list.key_pairs.map((k: any) => k.key_pair_name)).toEqual(["alice"]);
    const dup = await grpcError(call("ImportKeyPair", { key_pair_name: "alice", public_key: generateKeyPair("ed25519", "x").publicKey }));
    expect(dup.code).toBe(status.ALREADY_EXISTS);
    await call("DeleteKeyPair", { key_pair_name: "alice" });
    expect(fake.sshKeysValue() ?? "").not.toContain("alice:");
    expect((await grpcError(call("DeleteKeyPair", { key_pair_name: "alice" }))).code).toBe(status.NOT_FOUND);
    // The legacy item from the recording survives every rewrite.
    expect(fake.projectResource.commonInstanceMetadata.items.some((i: any) => i.key === "sshKeys")).toBe(true);
  });

  test("a concurrent metadata update (412) is re-read and re-applied, losing nothing", async () => {
    fake.beforeMetadataWrite = () => fake.writeMetadataItem("other-tool", "written concurrently");
    const key = generateKeyPair("rsa", "bob");
    const res = await call("ImportKeyPair", { key_pair_name: "bob", public_key: key.publicKey });
    expect(res.key_pair).toMatchObject({ key_pair_name: "bob", key_type: "rsa" });
    const writes = fake.requestsTo("POST", /setCommonInstanceMetadata$/).slice(-2);
    expect(writes.length).toBe(2);
    expect(writes[0]!.body.fingerprint).not.toBe(writes[1]!.body.fingerprint);
    const items = fake.projectResource.commonInstanceMetadata.items;
    expect(items.find((i: any) => i.key === "other-tool")?.value).toBe("written concurrently");
    expect(fake.sshKeysValue()).toContain("bob:ssh-rsa ");
  });

  test("parallel imports all land", async () => {
    const names = ["carol", "dave", "erin"];
    await Promise.all(names.map((n) => call("ImportKeyPair", { key_pair_name: n, public_key: generateKeyPair("ed25519", n).publicKey })));
    const listed = (await call("ListKeyPairs")).key_pairs.map((k: any) => k.key_pair_name);
    for (const n of names) expect(listed).toContain(n);
  });

  test("names must be Linux users; tags are refused (UNIMPLEMENTED) rather than dropped", async () => {
    const bad = await grpcError(call("ImportKeyPair", { key_pair_name: "Bob@Laptop", public_key: generateKeyPair("ed25519", "x").publicKey }));
    expect(badRequestFields(bad)).toEqual(["key_pair_name"]);
    const tags = await grpcError(call("CreateKeyPair", { key_pair_name: "frank", tags: { a: "b" } }));
    expect(tags.code).toBe(status.UNIMPLEMENTED);
  });
});

describe("credentials and settings", () => {
  test("without a project or key file the provider refuses to start and points at --sandbox", async () => {
    const err = await startTestProvider(gcpProvider, [], {}).then(
      (p) => (p.close(), new Error("started")),
      (e: Error) => e,
    );
    expect(err.message).toContain("GCP_PROJECT_ID");
    expect(err.message).toContain("--sandbox");
  });

  test("GCP_ENDPOINT must be an http(s) URL without a path", async () => {
    const { parseEndpoint } = await import("./credentials");
    expect(parseEndpoint("http://127.0.0.1:8080")).toEqual({ host: "127.0.0.1", port: 8080, protocol: "http" });
    expect(parseEndpoint("compute.googleapis.com")).toEqual({ host: "compute.googleapis.com", port: 443, protocol: "https" });
    expect(() => parseEndpoint("http://127.0.0.1:8080/compute/v1")).toThrow("path");
    expect(() => parseEndpoint("ftp://x")).toThrow("http");
  });

  test("HealthCheck probes the API and reports a failure without throwing", async () => {
    expect(await call("HealthCheck")).toMatchObject({ healthy: true });
    fake.failures = [{ method: "GET", path: /regions\/us-central1$/, status: 503, reason: "backendError", times: 1 }];
    const sick = await call("HealthCheck");
    expect(sick.healthy).toBe(false);
    expect(sick.checks.cloud_api).toContain("UNAVAILABLE");
  });

  test("GOOGLE_OAUTH_ACCESS_TOKEN is sent as a bearer token", async () => {
    const p = await startProvider([], { GOOGLE_OAUTH_ACCESS_TOKEN: "ya29.static-test-token", GCP_PROJECT_ID: PROJECT });
    try {
      const n = fake.requests.length;
      expect((await p.client.call("ListRegions")).regions.length).toBe(3);
      expect(fake.requests.slice(n).every((r) => r.auth === "token")).toBe(true);
      expect(p.logs.join("\n")).not.toContain("static-test-token");
    } finally {
      await p.close();
    }
  });

  test("a key the server does not know, or a wrong token, is UNAUTHENTICATED", async () => {
    const stranger = makeServiceAccount(PROJECT);
    const p = await startProvider(["--credentials-file", stranger.keyFile]);
    const q = await startProvider(["--project", PROJECT], { GOOGLE_OAUTH_ACCESS_TOKEN: "ya29.wrong" });
    try {
      expect((await grpcError(p.client.call("ListRegions"))).code).toBe(status.UNAUTHENTICATED);
      const err = await grpcError(q.client.call("ListRegions"));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.details).not.toContain("ya29");
    } finally {
      await p.close();
      await q.close();
      stranger.cleanup();
    }
  });
});

test("GetCostEstimate prices the machine type from the bundled catalog", async () => {
  const res = await call("GetCostEstimate", { instance_type: "n1-standard-1", region: "us-central1", duration: "1h" });
  expect(res.cost).toBeGreaterThan(0);
  expect(res.price_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  const unknown = await grpcError(call("GetCostEstimate", { instance_type: "zz-nothing-9", region: "us-central1" }));
  expect(unknown.code).toBe(status.INVALID_ARGUMENT);
  expect(badRequestFields(unknown)).toEqual(["instance_type"]);
});
