// The compiled openstack binary, copied ALONE into a minimal root
// filesystem (scripts/chroot.ts) and run as the distroless nonroot user,
// authenticates against the REAL OpenStack testbed (127.0.0.1 is the same
// network inside the chroot) and lists a real server through gRPC. Fails,
// never skips, when the testbed is down.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildProviders } from "../../scripts/build";
import { NONROOT_UID, freePort, makeMinimalRoot, waitForServing, type MinimalRoot } from "../../scripts/chroot";
import { ProviderClient } from "../../shared/testing/client";
import { requireTestbed, testbedEnv } from "./testing/testbed";

let outdir: string;
let root: MinimalRoot;
let env: Record<string, string>;

beforeAll(async () => {
  env = testbedEnv("demo");
  await requireTestbed(env);
  outdir = mkdtempSync("/tmp/skyclust-os-binary-");
  const [binary] = await buildProviders({ providers: ["openstack"], outdir });
  root = makeMinimalRoot(binary!);
}, 300_000);

afterAll(async () => {
  await root?.cleanup();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

test("the binary alone in a minimal root lists servers of the real OpenStack", async () => {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  // Credentials as a clouds.yaml inside the root, the way an operator ships them.
  const cloudsYaml = join(outdir, "clouds.yaml");
  writeFileSync(
    cloudsYaml,
    [
      "clouds:",
      "  testbed:",
      "    auth:",
      `      auth_url: ${env.OS_AUTH_URL}`,
      `      username: ${env.OS_USERNAME}`,
      `      password: ${env.OS_PASSWORD}`,
      `      project_name: ${env.OS_PROJECT_NAME}`,
      `      user_domain_id: ${env.OS_USER_DOMAIN_ID}`,
      `      project_domain_id: ${env.OS_PROJECT_DOMAIN_ID}`,
      `    region_name: ${env.OS_REGION_NAME}`,
      "",
    ].join("\n"),
  );
  root.addFile(cloudsYaml, "/etc/openstack/clouds.yaml", 0o644);
  const proc = root.spawn(["--host", "127.0.0.1", "--port", String(port)], { uid: NONROOT_UID, env: { OS_CLOUD: "testbed", HOME: "/home/nonroot" } });
  let stderr = "";
  const drain = (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  const client = new ProviderClient(address);
  let createdId = "";
  try {
    await waitForServing(address).catch((e) => {
      throw new Error(`${e.message}\n${stderr}`);
    });
    const name = `skybin${Date.now().toString(36)}`;
    const created = await client.call("CreateInstance", { name, type: "m1.tiny", image_id: "fake-image" }, { deadlineMs: 60_000 });
    createdId = created.instance.id;
    const { instances } = await client.call("ListInstances", { filters: { name } }, { deadlineMs: 60_000 });
    expect(instances.map((i: any) => i.id)).toEqual([createdId]);
    expect(instances[0].region).toBe(env.OS_REGION_NAME);
    const health = await client.call("HealthCheck", {}, { deadlineMs: 30_000 });
    expect(health.healthy).toBe(true);
    expect((await client.call("ListRegions")).regions.map((r: any) => r.id)).toContain(env.OS_REGION_NAME);
  } finally {
    if (createdId) await client.call("DeleteInstance", { instance_id: createdId }, { deadlineMs: 60_000 }).catch(() => undefined);
    client.close();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    await drain;
  }
  expect(stderr).not.toContain("ENOENT");
  expect(stderr).not.toContain(env.OS_PASSWORD === "secret" ? '"secret"' : env.OS_PASSWORD!);
}, 180_000);
