// Two replicas of one provider behind ONE grpc-js client with the
// round_robin policy over a static address list: what the platform does
// against a headless Service. Every provider's replicas.test.ts runs this
// suite against its own peer (moto behind a ClientToken stand-in, the
// OpenStack testbed, the GCE and PVE stand-ins); both replicas share that
// peer and nothing else, as two pods do.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { grpcError, ProviderClient } from "./client";
import type { TestProvider } from "./harness";

/** A client that spreads calls over `addresses` with round_robin (one subchannel each). */
export function roundRobinClient(addresses: string[]): ProviderClient {
  return new ProviderClient(`ipv4:${addresses.join(",")}`, grpc.credentials.createInsecure(), {
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    // Two clients in one test process must not share subchannels with other tests' clients.
    "grpc.use_local_subchannel_pool": 1,
  });
}

/** How many calls of `method` this replica answered (its "rpc" log lines). */
export function servedBy(replica: TestProvider, method: string): number {
  return replica.logs.filter((l) => {
    try {
      const j = JSON.parse(l);
      return j.msg === "rpc" && j.method === method;
    } catch {
      return false;
    }
  }).length;
}

export interface ReplicaSuite {
  /** Starts one replica against the shared peer. */
  start(): Promise<TestProvider>;
  /** A CreateInstance request; every call with the same arguments is the same request. */
  createRequest(name: string, idempotencyKey?: string): Record<string, unknown>;
  /** A unique, valid instance name for this run. */
  name(suffix: string): string;
  /** How many live instances named `name` the cloud holds (read from the cloud, not the provider). */
  cloudInstancesNamed(name: string): Promise<number>;
  /** The region key pair RPCs use. */
  region?: string;
  /** Per-call deadline; real clouds are slower than stand-ins. */
  deadlineMs?: number;
  /** Removes anything left behind (instances, key pairs) by name. */
  cleanup?(names: { instances: string[]; keyPairs: string[] }): Promise<void>;
}

