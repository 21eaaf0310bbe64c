// The provider serves before its first Keystone login: start-up no longer
// waits for a token (0.5-0.9 s on the testbed). What needs the token, or
// the default region its catalog decides, logs in at the first call; a
// burst of such calls shares one login, and a failed login is each call's
// own clear error. Against the local Keystone/Nova fake, whose token
// answers the test holds back (FakeOpenStack.holdAuth) instead of timing.
import { afterEach, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { healthStatus } from "../../shared/testing/health-client";
import type { OpenStackBackend } from "./backend";
import { openstackProvider } from "./definition";
import { FakeOpenStack } from "./testing/fake-openstack";

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The provider (no region configured) against a fake whose only compute region is Zeta. */
async function start(password = PASSWORD): Promise<{ fake: FakeOpenStack; provider: TestProvider; release: () => void }> {
  const fake = new FakeOpenStack({ password: PASSWORD, regions: ["Zeta"] }).start();
  cleanups.push(() => fake.stop());
  const release = fake.holdAuth();
  cleanups.push(release);
  const home = mkdtempSync(join(tmpdir(), "skyclust-os-lazy-"));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const provider = await startTestProvider(openstackProvider, [], {
    HOME: home,
    OS_AUTH_URL: `${fake.url}/identity/v3`,
    OS_USERNAME: "admin",
    OS_PASSWORD: password,
    OS_PROJECT_ID: "p1",
  });
  cleanups.push(() => provider.close());
  return { fake, provider, release };
}

const tokenPosts = (fake: FakeOpenStack) => fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/auth/tokens"));

/** Resolves once `cond` holds (the test's own timeout bounds the wait). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await Bun.sleep(2);
}

/** Counts the calls that reached the point of asking the backend for its default region. */
function countAsking(provider: TestProvider): () => number {
  const backend = provider.started.backend as OpenStackBackend;
  const resolve = backend.resolveDefaultRegion.bind(backend);
  let asking = 0;
  backend.resolveDefaultRegion = (signal) => {
    asking++;
    return resolve(signal);
  };
  return () => asking;
}

describe("start-up before the first Keystone login", () => {
  test("serves while Keystone has not answered; a burst of calls needing the default region shares one login and gets the catalog's region", async () => {
    const { fake, provider, release } = await start();
    // Started and SERVING with no token issued: the login is not the start's.
    expect(await healthStatus(provider.address)).toBe("SERVING");
    expect(tokenPosts(fake)).toEqual([]);

    const asking = countAsking(provider);
    const burst = Promise.all(Array.from({ length: 6 }, () => provider.client.call("ListInstances", {}, { deadlineMs: 30_000 })));
    await until(() => asking() === 6);
    // Every call waits on the one login begun once serving (held by the fake; maybe still on its way there).
    expect(fake.authCount).toBeLessThanOrEqual(1);
    release();
    const pages = await burst;
    for (const page of pages) expect(page.instances.map((i: any) => i.region)).toEqual(["Zeta"]);
    expect(fake.computeRequests().every((r) => r.path.startsWith("/compute/Zeta/"))).toBe(true);
    expect(fake.authCount).toBe(1);
    expect(tokenPosts(fake).map((r) => r.status)).toEqual([201]);

    const info = await provider.client.call("GetProviderInfo");
    expect(info.capabilities.default_region).toBe("Zeta");
    expect(provider.logs.some((l) => l.includes("openstack: authenticated") && l.includes('"default_region":"Zeta"'))).toBe(true);
  });

  test("other RPCs that leave region empty get the catalog's default too (key pairs, instance status, health)", async () => {
    const { fake, provider, release } = await start();
    const asking = countAsking(provider);
    const calls = [provider.client.call("ListKeyPairs", {}), provider.client.call("GetInstanceStatus", { instance_id: "f5dc173b-6804-445a-a6d8-c705dad5b5eb" }), provider.client.call("HealthCheck")];
    // Both instance calls wait for the login (HealthCheck's Keystone check does too, before it asks).
    await until(() => asking() === 2);
    release();
    const [keys, instance, health] = await Promise.all(calls);
    expect(keys.key_pairs.length).toBeGreaterThan(0);
    expect(keys.key_pairs.every((k: any) => k.region === "Zeta")).toBe(true);
    expect(instance.status).toBe("running");
    expect(health.healthy).toBe(true);
    expect(health.checks.nova).toContain("compute API answering in Zeta");
    // Each went to Zeta, the region the catalog named, not the "RegionOne" fallback (no endpoint there).
    const compute = fake.computeRequests().map((r) => r.path);
    expect(compute.some((p) => p.endsWith("/os-keypairs"))).toBe(true);
    expect(compute.some((p) => p.includes("/servers/f5dc173b"))).toBe(true);
    expect(compute.every((p) => p.startsWith("/compute/Zeta/"))).toBe(true);
    expect(fake.authCount).toBe(1);
  });

  test("bad input is refused before any login", async () => {
    const { fake, provider } = await start();
    const err = await grpcError(provider.client.call("GetInstanceStatus", { instance_id: "" }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const key = await grpcError(provider.client.call("CreateKeyPair", { key_pair_name: "" }));
    expect(key.code).toBe(status.INVALID_ARGUMENT);
    expect(tokenPosts(fake)).toEqual([]);
  });

  test("a failed first login: the log warns at start; still serving; calls are UNAUTHENTICATED with Keystone's refusal, HealthCheck is unhealthy; the password shows nowhere", async () => {
    const wrong = `wrong-${PASSWORD}`;
    const { provider, release } = await start(wrong);
    release();
    // Shown at start, before any call: the server begins the login once serving.
    await until(() => provider.logs.some((l) => l.includes("openstack: first authentication failed")));
    const err = await grpcError(provider.client.call("ListInstances", {}));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.details).toContain("keystone rejected");
    expect(err.details).not.toContain(wrong);
    const health = await provider.client.call("HealthCheck");
    expect(health.healthy).toBe(false);
    expect(health.checks.keystone).toStartWith("failed: UNAUTHENTICATED");
    // grpc.health.v1 says whether the process serves (until shutdown); the cloud's state is HealthCheck's.
    expect(await healthStatus(provider.address)).toBe("SERVING");
    expect(provider.logs.join("\n")).not.toContain(wrong);
  });
});
