// The shipped Proxmox VE roles (providers/proxmox/policy/roles.json) proven
// against the PVE stand-in, which checks an API token's privileges the way
// PVE's access control does: each endpoint's privilege on its ACL path
// (/vms/{vmid}, /storage/{id}, /sdn/zones/...), 403 "Permission check failed
// (/vms/100, VM.PowerMgmt)" when one is missing, and guests the token may not
// audit left out of /cluster/resources (PVE hides them; it never says 403).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FakePve } from "./testing/fake-pve";

const ROLES: Record<string, string[]> = JSON.parse(readFileSync(join(import.meta.dir, "policy", "roles.json"), "utf8"));
const OPERATOR = ROLES.SkyClustOperator!;
const AUDIT = ROLES.SkyClustAudit!;
const SECRET = "0b5c7a2e-7777-4777-8777-123456789abc";
const TEMPLATE = 901;

let pki: TestPki;
let pve: FakePve;
let stateDir: string;
let seq = 0;

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, taskPolls: 1 }).start();
  // A cluster firewall security group for the security_groups case (modelled endpoints, see FakePve.securityGroups).
  pve.securityGroups.set("web", { rules: [] });
  // The template's disk and NIC, as a real cloud-init template has them (not in the recordings).
  Object.assign(pve.guest(TEMPLATE)!.config, { scsi0: "local-lvm:base-901-disk-0,size=2G", net0: "virtio=BC:24:11:00:09:01,bridge=vmbr0", boot: "order=scsi0" });
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-policy-"));
});

