// Design trap 1 for the real backend: the compiled aws binary, copied alone
// into a minimal root filesystem (scripts/chroot.ts) and run as the
// distroless nonroot user, talks to moto through the AWS SDK baked into it:
// it creates an instance and lists it, with nothing from the build tree.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { buildProviders } from "../../scripts/build";
import { NONROOT_UID, makeMinimalRoot, type MinimalRoot } from "../../scripts/chroot";
import { ProviderClient } from "../../shared/testing/client";
import { startMoto, type MotoServer } from "./moto-server";

const AMI = "ami-04681a1dbd79675a5";
const SECRET = "binary-test-secret-value-0123456789";
let outdir: string;
let root: MinimalRoot;
let moto: MotoServer;

beforeAll(async () => {
  outdir = mkdtempSync("/tmp/skyclust-aws-build-");
  const [binary] = await buildProviders({ providers: ["aws"], outdir });
  root = makeMinimalRoot(binary!);
  moto = await startMoto();
}, 300_000);

afterAll(async () => {
  await root?.cleanup();
  await moto?.stop();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** Runs the binary in the root with `env`, hands a client to `use`, then SIGTERMs it. */
async function withBinary(env: Record<string, string>, use: (client: ProviderClient) => Promise<void>): Promise<string> {
  const served = await root.serve(["--region", "us-east-1"], {
    uid: NONROOT_UID,
    env: { HOME: "/home/nonroot", AWS_ACCESS_KEY_ID: "AKIDBINARYTEST", AWS_SECRET_ACCESS_KEY: SECRET, ...env },
  });
  const client = new ProviderClient(served.address);
  try {
    await use(client);
  } finally {
    client.close();
    expect(await served.stop()).toBe(0);
  }
  const stderr = served.stderr();
  expect(stderr).not.toContain("ENOENT");
  expect(stderr).not.toContain(SECRET);
  return stderr;
}

let createdId = "";

test("the aws binary alone in a minimal root creates and lists EC2 instances on moto (AWS_ENDPOINT_URL_EC2)", async () => {
  await withBinary({ AWS_ENDPOINT_URL_EC2: moto.url }, async (client) => {
    const info = await client.call("GetProviderInfo");
    expect(info.capabilities.mode).toBe("cloud");
    expect(info.supported_regions).toContain("us-east-1");
    const created = await client.call("CreateInstance", { name: "from-the-binary", type: "t3.micro", image_id: AMI, idempotency_key: "binary-1", tags: { via: "chroot" } });
    createdId = created.instance.id;
    expect(createdId).toMatch(/^i-/);
    const listed = await client.call("ListInstances", { filters: { "tag:via": "chroot" }, page_size: 2 });
    expect(listed.instances.map((i: any) => [i.id, i.name])).toEqual([[createdId, "from-the-binary"]]);
    expect((await client.call("HealthCheck")).healthy).toBe(true);
  });
}, 120_000);

test("the SDK's own AWS_ENDPOINT_URL works in the binary too", async () => {
  expect(createdId).not.toBe("");
  await withBinary({ AWS_ENDPOINT_URL: moto.url }, async (client) => {
    const listed = await client.call("ListInstances", { filters: { "tag:via": "chroot" } });
    expect(listed.instances.map((i: any) => i.id)).toEqual([createdId]);
  });
}, 120_000);
