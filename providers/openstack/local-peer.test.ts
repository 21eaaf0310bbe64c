// What the real testbed cannot show, against a local Keystone/Nova/Glance
// serving the recorded fixtures, through a real gRPC client: token renewal
// on 401 and before expiry (one renewal for concurrent calls), a second
// region in the catalog, other microversions, throttling with Retry-After,
// 5xx, and the mapping of recorded server documents.
import { afterEach, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { createLogger } from "../../shared/log";
import { makeTestPki } from "../../shared/testing/certs";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { startTestServerWithBackend, type TestProvider } from "../../shared/testing/harness";
import { OpenStackBackend, type OpenStackBackendOptions } from "./backend";
import type { OpenStackConfig } from "./cloud-config";
import { claimName } from "./create-claims";
import { FakeOpenStack, type FakeOpenStackOptions } from "./testing/fake-openstack";

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Setup {
  fake: FakeOpenStack;
  provider: TestProvider;
  backend: OpenStackBackend;
  logs: string[];
}

async function setup(
  fakeOpts: FakeOpenStackOptions = {},
  backendOpts: OpenStackBackendOptions = {},
  password = PASSWORD,
  tlsConfig: Partial<OpenStackConfig> = {},
): Promise<Setup> {
  const fake = new FakeOpenStack({ password: PASSWORD, ...fakeOpts }).start();
  cleanups.push(() => fake.stop());
  const config: OpenStackConfig = {
    authUrl: `${fake.url}/identity/v3`,
    auth: { kind: "password", username: "admin", userDomainId: "default", password, projectName: "admin", projectDomainId: "default" },
    region: "regionOne",
    interface: "public",
    insecure: false,
    ...tlsConfig,
  };
  const logs: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => logs.push(l) });
  const backend = new OpenStackBackend(config, log, {
    ...backendOpts,
    transport: { retryDelayMs: 5, maxRetryAfterMs: 5000, ...backendOpts.transport },
  });
  const provider = await startTestServerWithBackend(backend);
  cleanups.push(() => provider.close());
  return { fake, provider, backend, logs };
}

const list = (s: Setup, req: object = { region: "regionOne" }) => s.provider.client.call("ListInstances", req, { deadlineMs: 30_000 });

describe("recorded Nova documents", () => {
  test("v2.1 servers: flavor id resolved to its name, addresses, metadata, zone", async () => {
    const s = await setup({ maxVersion: "2.30" });
    const { instances } = await list(s);
    expect(instances).toHaveLength(1);
    const i = instances[0];
    expect(i.id).toBe("f5dc173b-6804-445a-a6d8-c705dad5b5eb");
    expect(i.name).toBe("new-server-test");
    expect(i.status).toBe("running");
    expect(i.raw_status).toBe("ACTIVE");
    expect(i.type).toBe("m1.tiny");
    expect(i.extra.flavor_id).toBe("1");
    expect(i.zone).toBe("us-west");
    expect(i.private_ip).toBe("192.168.1.30");
    expect(i.public_ip).toBe("1.2.3.4");
    expect(i.image_id).toBe("70a599e0-31e7-49b7-b260-868f441e862b");
    expect(i.tags).toEqual({ "My Server Name": "Apache1" });
    // From Glance: the SSH defaults read image_name; os_admin_user is the backend's login hint.
    expect(i.extra.image_name).toBe("cirros");
    expect(i.extra.image_login_user).toBe("cirros");
    expect(s.backend.sshUserHint({ ...i, extra: i.extra } as never)).toBe("cirros");
    expect(new Date(Number(i.created_at.seconds) * 1000).toISOString()).toBe("2013-09-03T04:01:32.000Z");
  });

  test("v2.47+ servers carry the flavor itself (original_name)", async () => {
    const s = await setup({ maxVersion: "2.60" });
    const [i] = (await list(s)).instances;
    expect(i.type).toBe("m1.tiny.specs");
    expect(i.extra.vcpus).toBe("1");
    expect(i.extra.memory_mb).toBe("512");
    // The flavor list is not needed (and not fetched) at this microversion.
    expect(s.fake.computeRequests().some((r) => r.path.endsWith("/flavors/detail"))).toBe(false);
  });
});

