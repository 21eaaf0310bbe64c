// CreateInstance's shared semantics (create-instance.ts, single-flight.ts,
// wait-until-running.ts) against the sandbox cloud, through a real gRPC
// client: one create per idempotency key whatever the callers' deadlines, a
// key bound to its request, and wait_until_running answering with the id
// before the caller's deadline. The same scenarios run against moto in
// providers/aws/shared-semantics.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { awsProvider } from "../../providers/aws/definition";
import { silentLogger } from "../log";
import type { CallContext } from "../provider";
import { SandboxBackend } from "../sandbox/backend";
import { badRequestFields, grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { sameKeyRace } from "../testing/same-key-race";
import { metricSample } from "../testing/metrics-sample";
import { CREDENTIALS_METADATA, encodeCredentialDocument } from "../tenancy/credential-document";
import { InstanceCreator } from "./create-instance";

const TYPE = "t3.micro";
const REGION = "us-east-1";

/** Every instance named `name` in the default region. */
async function named(p: TestProvider, name: string): Promise<any[]> {
  const res = await p.client.call("ListInstances", { region: REGION, filters: { name } }, { deadlineMs: 30_000 });
  return res.instances;
}

describe("idempotency key single-flight (sandbox, every cloud call takes 1.5 s)", () => {
  let p: TestProvider;
  beforeAll(async () => {
    p = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-latency-ms", "1500", "--sandbox-transition-ms", "60000", "--metrics-addr", "127.0.0.1:0"]);
  });
  afterAll(() => p.close());

  test("20 concurrent creates with one key, one at 0.5 s and 19 at 60 s: one instance, the 19 all get it, the short one DEADLINE_EXCEEDED", async () => {
    const req = { name: "sf-20", type: TYPE, region: REGION, idempotency_key: "sf-20" };
    // Every sandbox call takes 1.5 s: the create outlasts the short caller with no gate.
    const { short, ids } = await sameKeyRace(p.client, req, undefined);
    expect(short.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(ids.size).toBe(1);
    expect((await named(p, "sf-20")).map((i) => i.id)).toEqual([...ids]);
    expect(await metricSample(p.started.metrics!.address, "skyclust_idempotency_single_flight_hits_total", { provider: "aws" })).toBeGreaterThanOrEqual(19);
  }, 60_000);

  test("when every caller has left, the shared create is abandoned; a retry with the key then creates exactly one", async () => {
    const req = { name: "sf-gone", type: TYPE, region: REGION, idempotency_key: "sf-gone" };
    const all = await Promise.all([1, 2, 3].map(() => grpcError(p.client.call("CreateInstance", req, { deadlineMs: 400 }))));
    expect(all.map((e) => e.code)).toEqual([grpc.status.DEADLINE_EXCEEDED, grpc.status.DEADLINE_EXCEEDED, grpc.status.DEADLINE_EXCEEDED]);
    // The abandoned create was cancelled during its (simulated) cloud call: nothing was made.
    expect(await named(p, "sf-gone")).toEqual([]);
    const a = await p.client.call("CreateInstance", req, { deadlineMs: 30_000 });
    const b = await p.client.call("CreateInstance", req, { deadlineMs: 30_000 });
    expect(b.instance.id).toBe(a.instance.id);
    expect((await named(p, "sf-gone")).length).toBe(1);
  }, 60_000);

  test("the same key with another request is INVALID_ARGUMENT naming idempotency_key, while in flight and after", async () => {
    const req = { name: "sf-bound", type: TYPE, region: REGION, idempotency_key: "sf-bound" };
    const first = p.client.call("CreateInstance", req, { deadlineMs: 30_000 });
    await Bun.sleep(100);
    const during = await grpcError(p.client.call("CreateInstance", { ...req, type: "t3.small" }, { deadlineMs: 30_000 }));
    const created = (await first).instance;
    const after = await grpcError(p.client.call("CreateInstance", { ...req, tags: { other: "body" } }, { deadlineMs: 30_000 }));
    for (const err of [during, after]) {
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["idempotency_key"]);
    }
    // The same request again is still the same instance; nothing else was created.
    expect((await p.client.call("CreateInstance", req, { deadlineMs: 30_000 })).instance.id).toBe(created.id);
    expect((await named(p, "sf-bound")).length).toBe(1);
  }, 60_000);
});

describe("idempotency keys are per tenant (per-call credentials, sandbox)", () => {
  let p: TestProvider;
  const as = (id: string) => ({
    deadlineMs: 30_000,
    metadata: { [CREDENTIALS_METADATA]: encodeCredentialDocument({ AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: `${id.toLowerCase()}-secret-4f0c8e2b9d7a6135e8c4b2a1d0f9e8c7` }) },
  });
  beforeAll(async () => {
    p = await startTestProvider(awsProvider, ["--sandbox", "--per-call-credentials", "--sandbox-latency-ms", "500", "--sandbox-seed-instances", "0"]);
  });
  afterAll(() => p.close());

  test("two tenants sending one key at once each get an instance of their own cloud, never the other's", async () => {
    const req = { name: "tenant-sf", type: TYPE, region: REGION, idempotency_key: "same-key-everywhere" };
    const [a1, a2, b] = await Promise.all([
      p.client.call("CreateInstance", req, as("AKIAALICE0000000000")),
      p.client.call("CreateInstance", req, as("AKIAALICE0000000000")),
      p.client.call("CreateInstance", req, as("AKIABOB00000000000000")),
    ]);
    expect(a2.instance.id).toBe(a1.instance.id);
    expect(b.instance.id).not.toBe(a1.instance.id);
    const bobs = await p.client.call("ListInstances", { region: REGION }, as("AKIABOB00000000000000"));
    expect(bobs.instances.map((i: any) => i.id)).toEqual([b.instance.id]);
  });
});

describe("wait_until_running (sandbox)", () => {
  let slow: TestProvider;
  let quick: TestProvider;
  let held: TestProvider;
  beforeAll(async () => {
    held = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-transition-ms", "600000"]);
    // Pending for 10 minutes (beyond any deadline here); the wait is capped at 2 s.
    slow = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-transition-ms", "600000", "--wait-until-running-max-seconds", "2", "--metrics-addr", "127.0.0.1:0"]);
    quick = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-transition-ms", "1500"]);
  });
  afterAll(async () => {
    await slow.close();
    await quick.close();
    await held.close();
  });

  test("an instance that leaves pending for a terminal state ends the wait: OK with that status and the id", async () => {
    const waiting = held.client.call("CreateInstance", { name: "w-gone", type: TYPE, wait_until_running: true }, { deadlineMs: 60_000 });
    let pending: any[] = [];
    while (pending.length === 0) {
      await Bun.sleep(50);
      pending = await named(held, "w-gone");
    }
    await held.client.call("DeleteInstance", { instance_id: pending[0].id, region: REGION }, { deadlineMs: 10_000 });
    const { instance } = await waiting;
    expect(instance.id).toBe(pending[0].id);
    expect(instance.status).toBe("terminating");
  }, 60_000);

  test("polls until the instance runs", async () => {
    const { instance } = await quick.client.call("CreateInstance", { name: "w-run", type: TYPE, wait_until_running: true }, { deadlineMs: 30_000 });
    expect(instance.status).toBe("running");
  });

  test("at the caller's deadline: OK before it, with the id and the instance still pending", async () => {
    const { instance } = await slow.client.call("CreateInstance", { name: "w-deadline", type: TYPE, wait_until_running: true }, { deadlineMs: 1_500 });
    expect(instance.status).toBe("pending");
    const status = await slow.client.call("GetInstanceStatus", { instance_id: instance.id }, { deadlineMs: 10_000 });
    expect(status.instance_id).toBe(instance.id);
  });

  test("a deadline too short for any poll still answers with the id", async () => {
    const { instance } = await slow.client.call("CreateInstance", { name: "w-short", type: TYPE, wait_until_running: true }, { deadlineMs: 300 });
    expect(instance.id).not.toBe("");
    expect(instance.status).toBe("pending");
  });

  test("without a deadline: OK after --wait-until-running-max-seconds, pending", async () => {
    const { instance } = await slow.client.call("CreateInstance", { name: "w-max", type: TYPE, wait_until_running: true });
    expect(instance.status).toBe("pending");
    expect(await metricSample(slow.started.metrics!.address, "skyclust_wait_until_running_seconds_count", { provider: "aws", outcome: "max_wait" })).toBe(1);
    expect(await metricSample(slow.started.metrics!.address, "skyclust_wait_until_running_seconds_count", { provider: "aws", outcome: "deadline" })).toBeGreaterThanOrEqual(1);
  });
});

describe("single-flight keys", () => {
  const backend = () =>
    new SandboxBackend(awsProvider.sandboxProfile({}), { transitionMs: 1000, seedPerRegion: 0, latencyMs: 50, failRegions: [] });
  const ctx = (tenant?: string): CallContext => ({ signal: new AbortController().signal, requestId: "t", log: silentLogger, tenant });
  const spec = { name: "k", type: TYPE, region: REGION, tags: {}, securityGroups: [], publicIp: false, idempotencyKey: "shared" };

  test("one key in two tenants is two backend creates; in one tenant, one", async () => {
    const b = backend();
    let creates = 0;
    const plain = b.createInstance.bind(b);
    b.createInstance = (c, s) => (creates++, plain(c, s));
    const creator = new InstanceCreator(b);
    const [x, y] = await Promise.all([creator.create(ctx("t1"), spec, false), creator.create(ctx("t1"), spec, false), creator.create(ctx("t2"), spec, false)]);
    expect(y.id).toBe(x.id);
    expect(creates).toBe(2);
    expect(creator.inFlight).toBe(0);
  });

  test("a flood of fresh keys costs bounded memory: the oldest bindings are forgotten first", async () => {
    const creator = new InstanceCreator(backend(), { keyMemoryEntries: 2 });
    for (const key of ["k1", "k2", "k3"]) await creator.create(ctx(), { ...spec, name: key, idempotencyKey: key }, false);
    // k3 is remembered: another request with it is refused before reaching the cloud.
    await expect(creator.create(ctx(), { ...spec, name: "k3", type: "t3.small", idempotencyKey: "k3" }, false)).rejects.toThrow(/idempotency_key/);
    // k1 was forgotten: the backend's own de-duplication answers (same name, so no conflict is visible).
    expect((await creator.create(ctx(), { ...spec, name: "k1", type: "t3.small", idempotencyKey: "k1" }, false)).name).toBe("k1");
  });
});
