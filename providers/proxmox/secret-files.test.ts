// PROXMOX_PASSWORD_FILE and PROXMOX_TOKEN_SECRET_FILE against the PVE
// stand-in, which accepts only the password and token secrets the test says
// are valid now. A StartInstance waiting on its task is the call in flight.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { SecretVolume } from "../../shared/testing/secret-volume";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FakePve } from "./testing/fake-pve";

const TOKEN_ID = "PROXMOX_USERNAME@pam!skyclust";
const OLD_SECRET = "5f8a1c2e-0000-4000-8000-a1b2c3d4e5f6";
const NEW_SECRET = "9b0d7e11-1111-4111-8111-f6e5d4c3b2a1";
const OLD_PASSWORD = "Correct-Horse-Battery-7";
const NEW_PASSWORD = "Tr0ub4dor-and-3";

let pki: TestPki;
let pve: FakePve;
let stateDir: string;
const started: TestProvider[] = [];
const volumes: SecretVolume[] = [];

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, password: OLD_PASSWORD, tokens: { [TOKEN_ID]: OLD_SECRET }, taskPolls: 1 }).start();
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-state-"));
});

afterAll(async () => {
  for (const p of started) await p.close().catch(() => {});
  for (const v of volumes) v.remove();
  await pve?.stop();
  pki?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<TestProvider> {
  const p = await startTestProvider(proxmoxProvider, [], { PROXMOX_HOST: pve.host, PROXMOX_CA_FILE: pki.caFile, PROXMOX_STATE_DIR: stateDir, PROXMOX_TASK_POLL_MS: "10", ...env });
  started.push(p);
  return p;
}
function volume(files: Record<string, string>): SecretVolume {
  const v = new SecretVolume(files);
  volumes.push(v);
  return v;
}
const call = <T = any>(p: TestProvider, method: string, req: object = {}) => p.client.call<T>(method, req, { deadlineMs: 20_000 });

test("ticket login: a wrong password in the file is UNAUTHENTICATED; once fixed, the next call logs in with it", async () => {
  const v = volume({ password: "wrong-password\n" });
  const p = await start({ PROXMOX_USER: "PROXMOX_USERNAME", PROXMOX_REALM: "pam", PROXMOX_PASSWORD_FILE: v.path("password") });
  expect((await grpcError(call(p, "ListRegions"))).code).toBe(status.UNAUTHENTICATED);
  v.update({ password: `${OLD_PASSWORD}\n` });
  expect((await call(p, "ListRegions")).regions.length).toBe(2);
  const logs = p.logs.join("\n");
  expect(logs).toContain('"msg":"credentials reloaded"');
  expect(logs).toContain("PROXMOX_PASSWORD_FILE");
  expect(logs).not.toContain(OLD_PASSWORD);
}, 30_000);

test("ticket login: a call in flight during a password change finishes; the next call logs in with the new password", async () => {
  pve.password = OLD_PASSWORD;
  const v = volume({ password: OLD_PASSWORD });
  const p = await start({ PROXMOX_USER: "PROXMOX_USERNAME", PROXMOX_REALM: "pam", PROXMOX_PASSWORD_FILE: v.path("password") });
  await call(p, "ListRegions");
  const logins = pve.loginCount;

  const hold = pve.holdNextTask("qmstart");
  const inFlight = call(p, "StartInstance", { instance_id: "vmpvetest/qemu/110" });
  await hold.started;
  // The operator changes the password in PVE and in the Secret.
  pve.password = NEW_PASSWORD;
  v.update({ password: NEW_PASSWORD });
  hold.release();
  expect((await inFlight).success).toBe(true);

  await call(p, "ListRegions");
  expect(pve.loginCount).toBe(logins + 1);
  expect(p.logs.join("\n")).toContain("credentials changed: logging in to Proxmox again");
  expect(p.logs.join("\n")).not.toContain(NEW_PASSWORD);
}, 30_000);

test("API token: a call in flight during a token rotation finishes; later requests carry the new secret, and only it", async () => {
  const v = volume({ "token-secret": OLD_SECRET });
  const p = await start({ PROXMOX_TOKEN_ID: TOKEN_ID, PROXMOX_TOKEN_SECRET_FILE: v.path("token-secret") });
  await call(p, "ListRegions");

  const hold = pve.holdNextTask("qmstop");
  const inFlight = call(p, "StopInstance", { instance_id: "vmpvetest/qemu/110", force: true });
  await hold.started;
  // New token secret issued, old one revoked; the task polls that follow use the new one.
  v.update({ "token-secret": NEW_SECRET });
  pve.tokens = { [TOKEN_ID]: NEW_SECRET };
  hold.release();
  expect((await inFlight).success).toBe(true);
  expect((await call(p, "ListRegions")).regions.length).toBe(2);

  v.update({ "token-secret": "00000000-dead-4000-8000-000000000000" });
  expect((await grpcError(call(p, "ListRegions"))).code).toBe(status.UNAUTHENTICATED);
  expect(p.logs.join("\n")).not.toMatch(new RegExp(`${OLD_SECRET}|${NEW_SECRET}`));
}, 30_000);

test("PROXMOX_PASSWORD and PROXMOX_PASSWORD_FILE together refuse to start, naming both", async () => {
  const v = volume({ password: OLD_PASSWORD });
  await expect(start({ PROXMOX_USER: "root", PROXMOX_PASSWORD: "x", PROXMOX_PASSWORD_FILE: v.path("password") })).rejects.toThrow(
    "set PROXMOX_PASSWORD (--pve-password) or PROXMOX_PASSWORD_FILE (--pve-password-file), not both",
  );
});
