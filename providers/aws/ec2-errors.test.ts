// What moto cannot do: EC2 error codes it never returns (throttling after
// the SDK's retries, AuthFailure, UnauthorizedOperation, capacity,
// IncorrectInstanceState, malformed ids), honouring ClientToken, hanging
// endpoints. A scriptable EC2 Query-protocol endpoint (fake-ec2.ts) answers
// with EC2's real XML, so the real SDK parses and retries, and the calls go
// through the real gRPC server and client.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { freePort } from "../../scripts/chroot";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { awsProvider } from "./definition";
import { describeInstancesXml, instanceXml, runInstancesXml, startFakeEc2, type FakeEc2 } from "./fake-ec2";
import { clientTokenFor } from "./run-instances";

const ID = "i-0123456789abcdef0";
const ENV = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
let fake: FakeEc2;
let provider: TestProvider;
const call = (method: string, req: object = {}, deadlineMs = 30_000) => provider.client.call<any>(method, req, { deadlineMs });
const actions = () => fake.requests.map((r) => r.action);

beforeAll(async () => {
  fake = startFakeEc2();
  provider = await startTestProvider(awsProvider, ["--endpoint", fake.url, "--max-attempts", "2", "--health-timeout-seconds", "0.5"], ENV);
});
afterAll(async () => {
  await provider?.close();
  await fake?.stop();
});
afterEach(() => {
  fake.answers.clear();
  fake.requests.length = 0;
  fake.aborted.length = 0;
});