describe("microversions", () => {
  test("the highest both sides support is sent on every compute call", async () => {
    const s = await setup({ maxVersion: "2.104" });
    await list(s);
    await list(s, { region: "regionOne", filters: { status: "running" } });
    const calls = s.fake.computeRequests().filter((r) => r.path !== "/compute/regionOne/v2.1/");
    expect(calls.length).toBeGreaterThan(1);
    for (const c of calls) expect(c.microversion).toBe("compute 2.100");
  });

  test("an older Nova gets its own maximum; a legacy endpoint gets no header", async () => {
    const older = await setup({ maxVersion: "2.30" });
    await list(older);
    for (const c of older.fake.computeRequests().filter((r) => r.path.endsWith("/servers/detail"))) expect(c.microversion).toBe("compute 2.30");
    const legacy = await setup({ maxVersion: "" });
    await list(legacy);
    for (const c of legacy.fake.computeRequests().filter((r) => r.path.endsWith("/servers/detail"))) expect(c.microversion).toBeUndefined();
  });

  test("create: networks none at 2.37+, left out before; flavor/image by name; user data, metadata, volume", async () => {
    const s = await setup({ maxVersion: "2.104" });
    await s.provider.client.call("CreateInstance", {
      name: "web-1",
      type: "m1.small",
      image_id: "cirros",
      region: "regionOne",
      zone: "us-west",
      tags: { env: "prod" },
      user_data: "#!/bin/sh\necho hi\n",
      key_pair_name: "ops",
      security_groups: ["default"],
      root_volume_size: 20,
      root_volume_type: "ssd",
      idempotency_key: "k-1",
    });
    const post = s.fake.requests.find((r) => r.method === "POST" && r.path.endsWith("/servers"))!.body.server;
    expect(post.networks).toBe("none");
    expect(post.flavorRef).toBe("2");
    expect(post.imageRef).toBeUndefined();
    expect(post.block_device_mapping_v2).toEqual([
      { boot_index: 0, uuid: "70a599e0-31e7-49b7-b260-868f441e862b", source_type: "image", destination_type: "volume", volume_size: 20, delete_on_termination: true, volume_type: "ssd" },
    ]);
    expect(Buffer.from(post.user_data, "base64").toString()).toBe("#!/bin/sh\necho hi\n");
    expect(post.metadata).toEqual({ env: "prod", "skyclust:idempotency-key": "k-1" });
    expect(post.tags).toHaveLength(1);
    expect(post.key_name).toBe("ops");
    expect(post.security_groups).toEqual([{ name: "default" }]);
    expect(post.availability_zone).toBe("us-west");
    // The idempotency lookup ran before the create, by tag.
    const lookup = s.fake.requests.find((r) => r.path.endsWith("/servers/detail") && r.query.get("tags"));
    expect(lookup?.query.get("tags")).toBe(post.tags[0]);

    const old = await setup({ maxVersion: "2.30" });
    await old.provider.client.call("CreateInstance", { name: "web-1", type: "1", image_id: "70a599e0-31e7-49b7-b260-868f441e862b", region: "regionOne" });
    const oldPost = old.fake.requests.find((r) => r.method === "POST" && r.path.endsWith("/servers"))!.body.server;
    expect("networks" in oldPost).toBe(false);
    expect(oldPost.imageRef).toBe("70a599e0-31e7-49b7-b260-868f441e862b");
    const volumeType = await grpcError(old.provider.client.call("CreateInstance", { name: "w", type: "1", image_id: "cirros", region: "regionOne", root_volume_size: 5, root_volume_type: "ssd" }));
    expect(badRequestFields(volumeType)).toEqual(["root_volume_type"]);
  });
});

