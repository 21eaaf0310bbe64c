// OS_PASSWORD_FILE against the real OpenStack testbed (Keystone checks the
// password; nothing here is faked). Keystone and Nova are reached through
// proxies so a Nova call can be held in flight while the file changes; the
// Keystone proxy points the token's compute endpoint at the Nova proxy.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import type { GateProxy } from "../../shared/testing/gate-proxy";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { SecretVolume } from "../../shared/testing/secret-volume";
import { openstackProvider } from "./definition";
import { keystoneLogin, proxiedTestbed, requireTestbed, testbedEnv } from "./testing/testbed";

let env: Record<string, string>;
let proxies: Awaited<ReturnType<typeof proxiedTestbed>>;
let keystone: GateProxy;
let nova: GateProxy;
let volume: SecretVolume;
let provider: TestProvider;

const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 60_000 });
const authRequests = () => keystone.requests.filter((r) => r.method === "POST" && r.path.endsWith("/auth/tokens"));

beforeAll(async () => {
  env = testbedEnv("demo");
  await requireTestbed(env);
  proxies = await proxiedTestbed(env);
  ({ keystone, nova } = proxies);
  volume = new SecretVolume({ password: "certainly-not-the-password\n" });
  const { OS_PASSWORD: _password, ...rest } = env;
  provider = await startTestProvider(openstackProvider, [], {
    ...rest,
    OS_AUTH_URL: proxies.authUrl,
    OS_PASSWORD_FILE: volume.path("password"),
  });
}, 60_000);

afterAll(async () => {
  await provider?.close();
  await proxies?.stop();
  volume?.remove();
});

test("a wrong password in the file is UNAUTHENTICATED; once the file is fixed the next call succeeds, no restart", async () => {
  const err = await grpcError(call("ListInstances", { region: "RegionOne" }));
  expect(err.code).toBe(status.UNAUTHENTICATED);

  volume.update({ password: `${env.OS_PASSWORD}\n` });
  await call("ListInstances", { region: "RegionOne" });
  expect(nova.requests.length).toBeGreaterThan(0); // the listing really went through the Nova proxy
  const logs = provider.logs.join("\n");
  expect(logs).toContain('"msg":"credentials reloaded"');
  expect(logs).toContain("OS_PASSWORD_FILE");
  expect(logs).not.toContain(JSON.stringify(env.OS_PASSWORD)); // the testbed's password is a common word: look for it as a value
}, 60_000);

test("a Nova call in flight during a rotation finishes with its token; the next call authenticates with the new password", async () => {
  const hold = nova.holdNext((r) => r.method === "GET" && r.path.includes("/servers/detail"));
  const inFlight = call("ListInstances", { region: "RegionOne" });
  await hold.arrived;
  const authsBefore = authRequests().length;

  // The operator's new secret is wrong (say, a typo): the call already at
  // Nova is unaffected, the next one is refused, fixing the file heals it.
  volume.update({ password: "a-typo-in-the-new-password" });
  hold.release();
  expect(Array.isArray((await inFlight).instances)).toBe(true);
  expect(authRequests().length).toBe(authsBefore);

  expect((await grpcError(call("ListInstances", { region: "RegionOne" }))).code).toBe(status.UNAUTHENTICATED);
  expect(authRequests().at(-1)!.body).toContain("a-typo-in-the-new-password");

  volume.update({ password: env.OS_PASSWORD! });
  await call("ListInstances", { region: "RegionOne" });
  expect(provider.logs.join("\n")).not.toContain("a-typo-in-the-new-password");
}, 60_000);

test("OS_APPLICATION_CREDENTIAL_SECRET_FILE: a wrong secret is UNAUTHENTICATED, the fixed file works on the next call", async () => {
  // The member user makes (and afterwards deletes) an application credential of its own, as Keystone's default policy allows.
  const login = await keystoneLogin(env);
  const token = login.headers.get("x-subject-token")!;
  const userId = ((await login.json()) as any).token.user.id;
  const made = await fetch(`${env.OS_AUTH_URL}/users/${userId}/application_credentials`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-auth-token": token },
    body: JSON.stringify({ application_credential: { name: `skyclust-secret-file-${Date.now().toString(36)}`, description: "skyclust secret-files.test.ts; deleted by the test" } }),
  });
  expect(made.status).toBe(201);
  const cred = ((await made.json()) as any).application_credential as { id: string; secret: string };
  const v = new SecretVolume({ secret: "not-the-application-credential-secret" });
  let p: TestProvider | undefined;
  try {
    p = await startTestProvider(openstackProvider, [], {
      OS_AUTH_URL: env.OS_AUTH_URL!,
      OS_REGION_NAME: env.OS_REGION_NAME ?? "RegionOne",
      OS_APPLICATION_CREDENTIAL_ID: cred.id,
      OS_APPLICATION_CREDENTIAL_SECRET_FILE: v.path("secret"),
    });
    expect((await grpcError(p.client.call("ListInstances", { region: "RegionOne" }, { deadlineMs: 60_000 }))).code).toBe(status.UNAUTHENTICATED);
    v.update({ secret: cred.secret });
    await p.client.call("ListInstances", { region: "RegionOne" }, { deadlineMs: 60_000 });
    expect(p.logs.join("\n")).toContain("OS_APPLICATION_CREDENTIAL_SECRET_FILE");
    expect(p.logs.join("\n")).not.toContain(cred.secret);
  } finally {
    await p?.close();
    v.remove();
    await fetch(`${env.OS_AUTH_URL}/users/${userId}/application_credentials/${cred.id}`, { method: "DELETE", headers: { "x-auth-token": token } });
  }
}, 60_000);
