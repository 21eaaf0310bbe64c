// Two OpenStack provider replicas against the REAL testbed (Keystone, Nova,
// Glance), driven by one round_robin client. Nova has no idempotent create;
// the provider keeps creates with one key single across replicas with a
// Nova key pair claim (create-claims.ts), which this proves from two
// processes' worth of state at once. Fails (never skips) if the testbed is down.
import { beforeAll } from "bun:test";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { twoReplicaSuite } from "../../shared/testing/replicas";
import type { OpenStackBackend } from "./backend";
import { openstackProvider } from "./definition";
import { requireTestbed, testbedEnv } from "./testing/testbed";

const RUN = `skyrr${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const REGION = "RegionOne";
let env: Record<string, string>;
let first: TestProvider | undefined;
let seq = 0;

beforeAll(async () => {
  env = testbedEnv("demo");
  await requireTestbed(env);
}, 60_000);

const backend = () => first!.started.backend as OpenStackBackend;
const ctx = () => ({ signal: AbortSignal.timeout(60_000), requestId: "replicas-test", log: first!.started.log });

twoReplicaSuite({
  start: async () => {
    const p = await startTestProvider(openstackProvider, [], env);
    first ??= p;
    return p;
  },
  region: REGION,
  deadlineMs: 120_000,
  name: (suffix) => `${RUN}-${suffix}-${++seq}`,
  createRequest: (name, key) => ({ name, type: "m1.tiny", image_id: "fake-image", region: REGION, ...(key ? { idempotency_key: key } : {}) }),
  // Straight from Nova through the backend (no gRPC, no replica state).
  cloudInstancesNamed: async (name) =>
    (await backend().listInstances(ctx(), { region: REGION, filters: { name }, pageSize: 100 })).instances.filter((i) => i.status !== "terminated").length,
  cleanup: async ({ keyPairs }) => {
    const mine = await backend().listInstances(ctx(), { region: REGION, filters: { name_regex: `^${RUN}` }, pageSize: 500 });
    for (const i of mine.instances) await backend().deleteInstance(ctx(), { region: REGION, instanceId: i.id }).catch(() => undefined);
    for (const name of keyPairs) await backend().deleteKeyPair(ctx(), { region: REGION, name }).catch(() => undefined);
  },
});
