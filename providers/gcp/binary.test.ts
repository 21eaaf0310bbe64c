// Design trap 1 for the real backend: the compiled gcp binary, copied ALONE
// into a minimal root filesystem (scripts/chroot.ts) and run as the
// distroless nonroot user, talks to Compute Engine in cloud mode - here the
// local fake GCE server on 127.0.0.1 - authenticating with a
// service-account key (self-signed RS256 JWTs the server verifies). gax and
// the compute client must not read any file of the build tree at run time.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { buildProviders } from "../../scripts/build";
import { NONROOT_UID, freePort, makeMinimalRoot, waitForServing, type MinimalRoot } from "../../scripts/chroot";
import { generateKeyPair } from "../../shared/keys";
import { ProviderClient } from "../../shared/testing/client";
import { FakeGce, makeServiceAccount, type ServiceAccount } from "./testing/fake-gce";

const PROJECT = "project_name";
const ACCESS_TOKEN = "ya29.binary-test-token";
let outdir: string;
let root: MinimalRoot;
let fake: FakeGce;
let sa: ServiceAccount;

beforeAll(async () => {
  outdir = mkdtempSync("/tmp/skyclust-gcp-build-");
  const [binary] = await buildProviders({ providers: ["gcp"], outdir });
  root = makeMinimalRoot(binary!);
  sa = makeServiceAccount(PROJECT);
  root.addFile(sa.keyFile, "/etc/skyclust/gcp-key.json", 0o444);
  // Where `gcloud auth application-default login` leaves credentials.
  root.addFile(sa.keyFile, "/home/nonroot/.config/gcloud/application_default_credentials.json", 0o444);
  fake = new FakeGce({ project: PROJECT, serviceAccount: sa, accessToken: ACCESS_TOKEN }).start();
}, 300_000);

