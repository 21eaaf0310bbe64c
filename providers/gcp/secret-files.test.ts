// GOOGLE_OAUTH_ACCESS_TOKEN_FILE (a token minted outside the provider and
// rewritten before it expires, e.g. by a sidecar or Vault's GCP secrets
// engine) against the local Compute Engine server, which accepts only the
// tokens the test says are valid now.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import { GateProxy } from "../../shared/testing/gate-proxy";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { SecretVolume } from "../../shared/testing/secret-volume";
import { gcpProvider } from "./definition";
import { FakeGce } from "./testing/fake-gce";

const PROJECT = "project_name";
const OLD = "ya29.token-before-rotation";
const NEW = "ya29.token-after-rotation";
let fake: FakeGce;
let proxy: GateProxy;
let volume: SecretVolume;
let provider: TestProvider;

const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 20_000 });
const tokensSeen = (from: number) => proxy.requests.slice(from).map((r) => String(r.headers.authorization).replace(/^Bearer /, ""));

beforeAll(async () => {
  fake = new FakeGce({ project: PROJECT, accessToken: OLD }).start();
  proxy = await GateProxy.start(fake.url);
  volume = new SecretVolume({ token: "ya29.expired-long-ago\n" });
  provider = await startTestProvider(gcpProvider, ["--endpoint", proxy.url, "--project", PROJECT], { GOOGLE_OAUTH_ACCESS_TOKEN_FILE: volume.path("token") });
});

afterAll(async () => {
  await provider?.close();
  await proxy?.stop();
  await fake?.stop();
  volume?.remove();
});

test("a stale token in the file is UNAUTHENTICATED; once the file holds a valid one, the next call succeeds without a restart", async () => {
  const err = await grpcError(call("ListRegions"));
  expect(err.code).toBe(status.UNAUTHENTICATED);
  expect(err.details).not.toContain("ya29");

  volume.update({ token: `${OLD}\n` });
  expect((await call("ListRegions")).regions.length).toBe(3);
  const logs = provider.logs.join("\n");
  expect(logs).toContain('"msg":"credentials reloaded"');
  expect(logs).toContain("GOOGLE_OAUTH_ACCESS_TOKEN_FILE");
  expect(logs).not.toContain("ya29.");
}, 30_000);

test("a call in flight during a rotation finishes; the next request carries the new token", async () => {
  const hold = proxy.holdNext((r) => r.method === "GET" && r.path.includes("/aggregated/instances"));
  const inFlight = call("ListInstances", { region: "*" });
  const held = await hold.arrived;
  expect(held.headers.authorization).toBe(`Bearer ${OLD}`);

  // The issuer hands out a new token and retires the old one.
  volume.update({ token: NEW });
  fake.accessTokens = new Set([NEW]);
  hold.release();
  expect((await inFlight).instances.length).toBeGreaterThan(0);

  const from = proxy.requests.length;
  expect((await call("ListRegions")).regions.length).toBe(3);
  expect(new Set(tokensSeen(from))).toEqual(new Set([NEW]));
}, 30_000);