/** Registers the two-replica tests for one provider. */
export function twoReplicaSuite(s: ReplicaSuite): void {
  let a: TestProvider;
  let b: TestProvider;
  let client: ProviderClient;
  const made = { instances: [] as string[], keyPairs: [] as string[] };
  const deadlineMs = s.deadlineMs ?? 30_000;
  const call = <T = any>(method: string, req: object = {}) => client.call<T>(method, req, { deadlineMs });
  const served = (method: string) => [servedBy(a, method), servedBy(b, method)];

  beforeAll(async () => {
    a = await s.start();
    b = await s.start();
    client = roundRobinClient([a.address, b.address]);
    // round_robin picks among READY subchannels only: call until both
    // replicas have answered once, so every later call alternates.
    for (let i = 0; i < 50 && served("GetProviderInfo").includes(0); i++) await call("GetProviderInfo");
    expect(served("GetProviderInfo").every((n) => n > 0)).toBe(true);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await s.cleanup?.(made).catch(() => undefined);
    await a?.close();
    await b?.close();
  }, 120_000);

  test("one round_robin client alternates between the two replicas", async () => {
    const before = served("ListKeyPairs");
    for (let i = 0; i < 10; i++) await call("ListKeyPairs", { region: s.region ?? "" });
    const after = served("ListKeyPairs");
    expect([after[0]! - before[0]!, after[1]! - before[1]!]).toEqual([5, 5]);
  }, 120_000);

  test("key pairs: created on one replica, listed, refused again and deleted on the other", async () => {
    const name = s.name("kp");
    made.keyPairs.push(name);
    const region = s.region ?? "";
    const before = served("ListKeyPairs");
    const created = (await call("CreateKeyPair", { key_pair_name: name, region })).key_pair;
    // Two lists in a row: one on each replica, both see the key pair.
    for (let i = 0; i < 2; i++) {
      const listed = (await call("ListKeyPairs", { region, filters: { name } })).key_pairs;
      expect(listed.map((k: any) => [k.key_pair_name, k.fingerprint])).toEqual([[name, created.fingerprint]]);
    }
    const after = served("ListKeyPairs");
    expect([after[0]! - before[0]!, after[1]! - before[1]!]).toEqual([1, 1]);
    expect((await grpcError(call("CreateKeyPair", { key_pair_name: name, region }))).code).toBe(grpc.status.ALREADY_EXISTS);
    await call("DeleteKeyPair", { key_pair_name: name, region });
    for (let i = 0; i < 2; i++) expect((await call("ListKeyPairs", { region, filters: { name } })).key_pairs).toEqual([]);
  }, 120_000);

  test("10 concurrent creates of one key pair name over both replicas: exactly one succeeds, the rest are ALREADY_EXISTS", async () => {
    const name = s.name("kprace");
    made.keyPairs.push(name);
    const region = s.region ?? "";
    const before = served("CreateKeyPair");
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => call("CreateKeyPair", { key_pair_name: name, region }).then((r) => ({ ok: r.key_pair.fingerprint as string }), (e: grpc.ServiceError) => ({ code: e.code, details: e.details }))),
    );
    const after = served("CreateKeyPair");
    expect([after[0]! - before[0]!, after[1]! - before[1]!]).toEqual([5, 5]);
    const ok = outcomes.filter((o): o is { ok: string } => "ok" in o);
    expect(ok).toHaveLength(1);
    expect(outcomes.filter((o) => !("ok" in o)).map((o: any) => o.code)).toEqual(Array(9).fill(grpc.status.ALREADY_EXISTS));
    const listed = (await call("ListKeyPairs", { region, filters: { name } })).key_pairs;
    expect(listed.map((k: any) => k.fingerprint)).toEqual([ok[0]!.ok]);
    await call("DeleteKeyPair", { key_pair_name: name, region });
  }, 120_000);

  test("create, status, list and delete of one instance hop between replicas", async () => {
    const name = s.name("life");
    made.instances.push(name);
    const before = ["CreateInstance", "GetInstanceStatus", "ListInstances", "DeleteInstance"].map((m) => served(m));
    const instance = (await call("CreateInstance", s.createRequest(name))).instance;
    const region = instance.region;
    // Two status reads and two listings: each replica answers one of each.
    for (let i = 0; i < 2; i++) expect((await call("GetInstanceStatus", { instance_id: instance.id, region })).status).not.toBe("");
    for (let i = 0; i < 2; i++) {
      const pages = await client.listPages({ region, filters: { name } }, 20, { deadlineMs });
      expect(pages.flatMap((p) => p.instances).map((x: any) => x.id)).toEqual([instance.id]);
    }
    await call("DeleteInstance", { instance_id: instance.id, region });
    const after = ["CreateInstance", "GetInstanceStatus", "ListInstances", "DeleteInstance"].map((m) => served(m));
    const perReplica = after.map((x, i) => [x[0]! - before[i]![0]!, x[1]! - before[i]![1]!]);
    expect(perReplica[1]).toEqual([1, 1]);
    expect(perReplica[2]!.every((n) => n >= 1)).toBe(true);
    expect(perReplica.map((p) => p[0]! + p[1]!)).toEqual([1, 2, perReplica[2]![0]! + perReplica[2]![1]!, 1]);
  }, 300_000);

  test("20 concurrent creates with one idempotency key, spread over both replicas, make exactly one instance", async () => {
    const name = s.name("idem");
    made.instances.push(name);
    const key = `${name}-key`;
    const before = served("CreateInstance");
    const results = await Promise.all(Array.from({ length: 20 }, () => call("CreateInstance", s.createRequest(name, key))));
    const after = served("CreateInstance");
    expect([after[0]! - before[0]!, after[1]! - before[1]!]).toEqual([10, 10]);
    const ids = new Set(results.map((r) => r.instance.id));
    expect(ids.size).toBe(1);
    expect(await s.cloudInstancesNamed(name)).toBe(1);
    await call("DeleteInstance", { instance_id: [...ids][0], region: results[0].instance.region });
  }, 600_000);
}
