// An endpoint that echoes the request in its error body (a debugging proxy,
// an emulator) must not hand the OAuth token to the caller or the log. The
// provider is started from flags exactly as main does, against the local
// Compute Engine server (testing/fake-gce.ts) answering a 400 whose message
// quotes the request, Authorization header included.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { errorTexts, leakedSecrets } from "../../shared/testing/echo";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { gcpProvider } from "./definition";
import { FakeGce } from "./testing/fake-gce";

const PROJECT = "project_name";
const TOKEN = `ya29.a0Echo${Math.random().toString(36).slice(2)}-Secret_Part`;
let fake: FakeGce;
let provider: TestProvider;

beforeAll(async () => {
  fake = new FakeGce({ project: PROJECT, accessToken: TOKEN }).start();
  provider = await startTestProvider(gcpProvider, ["--endpoint", fake.url, "--region", "us-central1", "--project", PROJECT], { GOOGLE_OAUTH_ACCESS_TOKEN: TOKEN });
});

afterAll(async () => {
  await provider?.close();
  await fake?.stop();
});

describe("upstream errors that echo the request", () => {
  test("a 400 quoting the Authorization header: the token reaches neither the caller nor the log", async () => {
    fake.failures.push({ method: "GET", path: /\/instances\/echo-me$/, status: 400, reason: "invalid", echo: true, times: 1 });
    const err = await grpcError(provider.client.call("GetInstanceStatus", { instance_id: "us-central1-a/echo-me" }, { deadlineMs: 20_000 }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(err).length).toBe(1);
    // Still says what went wrong: the cloud, the reason, the request line.
    expect(err.details).toContain("Compute Engine:");
    expect(err.details).toContain("(invalid)");
    expect(err.details).toContain("/instances/echo-me");
    // The server really received (and echoed) the token: the test can fail.
    expect(fake.requests.some((r) => r.path.endsWith("/instances/echo-me"))).toBe(true);
    expect(leakedSecrets([...errorTexts(err), ...provider.logs], [TOKEN, TOKEN.slice("ya29.".length)])).toEqual([]);
  });
});
