// skyclust_cloud_* for the EC2 backend: each EC2 API request counted by
// operation, region and outcome, throttling told apart from other errors,
// and the SDK's retries counted, against a scriptable EC2 endpoint the real
// SDK talks to (fake-ec2.ts; moto never throttles). Read from the
// provider's own /metrics listener.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { metricSample } from "../../shared/testing/metrics-sample";
import { awsProvider } from "./definition";
import { describeInstancesXml, instanceXml, startFakeEc2, type FakeEc2 } from "./fake-ec2";

const ID = "i-0123456789abcdef0";
const ENV = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
let fake: FakeEc2;
let provider: TestProvider;

const sample = (name: string, labels: Record<string, string>) => metricSample(provider.started.metrics!.address, name, labels);

beforeAll(async () => {
  fake = startFakeEc2();
  provider = await startTestProvider(awsProvider, ["--endpoint", fake.url, "--max-attempts", "3", "--region", "us-east-1", "--metrics-addr", "127.0.0.1:0"], ENV);
});
afterAll(async () => {
  await provider?.close();
  await fake?.stop();
});
afterEach(() => fake.answers.clear());

describe("EC2 requests in skyclust_cloud_requests_total", () => {
  const labels = (operation: string, outcome: string) => ({ provider: "aws", operation, region: "us-east-1", outcome });

  test("a successful DescribeInstances counts once as ok, with its latency observed", async () => {
    fake.answers.set("DescribeInstances", () => ({ xml: describeInstancesXml([instanceXml(ID, "running")]) }));
    await provider.client.call("GetInstanceStatus", { instance_id: ID });
    expect(await sample("skyclust_cloud_requests_total", labels("DescribeInstances", "ok"))).toBe(1);
    expect(await sample("skyclust_cloud_request_seconds_count", { provider: "aws", operation: "DescribeInstances", region: "us-east-1" })).toBe(1);
  });

  test("RequestLimitExceeded is throttled, and the SDK's two retries are counted", async () => {
    fake.answers.set("DescribeInstances", () => ({ error: "RequestLimitExceeded", message: "Request limit exceeded." }));
    expect((await grpcError(provider.client.call("ListInstances"))).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await sample("skyclust_cloud_requests_total", labels("DescribeInstances", "throttled"))).toBe(1);
    expect(await sample("skyclust_cloud_retries_total", { provider: "aws", operation: "DescribeInstances", region: "us-east-1" })).toBe(2);
  });

  test("a permission error is a client error, not throttling", async () => {
    fake.answers.set("DescribeKeyPairs", () => ({ error: "UnauthorizedOperation", message: "You are not authorized to perform this operation." }));
    expect((await grpcError(provider.client.call("ListKeyPairs"))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await sample("skyclust_cloud_requests_total", labels("DescribeKeyPairs", "client_error"))).toBe(1);
    expect(await sample("skyclust_cloud_requests_total", labels("DescribeKeyPairs", "throttled"))).toBe(0);
  });
});
