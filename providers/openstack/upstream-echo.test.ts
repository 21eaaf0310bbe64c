// An upstream that echoes the request in its error body (a debugging proxy,
// a service in debug mode) must not hand our password or token to the
// caller or the log. The provider is started from OS_* variables exactly as
// main does, against the local Keystone/Nova (testing/fake-openstack.ts)
// answering with the request quoted in Keystone's and Nova's error shapes.
import { afterEach, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import { errorTexts, leakedSecrets } from "../../shared/testing/echo";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { openstackProvider } from "./definition";
import { FakeOpenStack } from "./testing/fake-openstack";

const PASSWORD = `Echo-Pw-${Math.random().toString(36).slice(2)}`;
let fake: FakeOpenStack;
let provider: TestProvider | undefined;

afterEach(async () => {
  await provider?.close();
  provider = undefined;
  await fake?.stop();
});

async function start(before: (f: FakeOpenStack) => void = () => {}): Promise<TestProvider> {
  fake = new FakeOpenStack({ password: PASSWORD, regions: ["regionOne"] }).start();
  before(fake);
  provider = await startTestProvider(openstackProvider, [], {
    OS_AUTH_URL: `${fake.url}/identity/v3`,
    OS_USERNAME: "admin",
    OS_PASSWORD: PASSWORD,
    OS_PROJECT_NAME: "admin",
    OS_REGION_NAME: "regionOne",
  });
  return provider;
}

describe("upstream errors that echo the request", () => {
  test("Keystone echoing the auth body: the password reaches neither the caller nor the log", async () => {
    const p = await start((f) => f.fail({ method: "POST", path: /\/auth\/tokens$/, times: Infinity, status: 400, echo: true }));
    const err = await grpcError(p.client.call("ListInstances", { region: "regionOne" }, { deadlineMs: 20_000 }));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    // Still says what went wrong, and quotes the harmless part of the echo.
    expect(err.details).toContain("keystone refused the auth request");
    expect(err.details).toContain("POST /identity/v3/auth/tokens");
    // The fake really did echo it (the test can fail).
    expect(fake.requests.some((r) => r.body?.auth?.identity?.password?.user?.password === PASSWORD)).toBe(true);
    expect(leakedSecrets([...errorTexts(err), ...p.logs], [PASSWORD])).toEqual([]);
  });

  test("Nova echoing the headers: the X-Auth-Token reaches neither the caller nor the log", async () => {
    const p = await start();
    fake.fail({ method: "GET", path: /\/servers\/detail$/, times: Infinity, status: 400, echo: true });
    const err = await grpcError(p.client.call("ListInstances", { region: "regionOne" }, { deadlineMs: 20_000 }));
    const tokens = [...new Set(fake.requests.map((r) => r.token).filter((t): t is string => Boolean(t)))];
    expect(tokens.length).toBeGreaterThan(0);
    expect(err.details).toContain("nova:");
    expect(err.details).toContain("GET /compute/regionOne/v2.1/servers/detail");
    expect(leakedSecrets([...errorTexts(err), ...p.logs], [PASSWORD, ...tokens])).toEqual([]);
  });
});