afterAll(async () => {
  await root?.cleanup();
  await fake?.stop();
  sa?.cleanup();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

test("the gcp binary alone serves the real backend against Compute Engine with a service-account key", async () => {
  const port = await freePort();
  const proc = root.spawn([], {
    uid: NONROOT_UID,
    env: {
      SKYCLUST_HOST: "127.0.0.1",
      SKYCLUST_PORT: String(port),
      GCP_ENDPOINT: fake.url,
      GOOGLE_APPLICATION_CREDENTIALS: "/etc/skyclust/gcp-key.json",
      GCP_REGION: "us-central1",
    },
  });
  let stderr = "";
  const drain = (async () => {
    for await (const c of proc.stderr) stderr += new TextDecoder().decode(c);
  })();
  const address = `127.0.0.1:${port}`;
  const client = new ProviderClient(address);
  try {
    await waitForServing(address).catch((e) => {
      throw new Error(`${e.message}\n${stderr}`);
    });
    const info = await client.call("GetProviderInfo", {}, { deadlineMs: 15_000 });
    expect(info.capabilities).toMatchObject({ mode: "cloud", project: PROJECT, auth: "service-account-key" });

    const list = await client.call("ListInstances", { region: "us-central2", page_size: 3 }, { deadlineMs: 15_000 });
    expect(list.instances.length).toBe(3);
    expect(list.next_page_token).not.toBe("");

    const created = await client.call("CreateInstance", { name: "from-binary", type: "n1-standard-1", region: "us-central1-a", tags: { env: "smoke" }, idempotency_key: "bin-1" }, { deadlineMs: 20_000 });
    expect(created.instance).toMatchObject({ name: "from-binary", zone: "us-central1-a", tags: { env: "smoke" } });

    const imported = await client.call("ImportKeyPair", { key_pair_name: "smoke", public_key: generateKeyPair("ed25519", "smoke").publicKey }, { deadlineMs: 15_000 });
    expect(imported.key_pair.key_pair_name).toBe("smoke");

    // Every other Compute Engine call the provider makes, through the bundled
    // clients: the build leaves parts of google-gax out (gax-rest-plugin.ts),
    // and a left-out part reached here would fail the call.
    const id = "us-central1-a/from-binary";
    for (const method of ["StopInstance", "StartInstance", "RestartInstance"]) {
      expect(await client.call(method, { instance_id: id }, { deadlineMs: 20_000 })).toMatchObject({ success: true });
    }
    expect((await client.call("GetInstanceStatus", { instance_id: id }, { deadlineMs: 15_000 })).status).toBe("running");
    const regions = await client.call("ListRegions", {}, { deadlineMs: 15_000 });
    expect(regions.regions.map((r: any) => r.id).sort()).toEqual(["europe-west1", "us-central1", "us-central2"]);
    const everywhere = await client.call("ListInstances", { region: "*", page_size: 50 }, { deadlineMs: 15_000 });
    expect(everywhere.instances.map((i: any) => i.name)).toContain("from-binary");
    const keys = await client.call("ListKeyPairs", {}, { deadlineMs: 15_000 });
    expect(keys.key_pairs.map((k: any) => k.key_pair_name)).toContain("smoke");
    await client.call("DeleteKeyPair", { key_pair_name: "smoke" }, { deadlineMs: 20_000 });
    await client.call("DeleteInstance", { instance_id: id }, { deadlineMs: 20_000 });
    const deleted = await client.call("GetInstanceStatus", { instance_id: id }, { deadlineMs: 15_000 }).catch((e) => e);
    expect(deleted.code).toBe(status.NOT_FOUND);

    // Error paths decode Google error payloads: they must not need files either.
    const missing = await client.call("GetInstanceStatus", { instance_id: "us-central1-a/nope" }, { deadlineMs: 15_000 }).catch((e) => e);
    expect(missing.code).toBe(status.NOT_FOUND);
    fake.nextInsertError = { code: "QUOTA_EXCEEDED", message: "Quota 'CPUS' exceeded.", http: 403 };
    const quota = await client.call("CreateInstance", { name: "over-quota", type: "n1-standard-1", region: "us-central1-a" }, { deadlineMs: 15_000 }).catch((e) => e);
    expect(quota.code).toBe(status.RESOURCE_EXHAUSTED);

    // Every request reached the server with a verified self-signed JWT.
    expect(fake.requests.length).toBeGreaterThan(4);
    expect(fake.requests.every((r) => r.auth === "jwt")).toBe(true);
  } finally {
    client.close();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    await drain;
  }
  expect(stderr).not.toContain("ENOENT");
  expect(stderr).not.toContain("PRIVATE KEY");
}, 120_000);

test("the binary finds Application Default Credentials in the gcloud well-known file", async () => {
  const served = await root.serve([], { uid: NONROOT_UID, env: { GCP_ENDPOINT: fake.url, GCP_PROJECT_ID: PROJECT, HOME: "/home/nonroot" } });
  const client = new ProviderClient(served.address);
  try {
    const n = fake.requests.length;
    const info = await client.call("GetProviderInfo", {}, { deadlineMs: 15_000 });
    expect(info.capabilities.auth).toBe("application-default");
    expect(fake.requests.length).toBeGreaterThan(n);
    expect(fake.requests.slice(n).every((r) => r.auth === "jwt")).toBe(true);
  } finally {
    client.close();
    expect(await served.stop()).toBe(0);
  }
}, 60_000);

test("the binary sends a ready access token (GOOGLE_OAUTH_ACCESS_TOKEN) as a bearer token", async () => {
  const served = await root.serve([], { uid: NONROOT_UID, env: { GCP_ENDPOINT: fake.url, GCP_PROJECT_ID: PROJECT, GOOGLE_OAUTH_ACCESS_TOKEN: ACCESS_TOKEN } });
  const client = new ProviderClient(served.address);
  try {
    const n = fake.requests.length;
    expect((await client.call("ListRegions", {}, { deadlineMs: 15_000 })).regions.length).toBe(3);
    expect((await client.call("ListInstances", { region: "us-central2", page_size: 3 }, { deadlineMs: 15_000 })).instances.length).toBe(3);
    expect(fake.requests.length).toBeGreaterThan(n);
    expect(fake.requests.slice(n).every((r) => r.auth === "token")).toBe(true);
  } finally {
    client.close();
    expect(await served.stop()).toBe(0);
  }
  expect(served.stderr()).not.toContain(ACCESS_TOKEN);
}, 60_000);
