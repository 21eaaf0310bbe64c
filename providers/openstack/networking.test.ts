// public_ip (floating IPs) and subnet_id against the REAL testbed: Nova with
// the fake virt driver and Debian's neutron-server with ML2 (no agents, see
// testbed/neutron.sh): network "private" with subnets private-subnet
// (10.0.0.0/24) and private-b (10.0.1.0/24) in the demo project, external
// network "public" (203.0.113.0/24), router demo-router between them.
// Through a real gRPC client as the member user. Fails (never skips) when
// the testbed is down or still runs the old Neutron stand-in.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import type { OpenStackBackend } from "./backend";
import { openstackProvider } from "./definition";
import { requireRealNeutron, requireTestbed, testbedEnv } from "./testing/testbed";

const RUN = `skyn${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const REGION = "RegionOne";
const WAIT_MS = 180_000;

let provider: TestProvider;
let backend: OpenStackBackend;
const created = new Set<string>();
const strayFloatingIps = new Set<string>();

const call = <T = any>(method: string, req: object = {}, p = provider) => p.client.call<T>(method, req, { deadlineMs: 120_000 });

/** Neutron as the member user, through the provider's own session (same token, same catalog). */
async function neutron<T = any>(path: string, init: { method?: string; body?: unknown; query?: Record<string, string | string[]> } = {}): Promise<T> {
  const endpoint = await backend.session.endpoint("network", REGION, AbortSignal.timeout(10_000));
  const res = await backend.session.call<T>("network", REGION, `${endpoint}/v2.0${path}`, { signal: AbortSignal.timeout(30_000), ...init }, "neutron");
  return res.body;
}
const subnetId = async (name: string) => (await neutron<{ subnets: { id: string }[] }>("/subnets", { query: { name } })).subnets[0]!.id;
const portsOf = async (serverId: string) => (await neutron<{ ports: any[] }>("/ports", { query: { device_id: serverId } })).ports;
const floatingIps = async (query: Record<string, string>) => (await neutron<{ floatingips: any[] }>("/floatingips", { query })).floatingips;

async function instance(id: string): Promise<any> {
  const page = await call("ListInstances", { region: REGION, filters: { name_regex: `^${RUN}` }, page_size: 500 });
  return page.instances.find((i: any) => i.id === id);
}

async function waitRunning(id: string): Promise<any> {
  const until = Date.now() + WAIT_MS;
  while (Date.now() < until) {
    const s = await call("GetInstanceStatus", { instance_id: id, region: REGION });
    if (s.status === "running") return instance(id);
    if (s.status === "error") throw new Error(`server ${id} went to ERROR`);
    await Bun.sleep(1000);
  }
  throw new Error(`server ${id} did not reach running`);
}

async function waitGone(id: string): Promise<void> {
  const until = Date.now() + WAIT_MS;
  while (Date.now() < until) {
    const err = await call("GetInstanceStatus", { instance_id: id, region: REGION }).then(() => undefined, (e) => e);
    if (err?.code === status.NOT_FOUND) return;
    await Bun.sleep(1000);
  }
  throw new Error(`server ${id} was not deleted`);
}

const create = async (name: string, extra: Record<string, unknown>) => {
  const res = await call("CreateInstance", { name: `${RUN}-${name}`, type: "m1.tiny", image_id: "fake-image", region: REGION, ...extra });
  created.add(res.instance.id);
  return res.instance;
};

beforeAll(async () => {
  const env = testbedEnv("demo");
  await requireTestbed(env);
  await requireRealNeutron();
  provider = await startTestProvider(openstackProvider, [], env);
  backend = provider.started.backend as OpenStackBackend;
}, 60_000);

afterAll(async () => {
  if (!provider) return;
  const ctx = { signal: AbortSignal.timeout(60_000), requestId: "cleanup", log: provider.started.log };
  for (const id of created) await backend.deleteInstance(ctx, { region: REGION, instanceId: id }).catch(() => undefined);
  for (const id of strayFloatingIps) await neutron(`/floatingips/${id}`, { method: "DELETE" }).catch(() => undefined);
  await provider.close();
});

describe("floating IPs and subnets on the real testbed", () => {
  test("capabilities say what the cloud supports", async () => {
    const info = await call("GetProviderInfo");
    expect(info.capabilities).toMatchObject({ public_ip: "true", network_placement: "true" });
    expect(info.capabilities.public_ip_source).toBe("floating IP from the only external network, released on delete");
    expect(info.capabilities.subnet_id_source).toBe("a port on that subnet");
  });

  test("public_ip: a floating IP from the external network on the server's port, reported as public_ip, released on delete", async () => {
    const made = await create("fip", { public_ip: true });
    const inst = await waitRunning(made.id);
    expect(inst.public_ip).toMatch(/^203\.0\.113\.\d+$/);
    expect(inst.private_ip).toMatch(/^10\.0\.[01]\.\d+$/);
    // Neutron agrees: that address is a floating IP on this server's port, marked as the provider's.
    const [port] = await portsOf(made.id);
    const [fip] = await floatingIps({ floating_ip_address: inst.public_ip });
    expect(fip.port_id).toBe(port.id);
    expect(fip.description).toStartWith("skyclust:owned");
    expect(port.description).toStartWith("skyclust:owned");

    await call("DeleteInstance", { instance_id: made.id, region: REGION });
    await waitGone(made.id);
    created.delete(made.id);
    expect(await floatingIps({ floating_ip_address: inst.public_ip })).toEqual([]);
    expect((await neutron<{ ports: any[] }>("/ports", { query: { id: port.id } })).ports).toEqual([]);
  }, 240_000);

  test("subnet_id: the server's port sits on that subnet", async () => {
    const subnet = await subnetId("private-b");
    const made = await create("subnet", { subnet_id: subnet });
    const inst = await waitRunning(made.id);
    expect(inst.private_ip).toMatch(/^10\.0\.1\.\d+$/);
    expect(inst.public_ip).toBe("");
    const [port] = await portsOf(made.id);
    expect(port.fixed_ips.map((f: any) => f.subnet_id)).toEqual([subnet]);
  }, 240_000);

  test("DeleteInstance releases only the floating IPs the provider allocated", async () => {
    const made = await create("byhand", { subnet_id: await subnetId("private-subnet") });
    await waitRunning(made.id);
    const [port] = await portsOf(made.id);
    // The user attaches a floating IP of their own: it is theirs to keep.
    const external = (await neutron<{ networks: any[] }>("/networks", { query: { "router:external": "true" } })).networks[0];
    const theirs = (await neutron<{ floatingip: any }>("/floatingips", { method: "POST", body: { floatingip: { floating_network_id: external.id, port_id: port.id } } })).floatingip;
    strayFloatingIps.add(theirs.id);
    await call("DeleteInstance", { instance_id: made.id, region: REGION });
    await waitGone(made.id);
    created.delete(made.id);
    const [still] = await floatingIps({ floating_ip_address: theirs.floating_ip_address });
    expect(still.id).toBe(theirs.id);
  }, 240_000);

  test("security groups go onto the provider's port; an unknown one is INVALID_ARGUMENT naming it", async () => {
    const made = await create("sg", { subnet_id: await subnetId("private-subnet"), security_groups: ["default"] });
    await waitRunning(made.id);
    const [port] = await portsOf(made.id);
    const [group] = (await neutron<{ security_groups: any[] }>("/security-groups", { query: { name: "default", project_id: port.project_id } })).security_groups;
    expect(port.security_groups).toEqual([group.id]);
    const err = await grpcError(call("CreateInstance", { name: `${RUN}-sg2`, type: "m1.tiny", image_id: "fake-image", subnet_id: await subnetId("private-subnet"), security_groups: ["default", "no-such-group"] }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["security_groups[1]"]);
  }, 240_000);

  test("when Nova refuses the server, the port and floating IP made for it are removed again", async () => {
    const portsBefore = (await neutron<{ ports: any[] }>("/ports")).ports.length;
    const fipsBefore = (await floatingIps({})).length;
    // The key pair is only checked by Nova, after the port and floating IP exist.
    const err = await grpcError(call("CreateInstance", { name: `${RUN}-nokey`, type: "m1.tiny", image_id: "fake-image", public_ip: true, key_pair_name: `${RUN}-missing` }));
    expect([status.INVALID_ARGUMENT, status.NOT_FOUND]).toContain(err.code);
    expect((await neutron<{ ports: any[] }>("/ports")).ports.length).toBe(portsBefore);
    expect((await floatingIps({})).length).toBe(fipsBefore);
  }, 120_000);

  test("a subnet with no router to the external network: FAILED_PRECONDITION, and the port is removed", async () => {
    // A network of the demo project that no router joins to "public".
    const net = (await neutron<{ network: any }>("/networks", { method: "POST", body: { network: { name: `${RUN}-island` } } })).network;
    try {
      const sub = (await neutron<{ subnet: any }>("/subnets", { method: "POST", body: { subnet: { network_id: net.id, ip_version: 4, cidr: "10.9.0.0/24", enable_dhcp: false } } })).subnet;
      const err = await grpcError(call("CreateInstance", { name: `${RUN}-island`, type: "m1.tiny", image_id: "fake-image", public_ip: true, subnet_id: sub.id }));
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toContain("no router connects");
      expect((await neutron<{ ports: any[] }>("/ports", { query: { network_id: net.id } })).ports.filter((p) => p.device_owner !== "network:dhcp")).toEqual([]);
    } finally {
      await neutron(`/networks/${net.id}`, { method: "DELETE" }).catch(() => undefined);
    }
  }, 120_000);

  test("with two external networks the default is ambiguous: FAILED_PRECONDITION naming them; --floating-network picks one", async () => {
    const admin = await startTestProvider(openstackProvider, [], testbedEnv("admin"));
    const adminBackend = admin.started.backend as OpenStackBackend;
    const endpoint = await adminBackend.session.endpoint("network", REGION, AbortSignal.timeout(10_000));
    const asAdmin = (path: string, init: { method?: string; body?: unknown } = {}) =>
      adminBackend.session.call<any>("network", REGION, `${endpoint}/v2.0${path}`, { signal: AbortSignal.timeout(30_000), ...init }, "neutron");
    const second = (await asAdmin("/networks", { method: "POST", body: { network: { name: `${RUN}-ext2`, "router:external": true, "provider:network_type": "flat", "provider:physical_network": "public2" } } })).body.network;
    try {
      const err = await grpcError(call("CreateInstance", { name: `${RUN}-two`, type: "m1.tiny", image_id: "fake-image", public_ip: true }));
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toContain("2 external networks");
      expect(err.details).toContain(`${RUN}-ext2`);
      expect(err.details).toContain("--floating-network");
      // Configured by name, the same request gets past the choice of network.
      const chosen = await startTestProvider(openstackProvider, ["--floating-network", "public"], testbedEnv("demo"));
      try {
        const made = (await call("CreateInstance", { name: `${RUN}-chosen`, type: "m1.tiny", image_id: "fake-image", public_ip: true }, chosen)).instance;
        created.add(made.id);
        expect((await waitRunning(made.id)).public_ip).toMatch(/^203\.0\.113\.\d+$/);
        expect((await call("GetProviderInfo", {}, chosen)).capabilities.public_ip_source).toContain("external network public");
      } finally {
        await chosen.close();
      }
    } finally {
      await asAdmin(`/networks/${second.id}`, { method: "DELETE" }).catch(() => undefined);
      await admin.close();
    }
  }, 240_000);

  test("bad subnet_id, a subnet outside vpc_id, and an unknown floating network are refused before anything is made", async () => {
    const portsBefore = (await neutron<{ ports: any[] }>("/ports")).ports.length;
    let err = await grpcError(call("CreateInstance", { name: `${RUN}-bad`, type: "m1.tiny", image_id: "fake-image", subnet_id: "00000000-0000-4000-8000-000000000000" }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["subnet_id"]);
    const external = (await neutron<{ networks: any[] }>("/networks", { query: { "router:external": "true" } })).networks[0];
    err = await grpcError(call("CreateInstance", { name: `${RUN}-bad`, type: "m1.tiny", image_id: "fake-image", subnet_id: await subnetId("private-subnet"), vpc_id: external.id }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["subnet_id"]);
    expect(err.details).toContain("belongs to network");

    const other = await startTestProvider(openstackProvider, ["--floating-network", "no-such-net"], testbedEnv("demo"));
    try {
      err = await grpcError(call("CreateInstance", { name: `${RUN}-bad`, type: "m1.tiny", image_id: "fake-image", public_ip: true }, other));
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toContain('"no-such-net"');
      expect(err.details).toContain("public");
    } finally {
      await other.close();
    }
    expect((await neutron<{ ports: any[] }>("/ports")).ports.length).toBe(portsBefore);
  }, 120_000);
});
