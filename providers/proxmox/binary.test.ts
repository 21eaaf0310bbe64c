// The compiled proxmox binary, copied alone into a minimal root filesystem
// (scripts/chroot.ts) and run as the distroless nonroot user against the
// local HTTPS PVE server: with the cluster CA copied into the root, and with
// a pinned fingerprint (node:tls inside the compiled binary).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildProviders } from "../../scripts/build";
import { NONROOT_UID, makeMinimalRoot, type MinimalRoot } from "../../scripts/chroot";
import { ProviderClient } from "../../shared/testing/client";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FIXTURE_PASSWORD, FakePve } from "./testing/fake-pve";

let outdir: string;
let root: MinimalRoot;
let pki: TestPki;
let pve: FakePve;

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, taskPolls: 1 }).start();
  outdir = mkdtempSync("/tmp/skyclust-pve-build-");
  const [binary] = await buildProviders({ providers: ["proxmox"], outdir });
  root = makeMinimalRoot(binary!);
  root.addFile(pki.caFile, "/etc/skyclust/pve-root-ca.pem", 0o644);
}, 300_000);

afterAll(async () => {
  await root?.cleanup();
  await pve?.stop();
  pki?.cleanup();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

async function serve(env: Record<string, string>, body: (client: ProviderClient) => Promise<void>): Promise<string> {
  const served = await root.serve([], {
    uid: NONROOT_UID,
    env: {
      HOME: "/home/nonroot",
      PROXMOX_HOST: `127.0.0.1:${pve.port}`,
      PROXMOX_USER: "PROXMOX_USERNAME",
      PROXMOX_REALM: "pam",
      PROXMOX_PASSWORD: FIXTURE_PASSWORD,
      PROXMOX_STATE_DIR: "/tmp/skyclust-proxmox",
      ...env,
    },
  });
  const client = new ProviderClient(served.address);
  try {
    await body(client);
  } finally {
    client.close();
    expect(await served.stop()).toBe(0);
  }
  const stderr = served.stderr();
  expect(stderr).not.toContain("PROXMOX_PASSWORD\"");
  return stderr;
}

test("lists the cluster through a CA file inside the root, and keeps key pairs in its state dir", async () => {
  const logs = await serve({ PROXMOX_CA_FILE: "/etc/skyclust/pve-root-ca.pem" }, async (client) => {
    const info = await client.call("GetProviderInfo");
    expect(info.capabilities).toMatchObject({ mode: "cloud", pve_tls: "ca-file" });
    const list = await client.call("ListInstances", {});
    expect(list.instances.map((i: any) => i.id)).toContain("vmpvetest/lxc/913");
    expect(list.instances.length).toBe(7);
    await client.call("CreateKeyPair", { key_pair_name: "from-binary" });
  });
  expect(logs).toContain("proxmox backend ready");
  await serve({ PROXMOX_CA_FILE: "/etc/skyclust/pve-root-ca.pem" }, async (client) => {
    const keys = await client.call("ListKeyPairs", {});
    expect(keys.key_pairs.map((k: any) => k.key_pair_name)).toEqual(["from-binary"]);
  });
}, 60_000);

test("a pinned fingerprint works inside the compiled binary, and a wrong one is refused", async () => {
  await serve({ PROXMOX_FINGERPRINT: pki.fingerprint }, async (client) => {
    expect((await client.call("ListInstances", {})).instances.length).toBe(7);
  });
  const before = pve.requests.length;
  const wrong = pki.fingerprint.replace(/^../, pki.fingerprint.startsWith("AA") ? "BB" : "AA");
  await serve({ PROXMOX_FINGERPRINT: wrong }, async (client) => {
    const err = await client.call("ListRegions").then(
      () => undefined,
      (e) => e,
    );
    expect(err?.code).toBe(14); // UNAVAILABLE
    expect(String(err?.details)).toContain("does not match PROXMOX_FINGERPRINT");
  });
  expect(pve.requests.length).toBe(before);
}, 60_000);

test("the password from PROXMOX_PASSWORD_FILE (root:65532 0440, as a Kubernetes Secret volume makes it), rotated while serving", async () => {
  // A Secret volume's layout inside the root: KEY -> ..data/KEY, files root-owned, group 65532, 0440.
  const vol = "/var/run/secrets/skyclust/proxmox";
  const write = (gen: string, value: string) => {
    mkdirSync(join(root.dir, vol, gen), { recursive: true });
    writeFileSync(join(root.dir, vol, gen, "password"), value, { mode: 0o440 });
    chownSync(join(root.dir, vol, gen, "password"), 0, NONROOT_UID);
  };
  const before = pve.password;
  pve.password = "Binary-Rotation-Pw-9"; // distinct from the variable names the log holds
  write("..1", "not-the-password");
  Bun.spawnSync(["ln", "-s", "..1", join(root.dir, vol, "..data")]);
  Bun.spawnSync(["ln", "-s", "..data/password", join(root.dir, vol, "password")]);
  const logs = await serve({ PROXMOX_PASSWORD: "", PROXMOX_PASSWORD_FILE: `${vol}/password`, PROXMOX_CA_FILE: "/etc/skyclust/pve-root-ca.pem" }, async (client) => {
    const denied = await client.call("ListRegions").then(
      () => undefined,
      (e) => e,
    );
    expect(denied?.code).toBe(16); // UNAUTHENTICATED
    write("..2", pve.password);
    Bun.spawnSync(["ln", "-sfn", "..2", join(root.dir, vol, "..data")]);
    expect((await client.call("ListRegions")).regions.length).toBe(2);
  });
  expect(logs).toContain("credentials reloaded");
  expect(logs).not.toContain(pve.password);
  pve.password = before;
}, 60_000);
