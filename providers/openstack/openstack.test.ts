// The OpenStack provider against a REAL OpenStack (Keystone, Nova with the
// fake virt driver, Glance: providers/openstack/testbed), through a real
// gRPC client, authenticated as the member user. If the testbed is down
// these tests FAIL with the command that starts it; they never skip.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { generateKeyPair, parsePublicKey } from "../../shared/keys";
import { grpcError, badRequestFields } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import type { OpenStackBackend } from "./backend";
import { CLAIM_PREFIX, claimName } from "./create-claims";
import { openstackProvider } from "./definition";
import { requireTestbed, testbedEnv } from "./testing/testbed";
import { capabilityFlags, capabilityProblems } from "../../shared/testing/capabilities";

const RUN = `skyt${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const REGION = "RegionOne";
const WAIT_MS = 180_000;

let env: Record<string, string>;
let provider: TestProvider;
let backend: OpenStackBackend;
const created = new Set<string>();
const keyPairs = new Set<string>();

const call = <T = any>(method: string, req: object = {}, metadata?: Record<string, string>) =>
  provider.client.call<T>(method, req, { deadlineMs: 120_000, metadata });

/** Polls GetInstanceStatus until `want` (or NOT_FOUND for "gone"); fails after a generous bound. */
async function waitFor(id: string, want: string): Promise<{ status: string; raw_status: string }> {
  const until = Date.now() + WAIT_MS;
  let last = "";
  while (Date.now() < until) {
    try {
      const s = await call("GetInstanceStatus", { instance_id: id, region: REGION });
      if (s.status === want) return s;
      if (s.status === "error") throw new Error(`server ${id} went to ERROR while waiting for ${want}`);
      last = `${s.status}/${s.raw_status}`;
    } catch (err: any) {
      if (want === "gone" && err?.code === status.NOT_FOUND) return { status: "gone", raw_status: "" };
      if (err?.code === undefined) throw err;
      last = err.details;
    }
    await Bun.sleep(1000);
  }
  throw new Error(`server ${id} did not become ${want} (last: ${last})`);
}

async function listAll(req: Record<string, unknown>) {
  const pages: any[] = [];
  let token = "";
  do {
    const page = await call("ListInstances", { ...req, page_token: token });
    pages.push(page);
    token = page.next_page_token;
    if (pages.length > 50) throw new Error("listing does not end");
  } while (token);
  return pages;
}

async function createServer(name: string, extra: Record<string, unknown> = {}, metadata?: Record<string, string>) {
  const res = await call("CreateInstance", { name, type: "m1.tiny", image_id: "fake-image", region: REGION, ...extra }, metadata);
  created.add(res.instance.id);
  return res.instance;
}

beforeAll(async () => {
  env = testbedEnv("demo");
  await requireTestbed(env);
  provider = await startTestProvider(openstackProvider, [], env);
  backend = provider.started.backend as OpenStackBackend;
}, 60_000);

afterAll(async () => {
  if (!provider) return;
  // Every server this run made, including any a failed test left behind.
  const ctx = { signal: AbortSignal.timeout(60_000), requestId: "cleanup", log: provider.started.log };
  const mine = await backend.listInstances(ctx, { region: REGION, filters: { name_regex: `^${RUN}` }, pageSize: 500 }).catch(() => ({ instances: [] }));
  for (const id of new Set([...created, ...mine.instances.map((i) => i.id)])) {
    await backend.deleteInstance(ctx, { region: REGION, instanceId: id }).catch(() => undefined);
  }
  for (const name of keyPairs) await backend.deleteKeyPair(ctx, { region: REGION, name }).catch(() => undefined);
  await provider.close();
}, 120_000);

describe("openstack provider against the real testbed (member user)", () => {
  test("authenticates as the member user and reports the real cloud", async () => {
    const info = await call("GetProviderInfo");
    expect(info.name).toBe("openstack");
    expect(info.capabilities.mode).toBe("cloud");
    expect(capabilityProblems(info.capabilities)).toEqual([]);
    // Nova: no forced stop, HARD reboot, regions fanned out, untagged key pairs.
    expect(capabilityFlags(info.capabilities)).toMatchObject({ stop_force: false, restart_force: true, list_all_regions_native: false, key_pair_tags: false });
    expect(info.supported_regions).toEqual([REGION]);
    const token = await backend.identity.current(AbortSignal.timeout(10_000));
    expect(token.userName).toBe("demo");
    expect(token.roles).toContain("member");
    expect(token.roles).not.toContain("admin");
    const health = await call("HealthCheck");
    expect(health.healthy).toBe(true);
    expect(health.checks.keystone).toStartWith("ok");
    expect(health.checks.nova).toContain("microversion");
  });

  test("ListRegions comes from Keystone with the compute zones", async () => {
    const { regions } = await call("ListRegions");
    expect(regions.map((r: any) => r.id)).toEqual([REGION]);
    expect(regions[0].status).toBe("available");
    expect(regions[0].zones).toContain("nova");
  });

  test("negotiates the highest microversion both sides support", async () => {
    const res = await fetch("http://127.0.0.1:8774/v2.1/");
    const serverMax = (await res.json()).version.version as string;
    expect(await backend.compute.microversion(REGION, AbortSignal.timeout(10_000))).toBe(serverMax);
  });

  describe("three servers", () => {
    const ids: string[] = [];

    test("are created and reach running", async () => {
      for (let i = 0; i < 3; i++) {
        const inst = await createServer(`${RUN}-srv-${i}`, { tags: { run: RUN, idx: String(i) }, user_data: "#cloud-config\n" });
        expect(inst.name).toBe(`${RUN}-srv-${i}`);
        expect(["pending", "running"]).toContain(inst.status);
        ids.push(inst.id);
      }
      const images = await (await fetch("http://127.0.0.1:9292/v2/images?name=fake-image", { headers: { "X-Auth-Token": (await backend.identity.current(AbortSignal.timeout(5000))).value } })).json();
      for (const id of ids) {
        const s = await waitFor(id, "running");
        expect(s.raw_status).toBe("ACTIVE");
      }
      const { instances } = await call("ListInstances", { region: REGION, filters: { name_regex: `^${RUN}-srv-` } });
      expect(instances).toHaveLength(3);
      for (const inst of instances) {
        expect(inst.type).toBe("m1.tiny");
        expect(inst.image_id).toBe(images.images[0].id);
        expect(inst.zone).toBe("nova");
        expect(inst.tags.run).toBe(RUN);
        expect(inst.provider).toBe("openstack");
        expect(inst.created_at.seconds).toBeGreaterThan(0);
        expect(inst.extra.vcpus).toBe("1");
        expect(inst.extra.image_name).toBe("fake-image");
      }
    }, WAIT_MS * 2);

    test("page_size 2 returns every server exactly once", async () => {
      const pages = await listAll({ region: REGION, page_size: 2, filters: { name_regex: `^${RUN}-srv-` } });
      const seen = pages.flatMap((p) => p.instances.map((i: any) => i.id));
      for (const p of pages) expect(p.instances.length).toBeLessThanOrEqual(2);
      expect(pages.length).toBeGreaterThanOrEqual(2);
      expect(seen.sort()).toEqual([...ids].sort());
      expect(pages[pages.length - 1].total_count).toBe(3);

      // Across every region, filtered by tag client-side: still exactly once.
      const all = await listAll({ region: "*", page_size: 2, filters: { [`tag:run`]: RUN } });
      const seenAll = all.flatMap((p) => p.instances.map((i: any) => i.id));
      for (const p of all) expect(p.instances.length).toBeLessThanOrEqual(2);
      expect(seenAll.sort()).toEqual([...ids].sort());
    });

    test("filters: tag, exact name, status, flavor type and Nova pass-through", async () => {
      const by = async (filters: Record<string, string>) =>
        (await listAll({ region: REGION, page_size: 50, filters })).flatMap((p) => p.instances.map((i: any) => i.name)).filter((n: string) => n.startsWith(RUN)).sort();
      expect(await by({ "tag:idx": "1", "tag:run": RUN })).toEqual([`${RUN}-srv-1`]);
      expect(await by({ name: `${RUN}-srv-2` })).toEqual([`${RUN}-srv-2`]);
      // "name" is exact: a prefix matches nothing.
      expect(await by({ name: `${RUN}-srv` })).toEqual([]);
      expect(await by({ status: "running", name_regex: `^${RUN}-srv-` })).toHaveLength(3);
      expect(await by({ status: "stopped", name_regex: `^${RUN}-srv-` })).toEqual([]);
      expect(await by({ type: "m1.tiny", name_regex: `^${RUN}-srv-` })).toHaveLength(3);
      expect(await by({ type: "m1.small", name_regex: `^${RUN}-srv-` })).toEqual([]);
      expect(await by({ flavor: "1", name_regex: `^${RUN}-srv-` })).toHaveLength(3);
      expect(await by({ flavor: "2", name_regex: `^${RUN}-srv-` })).toEqual([]);

      const err = await grpcError(call("ListInstances", { region: REGION, filters: { colour: "blue" } }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["filters[colour]"]);
    });

    test("stop, start and restart reach the right statuses; start of a running server is FAILED_PRECONDITION", async () => {
      const id = ids[0]!;
      const running = await grpcError(call("StartInstance", { instance_id: id, region: REGION }));
      expect(running.code).toBe(status.FAILED_PRECONDITION);
      expect(running.details).toContain("running (ACTIVE)");
      expect(running.details).toMatch(/request id req-/);

      const stop = await call("StopInstance", { instance_id: id, region: REGION });
      expect(stop.success).toBe(true);
      expect((await waitFor(id, "stopped")).raw_status).toBe("SHUTOFF");
      const stoppedList = await listAll({ region: REGION, filters: { status: "stopped", name_regex: `^${RUN}-srv-` } });
      expect(stoppedList.flatMap((p) => p.instances.map((i: any) => i.id))).toEqual([id]);
      const again = await grpcError(call("StopInstance", { instance_id: id, region: REGION }));
      expect(again.code).toBe(status.FAILED_PRECONDITION);
      expect(again.details).toContain("stopped (SHUTOFF)");

      await call("StartInstance", { instance_id: id, region: REGION });
      expect((await waitFor(id, "running")).raw_status).toBe("ACTIVE");

      const restart = await call("RestartInstance", { instance_id: id, region: REGION });
      expect(restart.message).toContain("SOFT");
      expect((await waitFor(id, "running")).raw_status).toBe("ACTIVE");
      const hard = await call("RestartInstance", { instance_id: id, region: REGION, force: true });
      expect(hard.message).toContain("HARD");
      expect((await waitFor(id, "running")).raw_status).toBe("ACTIVE");
      // Nova recorded the reboot: the call really reached the compute service.
      const actions = await backend.compute.call(REGION, `/servers/${id}/os-instance-actions`, { signal: AbortSignal.timeout(10_000) });
      const names = actions.body.instanceActions.map((a: any) => a.action);
      expect(names).toEqual(expect.arrayContaining(["create", "stop", "start", "reboot"]));
    }, WAIT_MS * 3);

    test("delete, then the server is NOT_FOUND", async () => {
      const id = ids[2]!;
      const res = await call("DeleteInstance", { instance_id: id, region: REGION });
      expect(res.success).toBe(true);
      await waitFor(id, "gone");
      const err = await grpcError(call("GetInstanceStatus", { instance_id: id, region: REGION }));
      expect(err.code).toBe(status.NOT_FOUND);
      expect((await grpcError(call("DeleteInstance", { instance_id: id, region: REGION }))).code).toBe(status.NOT_FOUND);
      expect((await grpcError(call("StartInstance", { instance_id: id, region: REGION }))).code).toBe(status.NOT_FOUND);
      created.delete(id);
    }, WAIT_MS);
  });

  test("an unknown server id is NOT_FOUND", async () => {
    const err = await grpcError(call("GetInstanceStatus", { instance_id: "00000000-0000-4000-8000-000000000000", region: REGION }));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  test("a retried create with the same idempotency key returns the first server", async () => {
    const name = `${RUN}-idem`;
    const first = await createServer(name, { idempotency_key: `${RUN}-k1`, tags: { run: RUN } });
    const retried = await createServer(name, { tags: { run: RUN } }, { "idempotency-key": `${RUN}-k1` });
    expect(retried.id).toBe(first.id);
    expect(first.extra.idempotency_key).toBe(`${RUN}-k1`);
    // The key's marker does not leak into the caller's tags.
    expect(Object.keys(first.tags)).toEqual(["run"]);
    const { instances } = await call("ListInstances", { region: REGION, filters: { name } });
    expect(instances.map((i: any) => i.id)).toEqual([first.id]);

    // Two retries racing past the lookup: both answer with one server, and
    // only one server remains.
    const raceName = `${RUN}-race`;
    const [a, b] = await Promise.all([
      createServer(raceName, { idempotency_key: `${RUN}-k2` }),
      createServer(raceName, { idempotency_key: `${RUN}-k2` }),
    ]);
    expect(a.id).toBe(b.id);
    const until = Date.now() + WAIT_MS;
    let left: string[] = [];
    do {
      left = (await call("ListInstances", { region: REGION, filters: { name: raceName } })).instances.map((i: any) => i.id);
      if (left.length === 1) break;
      await Bun.sleep(1000);
    } while (Date.now() < until);
    expect(left).toEqual([a.id]);

    // Two provider replicas (separate processes' worth of state) racing with
    // one key: the key pair claim lets exactly one of them create.
    const replica = await startTestProvider(openstackProvider, [], env);
    try {
      const replicaName = `${RUN}-replicas`;
      const viaReplica = replica.client.call("CreateInstance", { name: replicaName, type: "m1.tiny", image_id: "fake-image", region: REGION, idempotency_key: `${RUN}-k4` }, { deadlineMs: 120_000 });
      const [x, y] = await Promise.all([createServer(replicaName, { idempotency_key: `${RUN}-k4` }), viaReplica]);
      created.add(y.instance.id);
      expect(y.instance.id).toBe(x.id);
      const servers = (await call("ListInstances", { region: REGION, filters: { name: replicaName } })).instances.map((i: any) => i.id);
      expect(servers).toEqual([x.id]);
      // This run's claims are gone and never show as the caller's key pairs.
      // (Only ours: another test that hangs Nova on purpose may leave a
      // claim behind for the stale-claim rule to break.)
      const ours = new Set([`${RUN}-k1`, `${RUN}-k2`, `${RUN}-k4`].map((k) => claimName(REGION, k)));
      const claims = await backend.compute.listKeypairs(REGION, AbortSignal.timeout(10_000));
      expect(claims.filter((k) => ours.has(k.name))).toEqual([]);
      expect((await call("ListKeyPairs", { region: REGION })).key_pairs.filter((k: any) => k.key_pair_name.startsWith(CLAIM_PREFIX))).toEqual([]);
    } finally {
      await replica.close();
    }

    // A different key is a different server.
    const other = await createServer(name, { idempotency_key: `${RUN}-k3` });
    expect(other.id).not.toBe(first.id);
  }, WAIT_MS * 2);

  test("create rejects unknown flavors and images naming the field", async () => {
    const flavor = await grpcError(call("CreateInstance", { name: `${RUN}-bad`, type: "m9.huge", image_id: "fake-image", region: REGION }));
    expect(flavor.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(flavor)).toEqual(["type"]);
    const image = await grpcError(call("CreateInstance", { name: `${RUN}-bad`, type: "m1.tiny", image_id: "no-such-image", region: REGION }));
    expect(image.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(image)).toEqual(["image_id"]);
    const key = await grpcError(call("CreateInstance", { name: `${RUN}-bad`, type: "m1.tiny", image_id: "fake-image", key_pair_name: `${RUN}-nokey`, region: REGION }));
    expect(key.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(key)).toEqual(["key_pair_name"]);
  });

  test("key pairs: import, create (ed25519 and RSA), list, delete", async () => {
    const local = generateKeyPair("ed25519", "imported");
    const importName = `${RUN}-imported`;
    keyPairs.add(importName);
    const imported = (await call("ImportKeyPair", { key_pair_name: importName, region: REGION, public_key: local.publicKey })).key_pair;
    expect(imported.key_pair_name).toBe(importName);
    expect(imported.fingerprint).toBe(local.md5Fingerprint);
    expect(imported.key_type).toBe("ed25519");

    const dup = await grpcError(call("ImportKeyPair", { key_pair_name: importName, region: REGION, public_key: local.publicKey }));
    expect(dup.code).toBe(status.ALREADY_EXISTS);
    const bad = await grpcError(call("ImportKeyPair", { key_pair_name: `${RUN}-bad`, region: REGION, public_key: "ssh-ed25519 not-base64!" }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(bad)).toEqual(["public_key"]);

    for (const keyType of ["ed25519", "rsa"]) {
      const name = `${RUN}-made-${keyType}`;
      keyPairs.add(name);
      const made = await call("CreateKeyPair", { key_pair_name: name, region: REGION, key_type: keyType });
      expect(made.private_key).toMatch(/-----BEGIN (OPENSSH|RSA) PRIVATE KEY-----/);
      expect(made.key_pair.key_type).toBe(keyType);
      // What Nova stored is the public half of the key handed back.
      const stored = await backend.compute.getKeypair(REGION, name, AbortSignal.timeout(10_000));
      expect(parsePublicKey(stored.public_key!).md5Fingerprint).toBe(made.key_pair.fingerprint);
    }

    const listed = (await call("ListKeyPairs", { region: REGION })).key_pairs.map((k: any) => k.key_pair_name);
    expect(listed).toEqual(expect.arrayContaining([importName, `${RUN}-made-ed25519`, `${RUN}-made-rsa`]));
    const byName = (await call("ListKeyPairs", { region: REGION, filters: { name: importName } })).key_pairs;
    expect(byName.map((k: any) => k.key_pair_name)).toEqual([importName]);
    const byFp = (await call("ListKeyPairs", { region: REGION, filters: { fingerprint: local.sha256Fingerprint } })).key_pairs;
    expect(byFp.map((k: any) => k.key_pair_name)).toEqual([importName]);

    // A server can boot with the imported key.
    const withKey = await createServer(`${RUN}-keyed`, { key_pair_name: importName });
    expect(withKey.key_pair_name).toBe(importName);

    for (const name of [...keyPairs]) {
      expect((await call("DeleteKeyPair", { key_pair_name: name, region: REGION })).success).toBe(true);
      keyPairs.delete(name);
    }
    expect((await grpcError(call("DeleteKeyPair", { key_pair_name: importName, region: REGION }))).code).toBe(status.NOT_FOUND);
    const after = (await call("ListKeyPairs", { region: REGION })).key_pairs.map((k: any) => k.key_pair_name);
    expect(after.filter((n: string) => n.startsWith(RUN))).toEqual([]);
  }, WAIT_MS);

  test("GetCostEstimate needs an operator rate card, then prices the flavor's real shape", async () => {
    const none = await grpcError(call("GetCostEstimate", { instance_type: "m1.small", region: REGION }));
    expect(none.code).toBe(status.FAILED_PRECONDITION);
    // The capabilities say so beforehand.
    expect((await call("GetProviderInfo")).capabilities).toMatchObject({ cost_estimates: "false", price_source: "none" });
    const priced = await startTestProvider(openstackProvider, [], { ...env, SKYCLUST_RATE_VCPU_HOUR: "0.03", SKYCLUST_RATE_GIB_HOUR: "0.01" });
    try {
      expect((await priced.client.call("GetProviderInfo")).capabilities).toMatchObject({ cost_estimates: "true", price_source: "rate-card" });
      // m1.small in the testbed: 1 vCPU, 2048 MB.
      const q = await priced.client.call("GetCostEstimate", { instance_type: "m1.small", region: REGION, duration: "10h" });
      expect(q.hourly_rate).toBeCloseTo(0.03 + 2 * 0.01, 6);
      expect(q.cost).toBeCloseTo(10 * (0.03 + 2 * 0.01), 6);
      const unknown = await grpcError(priced.client.call("GetCostEstimate", { instance_type: "m9.huge", region: REGION }));
      expect(unknown.code).toBe(status.INVALID_ARGUMENT);
    } finally {
      await priced.close();
    }
  });

  test("wrong credentials are UNAUTHENTICATED and the password never shows", async () => {
    const password = `wrong-${RUN}-pw`;
    const bad = await startTestProvider(openstackProvider, [], { ...env, OS_PASSWORD: password });
    try {
      const err = await grpcError(bad.client.call("ListInstances", { region: REGION }));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.details).not.toContain(password);
      expect(bad.logs.join("\n")).not.toContain(password);
      const health = await bad.client.call("HealthCheck");
      expect(health.healthy).toBe(false);
      expect(JSON.stringify(health)).not.toContain(password);
    } finally {
      await bad.close();
    }
  });

  test("neither the password nor the token reaches the logs", async () => {
    const token = await backend.identity.current(AbortSignal.timeout(10_000));
    const logs = provider.logs.join("\n");
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(token.value);
    expect(logs).not.toContain(`"${env.OS_PASSWORD}"`);
  });
});
