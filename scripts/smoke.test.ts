// Design trap 1: each compiled binary, copied ALONE into a minimal root
// filesystem (binary, glibc files, CA certificates, /proc, /dev; no
// node_modules, no proto files, no build tree) and run as the distroless
// nonroot user, serves every service in sandbox mode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { SERVICE_NAME } from "../shared/grpc/descriptors";
import { ProviderClient } from "../shared/testing/client";
import { ReflectionClient, importViolations } from "../shared/testing/reflection-client";
import { PROVIDERS, buildProviders } from "./build";
import { NONROOT_UID, makeMinimalRoot, type MinimalRoot } from "./chroot";

const PORTS: Record<string, number> = { aws: 50051, gcp: 50052, openstack: 50053, proxmox: 50054 };
const KNOWN_PRICES: Record<string, { type: string; region: string; hourly: number }> = {
  aws: { type: "m5.large", region: "us-east-1", hourly: 0.096 },
  gcp: { type: "e2-standard-2", region: "us-central1", hourly: 0.067006 },
};
let outdir: string;

beforeAll(async () => {
  outdir = mkdtempSync("/tmp/skyclust-smoke-build-");
  await buildProviders({ outdir });
}, 300_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

for (const name of PROVIDERS) {
  describe(`${name} binary alone in a minimal root filesystem`, () => {
    let root: MinimalRoot;
    beforeAll(() => {
      root = makeMinimalRoot(`${outdir}/skyclust-${name}-provider`);
      // A stray .env in the working directory must not configure a binary.
      Bun.write(`${root.dir}/.env`, "SKYCLUST_SANDBOX_SEED_INSTANCES=9\nSKYCLUST_REFLECTION=false\n");
    });
    afterAll(() => root.cleanup());

    test("--version and --help work without the build tree", async () => {
      const v = await root.run(["--version"], { uid: NONROOT_UID });
      expect(v.code).toBe(0);
      expect(v.stdout).toMatch(new RegExp(`^skyclust-${name}-provider \\d+\\.\\d+\\.\\d+`));
      const h = await root.run(["--help"], { uid: NONROOT_UID });
      expect(h.stdout).toContain(`serve on port ${PORTS[name]}`);
    });

    test("serves health, reflection and the provider service in sandbox mode; SIGTERM exits 0", async () => {
      const served = await root.serve(["--sandbox"], { uid: NONROOT_UID });
      const address = served.address;
      try {
        const hc = await root.run(["healthcheck", "--addr", address], { uid: NONROOT_UID });
        expect(hc.stdout).toContain("SERVING");
        expect(hc.code).toBe(0);

        const reflection = new ReflectionClient(address);
        expect(await reflection.listServices()).toContain(SERVICE_NAME);
        expect(importViolations(await reflection.resolveClosure(SERVICE_NAME))).toEqual([]);
        reflection.close();

        const client = new ProviderClient(address);
        const info = await client.call("GetProviderInfo");
        expect(info.name).toBe(name);
        expect(info.capabilities.mode).toBe("sandbox");
        const list = await client.call("ListInstances", { region: "*" });
        expect(list.instances.length).toBeGreaterThan(0);
        expect((await client.call("ListInstances", {})).instances.length).toBe(2); // not the .env's 9
        // The price catalog is bundled: a known published price from the binary alone.
        const known = KNOWN_PRICES[name];
        const quote = await client.call("GetCostEstimate", { instance_type: known?.type ?? list.instances[0].type, region: list.instances[0].region, duration: "1h", ...(known ? { region: known.region } : {}) });
        if (known) expect(quote.hourly_rate).toBe(known.hourly);
        else expect(quote.hourly_rate).toBeGreaterThan(0);
        client.close();
      } finally {
        expect(await served.stop()).toBe(0);
      }
      expect(served.stderr()).not.toContain("ENOENT");
    });
  });
}
