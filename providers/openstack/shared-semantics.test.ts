// The service layer's single-flight per idempotency key against the real
// OpenStack testbed: Nova is reached through a proxy (the Keystone proxy
// points the catalog's compute endpoint at it) so the server create can be
// held until the caller with the short deadline has given up.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { GateProxy } from "../../shared/testing/gate-proxy";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { sameKeyRace } from "../../shared/testing/same-key-race";
import { openstackProvider } from "./definition";
import { requireTestbed, testbedEnv } from "./testing/testbed";

const NOVA = "http://127.0.0.1:8774";
const REGION = "RegionOne";
const RUN = `sksf${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
let keystone: GateProxy;
let nova: GateProxy;
let provider: TestProvider;
const created: string[] = [];

beforeAll(async () => {
  const env = testbedEnv("demo");
  await requireTestbed(env);
  nova = await GateProxy.start(NOVA);
  const keystoneUrl = new URL(env.OS_AUTH_URL!);
  keystone = await GateProxy.start(keystoneUrl.origin, (body) => body.replaceAll(`${NOVA}/`, `${nova.url}/`));
  provider = await startTestProvider(openstackProvider, [], { ...env, OS_AUTH_URL: `${keystone.url}${keystoneUrl.pathname}` });
}, 60_000);

afterAll(async () => {
  for (const id of created) await provider.client.call("DeleteInstance", { instance_id: id, region: REGION }, { deadlineMs: 60_000 }).catch(() => undefined);
  await provider?.close();
  await keystone?.stop();
  await nova?.stop();
}, 120_000);

test("20 concurrent creates with one key, one at 0.5 s and 19 at 60 s: one server POST, the 19 all get its server, the short one DEADLINE_EXCEEDED", async () => {
  const req = { name: `${RUN}-sf`, type: "m1.tiny", image_id: "fake-image", region: REGION, idempotency_key: `${RUN}-sf` };
  const posts = () => nova.requests.filter((r) => r.method === "POST" && /\/servers$/.test(r.path)).length;
  const before = posts();
  const hold = nova.holdNext((r) => r.method === "POST" && /\/servers$/.test(r.path));
  const { short, ids } = await sameKeyRace(provider.client, req, hold);
  created.push(...ids);
  expect(short.code).toBe(status.DEADLINE_EXCEEDED);
  expect(ids.size).toBe(1);
  expect(posts() - before).toBe(1);
  const listed = await provider.client.call("ListInstances", { region: REGION, filters: { name: req.name } }, { deadlineMs: 60_000 });
  expect(listed.instances.map((i: any) => i.id)).toEqual([...ids]);
}, 120_000);
