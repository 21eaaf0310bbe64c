// skyclust_cloud_* for the OpenStack backend against the real testbed:
// every Keystone and Nova request an RPC makes observed (operation = service, method and
// route with ids replaced; region = the catalog region), Nova answers 429
// with Retry-After (played by a front proxy between the provider and the
// testbed's Nova) retried by the shared policy and counted, and a 400 on
// requests the caller did not shape (GetProviderInfo, HealthCheck) never
// INVALID_ARGUMENT. Through the real gRPC server, read from /metrics.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import { GateProxy, type SeenRequest } from "../../shared/testing/gate-proxy";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { metricSample } from "../../shared/testing/metrics-sample";
import { openstackProvider } from "./definition";
import { requireTestbed, testbedEnv } from "./testing/testbed";

const NOVA = "http://127.0.0.1:8774";
let keystone: GateProxy;
let nova: GateProxy;
let provider: TestProvider;
let region: string;

const sample = (name: string, labels: Record<string, string>) => metricSample(provider.started.metrics!.address, name, labels);
const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 60_000 });
const serversDetail = (r: SeenRequest) => r.method === "GET" && r.path.split("?")[0]!.endsWith("/servers/detail");
const overLimit = JSON.stringify({ overLimit: { code: 429, message: "This request was rate-limited." } });

beforeAll(async () => {
  const env = testbedEnv("demo");
  await requireTestbed(env);
  region = env.OS_REGION_NAME ?? "RegionOne";
  nova = await GateProxy.start(NOVA);
  const keystoneUrl = new URL(env.OS_AUTH_URL!);
  // The token's catalog points Nova at the proxy, which can answer for it.
  keystone = await GateProxy.start(keystoneUrl.origin, (body) => body.replaceAll(`${NOVA}/`, `${nova.url}/`));
  provider = await startTestProvider(openstackProvider, ["--metrics-addr", "127.0.0.1:0"], { ...env, OS_AUTH_URL: `${keystone.url}${keystoneUrl.pathname}` });
}, 60_000);

afterAll(async () => {
  await provider?.close();
  await keystone?.stop();
  await nova?.stop();
});

test("Keystone and Nova requests are observed by route, project ids and server ids replaced", async () => {
  await call("ListInstances", { region });
  await call("ListRegions");
  expect(await sample("skyclust_cloud_requests_total", { provider: "openstack", operation: "keystone.GET /v3/regions", region: "", outcome: "ok" })).toBeGreaterThanOrEqual(1);
  const list = { provider: "openstack", operation: "nova.GET /v2.1/servers/detail", region };
  const projectScoped = { ...list, operation: "nova.GET /v2.1/{id}/servers/detail" };
  const ok = (await sample("skyclust_cloud_requests_total", { ...list, outcome: "ok" })) + (await sample("skyclust_cloud_requests_total", { ...projectScoped, outcome: "ok" }));
  expect(ok).toBeGreaterThanOrEqual(1);
  const text = await (await fetch(`http://${provider.started.metrics!.address}/metrics`)).text();
  // No uuid or 32-hex project id in any operation label.
  expect(text).not.toMatch(/operation="[^"]*[0-9a-f]{32}/);
  expect(text).not.toMatch(/operation="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-/);
}, 60_000);

test("Nova's 429 with Retry-After is waited out: the listing succeeds, two retries and two throttled answers counted", async () => {
  await call("ListInstances", { region });
  const operation = nova.requests.some((r) => serversDetail(r) && /\/v2\.1\/[0-9a-f]{32}\//.test(r.path)) ? "nova.GET /v2.1/{id}/servers/detail" : "nova.GET /v2.1/servers/detail";
  const labels = { provider: "openstack", operation, region };
  const retries = await sample("skyclust_cloud_retries_total", labels);
  const throttles = await sample("skyclust_cloud_throttled_responses_total", labels);
  const answeredBefore = nova.answered.length;
  nova.answerNext(serversDetail, 2, { status: 429, headers: { "retry-after": "0" }, body: overLimit });
  await call("ListInstances", { region });
  expect(nova.answered.length - answeredBefore).toBe(2);
  expect((await sample("skyclust_cloud_retries_total", labels)) - retries).toBe(2);
  expect((await sample("skyclust_cloud_throttled_responses_total", labels)) - throttles).toBe(2);
}, 60_000);

test("a Retry-After longer than the caller's deadline is not waited: RESOURCE_EXHAUSTED before the deadline, counted as throttled", async () => {
  nova.answerNext(serversDetail, 1, { status: 429, headers: { "retry-after": "30" }, body: overLimit });
  const err = await grpcError(provider.client.call("ListInstances", { region }, { deadlineMs: 5_000 }));
  expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
  expect(err.details).toContain("retry after 30 s");
}, 60_000);

test("a 400 from Keystone's region list (GetProviderInfo) or Nova's version document (HealthCheck) is not INVALID_ARGUMENT", async () => {
  keystone.answerNext((r) => r.method === "GET" && r.path.split("?")[0]!.endsWith("/v3/regions"), 1, { status: 400, body: JSON.stringify({ error: { code: 400, message: "Invalid input", title: "Bad Request" } }) });
  const err = await grpcError(call("GetProviderInfo"));
  expect(err.code).toBe(status.FAILED_PRECONDITION);
  expect(err.details).toContain("provider's own settings");
  nova.answerNext(() => true, 1, { status: 400, body: JSON.stringify({ badRequest: { code: 400, message: "Malformed request URL" } }) });
  const health = await call("HealthCheck");
  expect(health.healthy).toBe(false);
  expect(JSON.stringify(health.checks)).not.toContain("INVALID_ARGUMENT");
}, 60_000);
