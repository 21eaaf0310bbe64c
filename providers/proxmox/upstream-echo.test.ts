// An upstream that echoes the request in its reason phrase and error body (a
// debugging proxy in front of PVE) must not hand the password, the ticket,
// the CSRF token or the API token secret to the caller or the log. The
// provider is started from PROXMOX_* variables exactly as main does, against
// the local PVE API (testing/fake-pve.ts).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcError } from "../../shared/testing/client";
import { errorTexts, leakedSecrets } from "../../shared/testing/echo";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FakePve } from "./testing/fake-pve";

const TOKEN_ID = "PROXMOX_USERNAME@pam!echo";
const TOKEN_SECRET = `7c1d2e3f-${Math.random().toString(16).slice(2, 6)}-4000-8000-a1b2c3d4e5f6`;
const PASSWORD = `Echo-Horse-${Math.random().toString(36).slice(2)}`;

let pki: TestPki;
let pve: FakePve;
let stateDir: string;
let provider: TestProvider | undefined;

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, password: PASSWORD, tokens: { [TOKEN_ID]: TOKEN_SECRET }, taskPolls: 1 }).start();
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-echo-"));
});

afterEach(async () => {
  await provider?.close();
  provider = undefined;
  pve.echoFailures.length = 0;
});

afterAll(async () => {
  await pve?.stop();
  pki?.cleanup();
  rmSync(stateDir, { recursive: true, force: true });
});

const baseEnv = () => ({ PROXMOX_HOST: pve.host, PROXMOX_CA_FILE: pki.caFile, PROXMOX_STATE_DIR: stateDir, PROXMOX_LOCK_RETRY_MS: "10" });
// A ticket's user name and time are not secret (and the user name is in
// ordinary messages): its signature is, like the CSRF token's.
const secrets = () => [PASSWORD, TOKEN_SECRET, ...pve.issuedSecrets().map((s) => s.slice(s.lastIndexOf(":") + 1))];

async function listFails(env: Record<string, string>) {
  provider = await startTestProvider(proxmoxProvider, [], env);
  return grpcError(provider.client.call("ListInstances", {}, { deadlineMs: 20_000 }));
}

describe("upstream errors that echo the request", () => {
  test("the ticket login echoed (form body with the password)", async () => {
    pve.echoFailures.push({ path: /^\/access\/ticket$/, status: 400 });
    const err = await listFails({ ...baseEnv(), PROXMOX_USER: "PROXMOX_USERNAME", PROXMOX_REALM: "pam", PROXMOX_PASSWORD: PASSWORD });
    expect(err.details).toContain("Proxmox: ");
    expect(err.details).toContain("HTTP 400");
    expect(err.details).toContain("POST /api2/json/access/ticket");
    expect(leakedSecrets([...errorTexts(err), ...provider!.logs], secrets())).toEqual([]);
  });

  test("an API call echoed (cookie with the ticket)", async () => {
    pve.echoFailures.push({ path: /^\/cluster\/resources$/, status: 500 });
    const err = await listFails({ ...baseEnv(), PROXMOX_USER: "PROXMOX_USERNAME", PROXMOX_REALM: "pam", PROXMOX_PASSWORD: PASSWORD });
    expect(err.details).toContain("(HTTP 500)");
    expect(err.details).toContain("/cluster/resources");
    expect(pve.issuedSecrets().length).toBeGreaterThan(0);
    expect(leakedSecrets([...errorTexts(err), ...provider!.logs], secrets())).toEqual([]);
  });

  test("an API call echoed (Authorization with the API token secret)", async () => {
    pve.echoFailures.push({ path: /^\/cluster\/resources$/, status: 500 });
    const err = await listFails({ ...baseEnv(), PROXMOX_TOKEN_ID: TOKEN_ID, PROXMOX_TOKEN_SECRET: TOKEN_SECRET });
    expect(err.details).toContain("(HTTP 500)");
    expect(leakedSecrets([...errorTexts(err), ...provider!.logs], secrets())).toEqual([]);
  });
});