describe("EC2 error codes become gRPC codes, with the request id", () => {
  test("RequestLimitExceeded is RESOURCE_EXHAUSTED after the SDK retried", async () => {
    fake.answers.set("DescribeInstances", () => ({ error: "RequestLimitExceeded", message: "Request limit exceeded.", requestId: "req-throttled" }));
    const err = await grpcError(call("ListInstances"));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain("RequestLimitExceeded");
    expect(err.details).toContain("request id req-throttled");
    // --max-attempts 2: the SDK backed off and tried once more.
    expect(actions()).toEqual(["DescribeInstances", "DescribeInstances"]);
  });

  test("the SDK's retries follow the shared policy: a Retry-After past the caller's deadline is not waited, the cloud's error comes back", async () => {
    fake.answers.set("DescribeInstances", () => ({ error: "RequestLimitExceeded", message: "Request limit exceeded.", status: 503, retryAfter: "8" }));
    const err = await grpcError(call("ListInstances", {}, 4_000));
    // The SDK's own strategy would sleep the 8 s and the call would end DEADLINE_EXCEEDED.
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(actions()).toEqual(["DescribeInstances"]);
  });

  test("AuthFailure is UNAUTHENTICATED, UnauthorizedOperation PERMISSION_DENIED", async () => {
    fake.answers.set("DescribeKeyPairs", () => ({ error: "AuthFailure", message: "AWS was not able to validate the provided access credentials" }));
    expect((await grpcError(call("ListKeyPairs"))).code).toBe(grpc.status.UNAUTHENTICATED);
    fake.answers.set("DescribeKeyPairs", () => ({ error: "UnauthorizedOperation", message: "You are not authorized to perform this operation." }));
    const denied = await grpcError(call("ListKeyPairs"));
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toContain("UnauthorizedOperation");
  });

  test("IncorrectInstanceState from EC2 itself is FAILED_PRECONDITION", async () => {
    // The instance looks stopped (so the provider's own state check passes),
    // then EC2 refuses the start: the race the pre-check cannot close.
    fake.answers.set("DescribeInstances", () => ({ xml: describeInstancesXml([instanceXml(ID, "stopped")]) }));
    fake.answers.set("StartInstances", () => ({ error: "IncorrectInstanceState", message: `The instance '${ID}' is not in a state from which it can be started.` }));
    const err = await grpcError(call("StartInstance", { instance_id: ID }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain("IncorrectInstanceState");
  });

  test("InvalidInstanceID.Malformed is INVALID_ARGUMENT naming instance_id; .NotFound is NOT_FOUND", async () => {
    fake.answers.set("TerminateInstances", () => ({ error: "InvalidInstanceID.Malformed", message: `Invalid id: "${ID}"` }));
    const bad = await grpcError(call("DeleteInstance", { instance_id: ID }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(bad)).toEqual(["instance_id"]);
    fake.answers.set("TerminateInstances", () => ({ error: "InvalidInstanceID.NotFound", message: `The instance ID '${ID}' does not exist` }));
    expect((await grpcError(call("DeleteInstance", { instance_id: ID }))).code).toBe(grpc.status.NOT_FOUND);
  });

  test("create errors name the request field; capacity is RESOURCE_EXHAUSTED", async () => {
    fake.answers.set("RunInstances", () => ({ error: "InvalidAMIID.Malformed", message: 'Invalid id: "ami-nope"' }));
    const badImage = await grpcError(call("CreateInstance", { name: "x", type: "t3.micro", image_id: "ami-nope" }));
    expect(badImage.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(badImage)).toEqual(["image_id"]);

    fake.answers.set("RunInstances", () => ({ error: "InsufficientInstanceCapacity", message: "We currently do not have sufficient t3.micro capacity.", status: 500 }));
    const full = await grpcError(call("CreateInstance", { name: "x", type: "t3.micro", image_id: "ami-0abcdef1234567890" }));
    expect(full.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  test("an unreadable 5xx answer is UNAVAILABLE, an unreachable endpoint too", async () => {
    // moto answers an unknown DescribeInstances filter with an HTML 500 page.
    fake.answers.set("DescribeInstances", () => ({ html: "<html><title>500</title></html>", status: 500 }));
    expect((await grpcError(call("ListInstances", { filters: { "no-such-filter": "x" } }))).code).toBe(grpc.status.UNAVAILABLE);

    const dead = await startTestProvider(awsProvider, ["--endpoint", `http://127.0.0.1:${await freePort()}`, "--max-attempts", "1"], ENV);
    try {
      const err = await grpcError(dead.client.call("ListInstances", {}, { deadlineMs: 30_000 }));
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.details).toContain("could not be reached");
    } finally {
      await dead.close();
    }
  });
});

describe("idempotency on the wire", () => {
  test("a keyed create sends a ClientToken derived from the key; a retry sends the same one", async () => {
    // moto ignores ClientToken, so the token EC2 deduplicates by is checked
    // here, where the request the SDK sent is visible.
    fake.answers.set("DescribeInstances", () => ({ xml: describeInstancesXml([]) }));
    fake.answers.set("RunInstances", () => ({ xml: runInstancesXml(instanceXml(ID, "pending")) }));
    const spec = { name: "web", type: "t3.micro", image_id: "ami-0abcdef1234567890", idempotency_key: "deploy-17" };
    await call("CreateInstance", spec);
    await call("CreateInstance", spec);
    await call("CreateInstance", { ...spec, idempotency_key: "deploy-18" });
    const runs = fake.requests.filter((r) => r.action === "RunInstances");
    expect(runs.map((r) => r.params.get("ClientToken"))).toEqual([clientTokenFor("deploy-17"), clientTokenFor("deploy-17"), clientTokenFor("deploy-18")]);
    // The key is also written as a tag, and looked up before each launch.
    const tags = new Map<string, string>();
    for (const [k, v] of runs[0]!.params) if (/^TagSpecification\.1\.Tag\.\d+\.(Key|Value)$/.test(k)) tags.set(k, v);
    expect([...tags.values()]).toContain("skyclust:idempotency-key");
    const lookup = fake.requests.find((r) => r.action === "DescribeInstances")!;
    expect(lookup.params.get("Filter.1.Name")).toBe("tag:skyclust:idempotency-key");
    expect(lookup.params.get("Filter.1.Value.1")).toBe("deploy-17");
  });

  test("an unkeyed create still carries a ClientToken so the SDK's own retries cannot launch twice", async () => {
    fake.answers.set("RunInstances", () => ({ xml: runInstancesXml(instanceXml(ID, "pending")) }));
    await call("CreateInstance", { name: "web", type: "t3.micro", image_id: "ami-0abcdef1234567890" });
    const run = fake.requests.find((r) => r.action === "RunInstances")!;
    expect(run.params.get("ClientToken")).toBeTruthy();
  });
});

describe("health and deadlines", () => {
  test("HealthCheck reports an endpoint that does not answer as unhealthy instead of failing", async () => {
    fake.answers.set("DescribeRegions", () => ({ hang: true }));
    const res = await call("HealthCheck");
    expect(res.healthy).toBe(false);
    expect(res.checks.cloud_api).toContain("no answer within 500 ms");
  });

  test("HealthCheck reports an EC2 error as unhealthy", async () => {
    fake.answers.set("DescribeRegions", () => ({ error: "AuthFailure" }));
    const res = await call("HealthCheck");
    expect(res.healthy).toBe(false);
    expect(res.message).toContain("AuthFailure");
  });

  test("the caller's deadline cancels the EC2 call", async () => {
    fake.answers.set("DescribeInstances", () => ({ hang: true }));
    const err = await grpcError(call("ListInstances", {}, 500));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // The deadline reached EC2's side too: the SDK dropped the request.
    for (let i = 0; i < 100 && fake.aborted.length === 0; i++) await Bun.sleep(50);
    expect(fake.aborted).toEqual(["DescribeInstances"]);
  });
});