describe("server actions", () => {
  test("restart is a SOFT reboot, HARD with force; stop and start use os-stop/os-start", async () => {
    const s = await setup();
    const id = "f5dc173b-6804-445a-a6d8-c705dad5b5eb";
    const soft = await s.provider.client.call("RestartInstance", { instance_id: id, region: "regionOne" });
    const hard = await s.provider.client.call("RestartInstance", { instance_id: id, region: "regionOne", force: true });
    await s.provider.client.call("StopInstance", { instance_id: id, region: "regionOne" });
    await s.provider.client.call("StartInstance", { instance_id: id, region: "regionOne" });
    expect(soft.message).toContain("SOFT");
    expect(hard.message).toContain("HARD");
    const bodies = s.fake.requests.filter((r) => r.path.endsWith(`/servers/${id}/action`)).map((r) => r.body);
    expect(bodies).toEqual([{ reboot: { type: "SOFT" } }, { reboot: { type: "HARD" } }, { "os-stop": null }, { "os-start": null }]);
  });
});

describe("idempotent create claims", () => {
  const create = (s: Setup, key: string) =>
    s.provider.client.call("CreateInstance", { name: "c", type: "m1.tiny", image_id: "cirros", region: "regionOne", idempotency_key: key }, { deadlineMs: 30_000 });
  const posts = (s: Setup) => s.fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/servers")).length;
  const claimReads = (s: Setup, name: string) => s.fake.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/os-keypairs/${name}`)).length;
  async function until(what: string, cond: () => boolean) {
    for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(20);
    if (!cond()) throw new Error(`never happened: ${what}`);
  }

  test("the create runs while holding a key pair claim, which is removed afterwards", async () => {
    const s = await setup({}, { claims: { pollMs: 20 } });
    await create(s, "k-own");
    expect(posts(s)).toBe(1);
    const claim = claimName("regionOne", "k-own");
    const order = s.fake.requests.filter((r) => r.path.includes(claim) || r.path.endsWith("/os-keypairs") || (r.method === "POST" && r.path.endsWith("/servers"))).map((r) => `${r.method} ${r.path.replace(/.*\/v2\.1/, "")}`);
    expect(order).toEqual(["POST /os-keypairs", "POST /servers", `DELETE /os-keypairs/${claim}`]);
    expect(s.fake.keypairs.size).toBe(0);
  });

  test("a claim held elsewhere makes the create wait instead of creating a twin", async () => {
    const s = await setup({}, { claims: { pollMs: 20 } });
    const claim = claimName("regionOne", "k-held");
    s.fake.keypairs.set(claim, { name: claim, fingerprint: "x", created_at: new Date().toISOString().replace("Z", "") });
    const pending = create(s, "k-held");
    await until("the waiting create polled the claim three times", () => claimReads(s, claim) >= 3);
    expect(posts(s)).toBe(0);
    // The holder finishes (here: gives up without creating); the waiter takes over.
    s.fake.keypairs.delete(claim);
    await pending;
    expect(posts(s)).toBe(1);
    expect(s.fake.keypairs.size).toBe(0);
  });

  test("a stale claim from a crashed creator is broken", async () => {
    const s = await setup({}, { claims: { pollMs: 20 } });
    const claim = claimName("regionOne", "k-stale");
    s.fake.keypairs.set(claim, { name: claim, fingerprint: "x", created_at: "2014-05-07T12:06:13.681238" });
    await create(s, "k-stale");
    expect(posts(s)).toBe(1);
    expect(s.fake.requests.filter((r) => r.method === "DELETE" && r.path.endsWith(`/os-keypairs/${claim}`)).length).toBe(2);
  });

  test("claims never show in ListKeyPairs", async () => {
    const s = await setup();
    const claim = claimName("regionOne", "k-list");
    s.fake.keypairs.set(claim, { name: claim, fingerprint: "x" });
    const { key_pairs } = await s.provider.client.call("ListKeyPairs", { region: "regionOne" });
    expect(key_pairs.map((k: any) => k.key_pair_name)).toEqual(["keypair-50ca852e-273f-4cdc-8949-45feba200837"]);
  });
});

describe("tokens", () => {
  test("a 401 from Nova renews the token once and repeats the call", async () => {
    const s = await setup();
    await list(s);
    expect(s.fake.authCount).toBe(1);
    s.fake.revokeAll();
    const { instances } = await list(s);
    expect(instances).toHaveLength(1);
    expect(s.fake.authCount).toBe(2);
    // (The recorded page has a "next" link; its follow-up carries a marker.)
    const details = s.fake.requests.filter((r) => r.path.endsWith("/servers/detail") && !r.query.get("marker"));
    expect(details.map((r) => [r.token, r.status])).toEqual([
      ["tok-1", 200],
      ["tok-1", 401],
      ["tok-2", 200],
    ]);
  });

  test("a token that keeps failing is UNAUTHENTICATED after one renewal, not a loop", async () => {
    const s = await setup();
    s.fake.fail({ path: /servers\/detail$/, times: Infinity, status: 401, body: { error: { code: 401, message: "The request you have made requires authentication.", title: "Unauthorized" } } });
    const err = await grpcError(list(s));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(s.fake.authCount).toBe(2);
  });

  test("renews before expires_at without waiting for a 401, and concurrent calls share one renewal", async () => {
    let now = Date.now();
    const s = await setup({ authDelayMs: 200 }, { identity: { now: () => now } });
    await list(s);
    expect(s.fake.authCount).toBe(1);
    // 56 minutes into a one-hour token: inside the five-minute margin.
    now += 56 * 60_000;
    await Promise.all(Array.from({ length: 5 }, () => list(s)));
    expect(s.fake.authCount).toBe(2);
    expect(s.fake.requests.filter((r) => r.status === 401)).toEqual([]);
    // The fresh token is used afterwards.
    const last = s.fake.requests.filter((r) => r.path.endsWith("/servers/detail")).at(-1)!;
    expect(last.token).toBe("tok-2");
  });

  test("wrong password: UNAUTHENTICATED; the password is in no error and no log line", async () => {
    const wrong = `wrong-${PASSWORD}`;
    const s = await setup({}, {}, wrong);
    const err = await grpcError(list(s));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.details).not.toContain(wrong);
    expect(s.logs.join("\n")).not.toContain(wrong);
    expect(s.provider.logs.join("\n")).not.toContain(wrong);
  });
});

describe("regions", () => {
  test("a second region in the catalog is listed and served by its own endpoint", async () => {
    const s = await setup();
    const { regions } = await s.provider.client.call("ListRegions");
    expect(regions.map((r: any) => [r.id, r.status])).toEqual([
      ["RegionTwo", "available"],
      ["regionOne", "available"],
    ]);
    const two = await list(s, { region: "RegionTwo" });
    expect(two.instances[0].region).toBe("RegionTwo");
    expect(s.fake.requests.some((r) => r.path === "/compute/RegionTwo/v2.1/servers/detail")).toBe(true);

    const all = await list(s, { region: "*" });
    expect(all.instances.map((i: any) => i.region).sort()).toEqual(["RegionTwo", "regionOne"]);

    const err = await grpcError(list(s, { region: "RegionThree" }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["region"]);
    expect(err.details).toContain("RegionTwo, regionOne");
  });
});

describe("throttling and outages", () => {
  const overLimit = (retryAfter?: string) => ({ overLimit: { code: 413, message: "This request was rate-limited.", ...(retryAfter ? { retryAfter } : {}) } });

  test("429 with Retry-After is waited out, then the call succeeds", async () => {
    const s = await setup();
    await list(s);
    s.fake.fail({ path: /servers\/detail$/, times: 2, status: 429, headers: { "Retry-After": "1" }, body: overLimit() });
    const { instances } = await list(s);
    expect(instances).toHaveLength(1);
    const firstPages = s.fake.requests.filter((r) => r.path.endsWith("/servers/detail") && !r.query.get("marker"));
    expect(firstPages.map((r) => r.status)).toEqual([200, 429, 429, 200]);
    expect(s.logs.some((l) => l.includes("backing off"))).toBe(true);
  });

  test("413 with Nova's retryAfter in the body counts as throttling too", async () => {
    const s = await setup();
    s.fake.fail({ path: /servers\/detail$/, times: 1, status: 413, body: overLimit("1") });
    expect((await list(s)).instances).toHaveLength(1);
  });

  test("throttling that does not end is RESOURCE_EXHAUSTED after a bounded number of tries", async () => {
    const s = await setup({}, { transport: { maxRetries: 2 } });
    s.fake.fail({ path: /servers\/detail$/, times: Infinity, status: 429, headers: { "Retry-After": "1" }, body: overLimit() });
    const err = await grpcError(list(s));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain("retry after 1 s");
    expect(err.details).toMatch(/request id req-fake-\d+/);
    expect(s.fake.requests.filter((r) => r.path.endsWith("/servers/detail")).length).toBe(3);
  });

  test("a Retry-After longer than the bound, or a quota 413 without one, fails at once", async () => {
    const s = await setup();
    s.fake.fail({ path: /servers\/detail$/, times: 1, status: 429, headers: { "Retry-After": "3600" }, body: overLimit() });
    expect((await grpcError(list(s))).code).toBe(status.RESOURCE_EXHAUSTED);
    s.fake.fail({ path: /servers$/, method: "POST", times: 1, status: 413, body: { overLimit: { code: 413, message: "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances" } } });
    const quota = await grpcError(s.provider.client.call("CreateInstance", { name: "q", type: "m1.tiny", image_id: "cirros", region: "regionOne" }));
    expect(quota.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(quota.details).toContain("Quota exceeded");
    expect(s.fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/servers")).length).toBe(1);
  });

  test("5xx: reads are retried a bounded number of times, then UNAVAILABLE; creates are not repeated", async () => {
    const s = await setup();
    const fault = { computeFault: { code: 500, message: "Unexpected API Error." } };
    s.fake.fail({ path: /servers\/detail$/, times: 1, status: 503, body: fault });
    expect((await list(s)).instances).toHaveLength(1);

    s.fake.fail({ path: /servers\/detail$/, times: Infinity, status: 500, body: fault });
    const err = await grpcError(list(s));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain("Unexpected API Error.");
    expect(err.details).toMatch(/request id req-fake-\d+/);
    s.fake.failures.length = 0;

    s.fake.fail({ path: /servers$/, method: "POST", times: Infinity, status: 500, body: fault });
    const create = await grpcError(s.provider.client.call("CreateInstance", { name: "c", type: "m1.tiny", image_id: "cirros", region: "regionOne" }));
    expect(create.code).toBe(status.UNAVAILABLE);
    expect(s.fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/servers")).length).toBe(1);
  });

  test("an endpoint that hangs is UNAVAILABLE after the request timeout, even without a caller deadline", async () => {
    const s = await setup({}, { transport: { requestTimeoutMs: 300 } });
    await list(s);
    s.fake.fail({ path: /servers\/detail$/, times: Infinity, status: 200, hangMs: 5000 });
    const err = await grpcError(s.provider.client.call("ListInstances", { region: "regionOne" }));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain("did not answer GET /compute/regionOne/v2.1/servers/detail within 0.3 s");
  });

  test("an endpoint that does not answer is UNAVAILABLE", async () => {
    const s = await setup();
    await list(s);
    await s.fake.stop();
    const err = await grpcError(list(s));
    expect(err.code).toBe(status.UNAVAILABLE);
    const health = await s.provider.client.call("HealthCheck");
    expect(health.healthy).toBe(false);
  });
});

describe("TLS", () => {
  test("OS_CACERT trusts a private CA; without it the endpoint is refused; insecure skips the check", async () => {
    const pki = makeTestPki();
    cleanups.push(async () => pki.cleanup());
    const tls = { certFile: pki.serverCert, keyFile: pki.serverKey };
    const trusted = await setup({ tls }, {}, PASSWORD, { caCertFile: pki.caCert });
    expect(trusted.fake.url).toStartWith("https://");
    expect((await list(trusted)).instances).toHaveLength(1);

    const untrusted = await setup({ tls });
    const err = await grpcError(list(untrusted));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(untrusted.fake.authCount).toBe(0);

    const insecure = await setup({ tls }, {}, PASSWORD, { insecure: true });
    expect((await list(insecure)).instances).toHaveLength(1);
  });
});
