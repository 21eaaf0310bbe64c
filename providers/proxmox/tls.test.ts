// TLS policies against the local HTTPS PVE server: a CA file, a pinned
// certificate fingerprint, a wrong pin (refused before any byte is sent,
// so the password never leaves), no trust at all, and the insecure switch.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FIXTURE_PASSWORD, FakePve } from "./testing/fake-pve";

let pki: TestPki;
let pve: FakePve;
let stateDir: string;
const started: TestProvider[] = [];

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, taskPolls: 1 }).start();
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-tls-"));
});

afterAll(async () => {
  for (const p of started) await p.close().catch(() => {});
  await pve?.stop();
  pki?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function start(tls: Record<string, string>): Promise<TestProvider> {
  const p = await startTestProvider(proxmoxProvider, [], {
    PROXMOX_HOST: `https://127.0.0.1:${pve.port}`,
    PROXMOX_USER: "PROXMOX_USERNAME@pam",
    PROXMOX_PASSWORD: FIXTURE_PASSWORD,
    PROXMOX_STATE_DIR: stateDir,
    PROXMOX_TASK_POLL_MS: "10",
    ...tls,
  });
  started.push(p);
  return p;
}

test("a CA file verifies the node certificate", async () => {
  const p = await start({ PROXMOX_CA_FILE: pki.caFile });
  expect((await p.client.call("ListInstances", {})).instances.length).toBe(7);
});

test("a pinned SHA-256 fingerprint works without any CA, for reads and writes", async () => {
  const p = await start({ PROXMOX_FINGERPRINT: pki.fingerprint });
  expect((await p.client.call("GetProviderInfo")).capabilities.pve_tls).toBe("fingerprint");
  expect((await p.client.call("ListInstances", {})).instances.length).toBe(7);
  const before = pve.loginCount;
  const res = await p.client.call("StartInstance", { instance_id: "vmpvetest/qemu/110" });
  expect(res.success).toBe(true);
  expect(pve.guest(110)!.resource.status).toBe("running");
  await p.client.call("StopInstance", { instance_id: "vmpvetest/qemu/110", force: true });
  expect(pve.loginCount).toBe(before);
  // The pin is accepted in lower case without colons too.
  const q = await start({ PROXMOX_FINGERPRINT: pki.fingerprint.replace(/:/g, "").toLowerCase() });
  expect((await q.client.call("ListRegions")).regions.length).toBe(2);
});

test("a wrong fingerprint is refused before anything is sent", async () => {
  const wrong = pki.fingerprint.replace(/^../, pki.fingerprint.startsWith("AA") ? "BB" : "AA");
  const before = pve.requests.length;
  const logins = pve.loginCount;
  const p = await start({ PROXMOX_FINGERPRINT: wrong });
  const err = await grpcError(p.client.call("ListInstances", {}));
  expect(err.code).toBe(grpc.status.UNAVAILABLE);
  expect(err.details).toContain("does not match PROXMOX_FINGERPRINT");
  expect(pve.requests.length).toBe(before);
  expect(pve.loginCount).toBe(logins);
});

test("without a CA file or pin the self-signed cluster CA is not trusted", async () => {
  const before = pve.requests.length;
  const p = await start({});
  const err = await grpcError(p.client.call("ListRegions"));
  expect(err.code).toBe(grpc.status.UNAVAILABLE);
  expect(err.details).toContain("PROXMOX_CA_FILE");
  const other = await start({ PROXMOX_CA_FILE: pki.otherCaFile });
  expect((await grpcError(other.client.call("ListRegions"))).code).toBe(grpc.status.UNAVAILABLE);
  expect(pve.requests.length).toBe(before);
});

test("PROXMOX_INSECURE works only when asked for, and says so in the log", async () => {
  const p = await start({ PROXMOX_INSECURE: "true" });
  expect((await p.client.call("ListRegions")).regions.length).toBe(2);
  expect(p.logs.some((l) => JSON.parse(l).level === "warn" && l.includes("PROXMOX_INSECURE"))).toBe(true);
  expect((await p.client.call("GetProviderInfo")).capabilities.pve_tls).toBe("insecure");
});

test("conflicting or malformed TLS settings stop the start", async () => {
  await expect(start({ PROXMOX_CA_FILE: pki.caFile, PROXMOX_FINGERPRINT: pki.fingerprint })).rejects.toThrow("choose one TLS policy");
  await expect(start({ PROXMOX_FINGERPRINT: "AA:BB" })).rejects.toThrow("PROXMOX_FINGERPRINT");
  await expect(start({ PROXMOX_CA_FILE: join(stateDir, "missing.pem") })).rejects.toThrow("PROXMOX_CA_FILE");
});
