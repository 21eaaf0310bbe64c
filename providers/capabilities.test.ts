// Every provider in the registry reports the fixed capability vocabulary
// (shared/capabilities.ts) from its sandbox, through a real gRPC client
// over loopback. Each provider's cloud-mode suite checks the same against
// its real peer (moto, the recorded GCE and PVE servers, the OpenStack
// testbed).
import { afterAll, describe, expect, test } from "bun:test";
import { CAPABILITY_EXTRAS, CAPABILITY_FLAGS, SERVER_CAPABILITY_KEYS } from "../shared/capabilities";
import { capabilityFlags, capabilityProblems } from "../shared/testing/capabilities";
import { startTestProvider, type TestProvider } from "../shared/testing/harness";
import { loadAllDefinitions } from "./index";

const definitions = await loadAllDefinitions();
const started: TestProvider[] = [];
afterAll(() => Promise.all(started.map((p) => p.close())));

async function providerInfo(def: (typeof definitions)[number], args: string[] = []) {
  const p = await startTestProvider(def, ["--sandbox", "--sandbox-seed-instances", "0", ...args]);
  started.push(p);
  return p.client.call<{ capabilities: Record<string, string> }>("GetProviderInfo");
}

const SANDBOX_PRICE_SOURCE: Record<string, string> = { aws: "catalog", gcp: "catalog", openstack: "demo-rate-card", proxmox: "demo-rate-card" };

describe("capability vocabulary in every sandbox", () => {
  for (const def of definitions) {
    test(`${def.name}: exactly the vocabulary's keys, every flag "true" or "false", every extra set`, async () => {
      const { capabilities } = await providerInfo(def);
      expect(capabilityProblems(capabilities)).toEqual([]);
      // The sandbox has no provider-specific details: its keys are the vocabulary's, no more, no fewer.
      expect(Object.keys(capabilities).sort()).toEqual([...CAPABILITY_FLAGS, ...CAPABILITY_EXTRAS, ...SERVER_CAPABILITY_KEYS].sort());
      expect(capabilities.price_source).toBe(SANDBOX_PRICE_SOURCE[def.name]!);
      // The sandbox keeps no disks or networks and lists regions by fanning out.
      const flags = capabilityFlags(capabilities);
      expect(flags).toMatchObject({ create_instance: true, root_volume: false, network_placement: false, list_all_regions_native: false, ssh_config: true });
      // Without an SSH target there is no machine to run a command on or tunnel to.
      expect(flags).toMatchObject({ ssh_exec: false, ssh_tunnels: false });
    });
  }

  test("with --sandbox-ssh-target the sandbox says it can run commands and open tunnels", async () => {
    const { capabilities } = await providerInfo(definitions[0]!, ["--sandbox-ssh-target", "127.0.0.1:22"]);
    expect(capabilities.ssh_exec).toBe("true");
    expect(capabilities.ssh_tunnels).toBe("true");
  });
});