afterAll(async () => {
  await pve?.stop();
  pki?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** A new stopped or running QEMU guest, made by the test (as an admin would). */
function guest(running: boolean): string {
  const vmid = 5000 + ++seq;
  const base = pve.guest(110)!;
  (pve as any).guests.set(vmid, {
    resource: { ...structuredClone(base.resource), vmid, id: `qemu/${vmid}`, name: `g${vmid}`, status: running ? "running" : "stopped" },
    config: { ...structuredClone(base.config), name: `g${vmid}` },
    current: undefined,
    agent: structuredClone(pve.guest(100)?.agent),
  });
  return `vmpvetest/qemu/${vmid}`;
}

async function withToken<T>(privileges: string[], fn: (p: TestProvider) => Promise<T>): Promise<T> {
  const tokenId = `skyclust@pve!policy${++seq}`;
  pve.tokens[tokenId] = SECRET;
  pve.tokenPrivileges[tokenId] = privileges;
  const p = await startTestProvider(proxmoxProvider, [], {
    PROXMOX_HOST: pve.host,
    PROXMOX_CA_FILE: pki.caFile,
    PROXMOX_STATE_DIR: join(stateDir, String(seq)),
    PROXMOX_TASK_POLL_MS: "10",
    PROXMOX_TOKEN_ID: tokenId,
    PROXMOX_TOKEN_SECRET: SECRET,
    SKYCLUST_RATE_VCPU_HOUR: "0.01",
    SKYCLUST_RATE_GIB_HOUR: "0.005",
  });
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

interface RpcCase {
  rpc: string;
  /** Privileges the RPC cannot do without (besides VM.Audit to see the guest or template). */
  needs: string[];
  read: boolean;
  request(): object;
}

const CASES: RpcCase[] = [
  { rpc: "GetProviderInfo", needs: [], read: true, request: () => ({}) },
  { rpc: "ListRegions", needs: [], read: true, request: () => ({}) },
  { rpc: "ListInstances", needs: [], read: true, request: () => ({}) },
  { rpc: "GetInstanceStatus", needs: [], read: true, request: () => ({ instance_id: guest(true) }) },
  { rpc: "GetCostEstimate", needs: [], read: true, request: () => ({ instance_type: "small", region: "vmpvetest", duration: "1h" }) },
  { rpc: "ListKeyPairs", needs: [], read: true, request: () => ({}) },
  // Key pairs are resource pools in the cluster (keystore.ts): creating one needs Pool.Allocate on /pool/{id}.
  { rpc: "CreateKeyPair", needs: ["Pool.Allocate"], read: false, request: () => ({ key_pair_name: `kp${++seq}` }) },
  {
    rpc: "CreateInstance",
    // vpc_id (a bridge), tags and root_volume_size make every configuration step run.
    needs: ["VM.Clone", "VM.Allocate", "Datastore.AllocateSpace", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Cloudinit", "VM.Config.Network", "SDN.Use", "VM.Config.Options", "VM.Config.Disk", "VM.PowerMgmt"],
    read: false,
    request: () => ({ name: `web${++seq}`, type: "small", region: "vmpvetest", image_id: String(TEMPLATE), vpc_id: "vmbr1", tags: { web: "" }, root_volume_size: 12 }),
  },
  {
    rpc: "CreateInstance",
    // security_groups alone: net0 gets firewall=1, the guest firewall is enabled and gets group rules.
    needs: ["VM.Clone", "VM.Allocate", "Datastore.AllocateSpace", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Cloudinit", "VM.Config.Network", "SDN.Use", "VM.Config.Disk", "VM.PowerMgmt"],
    read: false,
    request: () => ({ name: `fw${++seq}`, type: "small", region: "vmpvetest", image_id: String(TEMPLATE), security_groups: ["web"], root_volume_size: 12 }),
  },
  { rpc: "StartInstance", needs: ["VM.PowerMgmt"], read: false, request: () => ({ instance_id: guest(false) }) },
  { rpc: "StopInstance", needs: ["VM.PowerMgmt"], read: false, request: () => ({ instance_id: guest(true) }) },
  { rpc: "RestartInstance", needs: ["VM.PowerMgmt"], read: false, request: () => ({ instance_id: guest(true) }) },
  // A running guest is stopped first, then destroyed.
  { rpc: "DeleteInstance", needs: ["VM.PowerMgmt", "VM.Allocate"], read: false, request: () => ({ instance_id: guest(true) }) },
];

type Outcome = { ok: true; res: any } | { ok: false; code: number; details: string };
async function run(p: TestProvider, c: RpcCase): Promise<Outcome> {
  try {
    return { ok: true, res: await p.client.call(c.rpc, c.request(), { deadlineMs: 20_000 }) };
  } catch (err) {
    const e = await grpcError(Promise.reject(err));
    return { ok: false, code: e.code, details: e.details };
  }
}
const summary = (c: RpcCase, o: Outcome) => (o.ok ? { rpc: c.rpc, ok: true } : { rpc: c.rpc, ok: false, code: o.code, details: o.details });

test("the roles: SkyClustAudit within SkyClustOperator; every privilege the RPC table needs is in the operator role, nothing else is", () => {
  for (const p of AUDIT) expect(OPERATOR).toContain(p);
  const used = new Set(["VM.Audit", "VM.GuestAgent.Audit", "Pool.Audit", ...CASES.flatMap((c) => c.needs)]);
  expect([...used].sort()).toEqual([...OPERATOR].sort());
});

test("SkyClustOperator: every RPC succeeds", async () => {
  await withToken(OPERATOR, async (p) => {
    for (const c of CASES) expect(summary(c, await run(p, c))).toEqual({ rpc: c.rpc, ok: true });
    expect((await p.client.call("HealthCheck")).healthy).toBe(true);
  });
}, 30_000);

test("SkyClustAudit: exactly the read RPCs succeed; every write is PERMISSION_DENIED with PVE's permission check text", async () => {
  await withToken(AUDIT, async (p) => {
    for (const c of CASES) {
      const o = await run(p, c);
      if (c.read) {
        expect(summary(c, o)).toEqual({ rpc: c.rpc, ok: true });
        continue;
      }
      expect({ rpc: c.rpc, code: (o as any).code }).toEqual({ rpc: c.rpc, code: status.PERMISSION_DENIED });
      expect((o as any).details).toMatch(/Permission check failed \(\/(vms|storage|sdn|pool)\/[^,]+, [A-Za-z.]+\)/);
    }
  });
}, 30_000);

describe("one privilege removed from SkyClustOperator", () => {
  for (const privilege of OPERATOR.filter((p) => p !== "VM.Audit" && p !== "VM.GuestAgent.Audit" && p !== "Pool.Audit")) {
    test(`without ${privilege}: the RPCs that need it are PERMISSION_DENIED naming it, all others succeed`, async () => {
      await withToken(OPERATOR.filter((p) => p !== privilege), async (p) => {
        for (const c of CASES) {
          const o = await run(p, c);
          if (!c.needs.includes(privilege)) {
            expect(summary(c, o)).toEqual({ rpc: c.rpc, ok: true });
            continue;
          }
          expect({ rpc: c.rpc, code: (o as any).code }).toEqual({ rpc: c.rpc, code: status.PERMISSION_DENIED });
          expect((o as any).details).toContain(`, ${privilege})`);
        }
      });
    }, 30_000);
  }

  test("without VM.Audit: PVE hides every guest, so listings are empty and named guests are NOT_FOUND, never INTERNAL", async () => {
    await withToken(OPERATOR.filter((p) => p !== "VM.Audit"), async (p) => {
      expect((await p.client.call("ListInstances", {})).instances).toEqual([]);
      for (const c of CASES.filter((c) => c.rpc !== "ListInstances")) {
        const o = await run(p, c);
        if (o.ok) continue;
        expect({ rpc: c.rpc, code: o.code }).toEqual({ rpc: c.rpc, code: status.NOT_FOUND });
      }
    });
  });

  test("without Pool.Audit (and so without Pool.Allocate): PVE hides the pools, so ListKeyPairs is empty, never an error", async () => {
    await withToken(OPERATOR, (p) => p.client.call("CreateKeyPair", { key_pair_name: `seen${++seq}` }));
    await withToken(OPERATOR.filter((p) => p !== "Pool.Audit" && p !== "Pool.Allocate"), async (p) => {
      expect((await p.client.call("ListKeyPairs", {})).key_pairs).toEqual([]);
    });
    await withToken(AUDIT, async (p) => {
      expect((await p.client.call("ListKeyPairs", {})).key_pairs.length).toBeGreaterThan(0);
    });
  });

  test("without VM.GuestAgent.Audit: instances are still read, only without the guest agent's addresses", async () => {
    const vm100 = async (p: TestProvider) => (await p.client.call("ListInstances", { region: "vmpvetest" })).instances.find((i: any) => i.id === "vmpvetest/qemu/100");
    const withAgent = await withToken(OPERATOR, vm100);
    const without = await withToken(OPERATOR.filter((p) => p !== "VM.GuestAgent.Audit"), vm100);
    expect(withAgent.status).toBe("running");
    expect(withAgent.private_ip || withAgent.public_ip).not.toBe("");
    expect(without).toMatchObject({ status: "running", private_ip: "", public_ip: "" });
  });
});
