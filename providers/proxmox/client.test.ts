// PveClient directly against the local PVE server: ticket renewal before
// the two-hour expiry, CSRF only on writes, form encoding, error mapping.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ProviderError } from "../../shared/errors";
import { silentLogger } from "../../shared/log";
import { PveClient } from "./client";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FIXTURE_PASSWORD, FakePve } from "./testing/fake-pve";
import { createTransport } from "./transport";

let pki: TestPki;
let pve: FakePve;
beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key }).start();
});
afterAll(async () => {
  await pve?.stop();
  pki?.cleanup();
});

const signal = () => AbortSignal.timeout(10_000);

function client(now: () => number) {
  return new PveClient({
    baseUrl: `https://127.0.0.1:${pve.port}/api2/json`,
    auth: { kind: "ticket", username: "PROXMOX_USERNAME@pam", password: FIXTURE_PASSWORD },
    transport: createTransport({ caFile: pki.caFile }),
    log: silentLogger,
    lockRetryDelayMs: 1,
    now,
  });
}

test("the ticket is renewed before its two-hour lifetime ends, not on every call", async () => {
  let clock = 1_000_000;
  const c = client(() => clock);
  const logins = pve.loginCount;
  await c.get("/version", {}, signal());
  clock += 60 * 60 * 1000;
  await c.get("/nodes", {}, signal());
  expect(pve.loginCount).toBe(logins + 1);
  clock += 45 * 60 * 1000; // 1 h 45 min after the login
  await c.get("/nodes", {}, signal());
  expect(pve.loginCount).toBe(logins + 2);
  expect(c.loginCount).toBe(2);
});

test("PVE errors keep their reason phrase and map to the boundary's codes", async () => {
  const c = client(Date.now);
  const missing = await c.get<never>("/nodes/vmpvetest/qemu/4242/config", {}, signal()).catch((e) => e as ProviderError);
  expect(missing).toBeInstanceOf(ProviderError);
  expect(missing.code).toBe("NOT_FOUND");
  expect(missing.message).toContain("Configuration file 'nodes/vmpvetest/qemu-server/4242.conf' does not exist");
  pve.lockNextWrites(10);
  const locked = await c.post<never>("/nodes/vmpvetest/qemu/100/status/start", {}, signal()).catch((e) => e as ProviderError);
  expect(locked.code).toBe("UNAVAILABLE");
  expect(pve.requestsTo("POST", /\/qemu\/100\/status\/start$/).length).toBe(5); // 1 + 4 retries
  pve.lockNextWrites(0);
  const running = await c.post<never>("/nodes/vmpvetest/qemu/100/status/start", {}, signal()).catch((e) => e as ProviderError);
  expect(running.code).toBe("FAILED_PRECONDITION");
  expect(running.message).toContain("already running");
});
