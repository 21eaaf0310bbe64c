// AWS keys from files (AWS_ACCESS_KEY_ID_FILE, AWS_SECRET_ACCESS_KEY_FILE in
// a Kubernetes-style Secret volume), rotated while the provider runs,
// against moto with IAM enforcement on: moto checks every signature, so a
// wrong secret is refused and only the keys on disk now are accepted.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import { GateProxy } from "../../shared/testing/gate-proxy";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { SecretVolume } from "../../shared/testing/secret-volume";
import { awsProvider } from "./definition";
import { startMoto, type MotoServer } from "./moto-server";
import { ALLOW_ALL, createAccessKey, createIamUser, enforceIam, type AccessKeys } from "./testing/moto-iam";

let moto: MotoServer;
let proxy: GateProxy;
let first: AccessKeys;
let second: AccessKeys;
let volume: SecretVolume;
let provider: TestProvider;

const files = (k: AccessKeys, secret = k.secretAccessKey) => ({ "access-key-id": k.accessKeyId, "secret-access-key": secret });
const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 30_000 });
const keyIdsSeen = () => proxy.requests.map((r) => /Credential=([^/]+)\//.exec(String(r.headers.authorization))?.[1]);

beforeAll(async () => {
  moto = await startMoto();
  first = await createIamUser(moto.url, "skyclust-rotating", ALLOW_ALL);
  second = await createAccessKey(moto.url, "skyclust-rotating");
  await enforceIam(moto.url);
  proxy = await GateProxy.start(moto.url);
  // Starts with the right key id and a WRONG secret.
  volume = new SecretVolume(files(first, "not-the-secret"));
  provider = await startTestProvider(awsProvider, ["--endpoint", proxy.url, "--region", "us-east-1", "--max-attempts", "1"], {
    AWS_ACCESS_KEY_ID_FILE: volume.path("access-key-id"),
    AWS_SECRET_ACCESS_KEY_FILE: volume.path("secret-access-key"),
  });
}, 90_000);

afterAll(async () => {
  await provider?.close();
  await proxy?.stop();
  await moto?.stop();
  volume?.remove();
});

test("a wrong secret in the file is UNAUTHENTICATED; after the file is fixed the next call succeeds, no restart", async () => {
  const err = await grpcError(call("ListRegions"));
  expect(err.code).toBe(status.UNAUTHENTICATED);
  expect(err.details).toContain("AuthFailure");

  volume.update(files(first));
  const { regions } = await call("ListRegions");
  expect(regions.length).toBeGreaterThan(20);
  const logs = provider.logs.join("\n");
  expect(logs).toContain('"msg":"credentials reloaded"');
  expect(logs).toContain("AWS_SECRET_ACCESS_KEY_FILE");
  for (const k of [first, second]) expect(logs).not.toContain(k.secretAccessKey);
}, 30_000);

test("a call in flight during a rotation finishes with the keys it was signed with; the next call uses the new keys", async () => {
  const hold = proxy.holdNext((r) => r.body.includes("Action=DescribeInstances"));
  const inFlight = call("ListInstances", { region: "us-east-1" });
  const held = await hold.arrived;
  expect(held.headers.authorization).toContain(`Credential=${first.accessKeyId}/`);

  volume.update(files(second));
  hold.release();
  expect((await inFlight).instances).toEqual([]);

  const before = proxy.requests.length;
  await call("ListInstances", { region: "us-east-1" });
  expect(keyIdsSeen().slice(before)).toEqual([second.accessKeyId]);

  // And the value really is read live: a broken file breaks the next call.
  volume.update(files(second, "rotated-to-garbage"));
  expect((await grpcError(call("ListInstances", { region: "us-east-1" }))).code).toBe(status.UNAUTHENTICATED);
  volume.update(files(second));
  await call("ListInstances", { region: "us-east-1" });
}, 30_000);

test("AWS_SECRET_ACCESS_KEY and AWS_SECRET_ACCESS_KEY_FILE together refuse to start, naming both", async () => {
  const started = startTestProvider(awsProvider, ["--endpoint", proxy.url], {
    AWS_ACCESS_KEY_ID: first.accessKeyId,
    AWS_SECRET_ACCESS_KEY: first.secretAccessKey,
    AWS_SECRET_ACCESS_KEY_FILE: volume.path("secret-access-key"),
  });
  await expect(started).rejects.toThrow("set AWS_SECRET_ACCESS_KEY (--secret-access-key) or AWS_SECRET_ACCESS_KEY_FILE (--secret-access-key-file), not both");
});
