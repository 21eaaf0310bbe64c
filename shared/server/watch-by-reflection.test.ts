// WatchInstances as grpcurl consumes it: a client that knows nothing but
// what server reflection tells it decodes the stream's events (the
// initial ADDED events, then SYNCED, each with a resume token).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { awsProvider } from "../../providers/aws/definition";
import { SERVICE_NAME } from "../grpc/descriptors";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { callByReflection } from "../testing/reflection-client";

let p: TestProvider;
beforeAll(async () => {
  p = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-seed-instances", "2"]);
});
afterAll(() => p?.close());

test("a reflection-only client reads the watch's initial state and its SYNCED marker", async () => {
  const events = await callByReflection(p.address, `${SERVICE_NAME}/WatchInstances`, { region: "us-east-1" }, 20_000, (m) => m.type === "SYNCED");
  expect(events.map((e: any) => e.type)).toEqual(["ADDED", "ADDED", "SYNCED"]);
  expect(events[0].instance.id).toMatch(/^i-/);
  expect(events[0].instance.region).toBe("us-east-1");
  expect(events.every((e: any) => e.resume_token.length > 0 && e.observed_at.seconds !== "0")).toBe(true);
});
