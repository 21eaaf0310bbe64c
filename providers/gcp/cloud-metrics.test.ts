// skyclust_cloud_* for the Compute Engine backend: one observed request per
// gceCall (its retries counted), rate limiting (429 rateLimitExceeded) told
// apart from other errors, against the local GCE server built from recorded
// fixtures, through the real @google-cloud/compute client and the real gRPC
// server. Read from the provider's own /metrics listener.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { metricSample } from "../../shared/testing/metrics-sample";
import { gcpProvider } from "./definition";
import { FakeGce, makeServiceAccount, type ServiceAccount } from "./testing/fake-gce";

const PROJECT = "project_name";
let sa: ServiceAccount;
let fake: FakeGce;
let provider: TestProvider;

const sample = (name: string, labels: Record<string, string>) => metricSample(provider.started.metrics!.address, name, labels);

beforeAll(async () => {
  sa = makeServiceAccount(PROJECT);
  fake = new FakeGce({ project: PROJECT, serviceAccount: sa, accessToken: "ya29.static-test-token" }).start();
  provider = await startTestProvider(gcpProvider, ["--endpoint", fake.url, "--region", "us-central1", "--credentials-file", sa.keyFile, "--metrics-addr", "127.0.0.1:0"]);
});
afterAll(async () => {
  await provider?.close();
  await fake?.stop();
  sa?.cleanup();
});
afterEach(() => {
  fake.failures = [];
});

test("regions.list: ok once; rate limited through all three attempts it is throttled with two retries", async () => {
  const labels = (outcome: string) => ({ provider: "gcp", operation: "regions.list", region: "", outcome });
  await provider.client.call("ListRegions");
  expect(await sample("skyclust_cloud_requests_total", labels("ok"))).toBe(1);
  fake.failures = [{ method: "GET", path: /regions$/, status: 429, reason: "rateLimitExceeded", message: "Rate Limit Exceeded", times: 3 }];
  expect((await grpcError(provider.client.call("ListRegions"))).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect(await sample("skyclust_cloud_requests_total", labels("throttled"))).toBe(1);
  expect(await sample("skyclust_cloud_retries_total", { provider: "gcp", operation: "regions.list", region: "" })).toBe(2);
  expect(await sample("skyclust_cloud_request_seconds_count", { provider: "gcp", operation: "regions.list", region: "" })).toBe(2);
});

test("a permission error is a client error", async () => {
  fake.failures = [{ method: "GET", path: /regions$/, status: 403, reason: "forbidden", message: "Required 'compute.regions.list' permission" }];
  await grpcError(provider.client.call("ListRegions"));
  expect(await sample("skyclust_cloud_requests_total", { provider: "gcp", operation: "regions.list", region: "", outcome: "client_error" })).toBe(1);
});

test("rate limited twice, then answered: the call succeeds after two retries, two throttled answers counted", async () => {
  const labels = { provider: "gcp", operation: "regions.list", region: "" };
  const retries = await sample("skyclust_cloud_retries_total", labels);
  const throttles = await sample("skyclust_cloud_throttled_responses_total", labels);
  fake.failures = [{ method: "GET", path: /regions$/, status: 429, reason: "rateLimitExceeded", message: "Rate Limit Exceeded", times: 2 }];
  const { regions } = await provider.client.call("ListRegions");
  expect(regions.length).toBeGreaterThan(0);
  expect((await sample("skyclust_cloud_retries_total", labels)) - retries).toBe(2);
  expect((await sample("skyclust_cloud_throttled_responses_total", labels)) - throttles).toBe(2);
});

test("a 400 on GetProviderInfo's region list or on the health probe is not INVALID_ARGUMENT: the caller sent nothing to blame", async () => {
  // The first GetProviderInfo of this server: its region cache is cold.
  fake.failures = [{ method: "GET", path: /regions$/, status: 400, reason: "invalid", message: "Invalid value for field 'project'" }];
  const err = await grpcError(provider.client.call("GetProviderInfo"));
  expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
  expect(err.details).toContain("provider's own settings");
  fake.failures = [{ method: "GET", path: /regions\/us-central1$/, status: 400, reason: "invalid", message: "Invalid value for field 'region'" }];
  const health = await provider.client.call("HealthCheck");
  expect(health.healthy).toBe(false);
  expect(health.checks.cloud_api).toContain("FAILED_PRECONDITION");
});
