// skyclust_cloud_* for the Proxmox backend: every PVE API request observed
// (operation = method and route with node, vmid and ids replaced; region =
// the node), lock conflicts and a rate-limiting front proxy's 429s retried
// by the shared policy and counted, and a refusal of a request the caller
// did not shape never blamed on the caller. Against the local PVE server
// built from recorded responses (testing/fake-pve.ts), through the real
// gRPC server, read from the provider's own /metrics listener.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { metricSample } from "../../shared/testing/metrics-sample";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FakePve } from "./testing/fake-pve";

const PASSWORD = "Correct-Horse-Battery-7";
let pki: TestPki;
let pve: FakePve;
let stateDir: string;
let provider: TestProvider;

const sample = (name: string, labels: Record<string, string>) => metricSample(provider.started.metrics!.address, name, labels);
const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 20_000 });

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, password: PASSWORD, taskPolls: 1 }).start();
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-metrics-"));
  provider = await startTestProvider(proxmoxProvider, ["--metrics-addr", "127.0.0.1:0"], {
    PROXMOX_HOST: pve.host,
    PROXMOX_CA_FILE: pki.caFile,
    PROXMOX_STATE_DIR: stateDir,
    PROXMOX_TASK_POLL_MS: "10",
    PROXMOX_LOCK_RETRY_MS: "10",
    PROXMOX_USER: "PROXMOX_USERNAME",
    PROXMOX_REALM: "pam",
    PROXMOX_PASSWORD: PASSWORD,
  });
});

afterAll(async () => {
  await provider?.close();
  await pve?.stop();
  pki?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

test("each API request is one observation, named by its route with ids replaced", async () => {
  await call("ListRegions");
  expect(await sample("skyclust_cloud_requests_total", { provider: "proxmox", operation: "GET /nodes", region: "", outcome: "ok" })).toBeGreaterThanOrEqual(1);
  await call("GetInstanceStatus", { instance_id: "vmpvetest/qemu/100" });
  // The node is the region; the vmid is not in the label.
  const status = { provider: "proxmox", operation: "GET /nodes/{id}/qemu/{id}/status/current", region: "vmpvetest" };
  expect(await sample("skyclust_cloud_requests_total", { ...status, outcome: "ok" })).toBeGreaterThanOrEqual(1);
  const text = await (await fetch(`http://${provider.started.metrics!.address}/metrics`)).text();
  expect(text).not.toMatch(/operation="[^"]*\/100[/"]/);
});

test("a front proxy's 429 with Retry-After is waited out and retried: the call succeeds, retries and throttles counted", async () => {
  const labels = { provider: "proxmox", operation: "GET /cluster/resources", region: "" };
  const retriesBefore = await sample("skyclust_cloud_retries_total", labels);
  const throttlesBefore = await sample("skyclust_cloud_throttled_responses_total", labels);
  pve.frontAnswers.push({ path: /^\/cluster\/resources$/, status: 429, times: 2, retryAfter: "0" });
  const page = await call("ListInstances", {});
  expect(page.instances.length).toBeGreaterThan(0);
  expect(pve.frontAnswered).toBe(2);
  expect((await sample("skyclust_cloud_retries_total", labels)) - retriesBefore).toBe(2);
  expect((await sample("skyclust_cloud_throttled_responses_total", labels)) - throttlesBefore).toBe(2);
});

test("throttling that does not stop ends RESOURCE_EXHAUSTED, counted as throttled", async () => {
  pve.frontAnswers.push({ path: /^\/cluster\/resources$/, status: 429, times: 100, retryAfter: "0" });
  const err = await grpcError(call("ListInstances", {}));
  pve.frontAnswers.length = 0;
  expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect(await sample("skyclust_cloud_requests_total", { provider: "proxmox", operation: "GET /cluster/resources", region: "", outcome: "throttled" })).toBe(1);
});

test("lock conflicts on a write are retried by the shared policy and counted", async () => {
  const labels = { provider: "proxmox", operation: "POST /nodes/{id}/qemu/{id}/status/reboot", region: "vmpvetest" };
  pve.lockNextWrites(2);
  await call("RestartInstance", { instance_id: "vmpvetest/qemu/100" });
  expect(await sample("skyclust_cloud_retries_total", labels)).toBe(2);
  expect(await sample("skyclust_cloud_requests_total", { ...labels, outcome: "ok" })).toBe(1);
});

test("a 400 on GetProviderInfo's node listing is not the caller's fault; HealthCheck reports it without throwing", async () => {
  pve.frontAnswers.push({ path: /^\/nodes$/, status: 400, times: 1 });
  const err = await grpcError(call("GetProviderInfo"));
  expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
  pve.frontAnswers.push({ path: /^\/version$/, status: 400, times: 1 });
  const health = await call("HealthCheck");
  expect(health.healthy).toBe(false);
  expect(health.checks.cloud_api).toContain("FAILED_PRECONDITION");
  expect(health.checks.cloud_api).not.toContain("INVALID_ARGUMENT");
});
