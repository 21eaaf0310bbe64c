// The OpenStack role the provider needs is `member` (shipped with the policy
// rules it exercises in providers/openstack/policy/rules.json), proven
// against the real testbed: the demo user holds member (and the reader it
// implies), nothing more; every RPC succeeds as that user; and every API
// call the provider made, seen through proxies in front of Keystone, Nova
// and Glance (and Neutron), maps to exactly the shipped rules. A call this table does not
// know fails the test, so a new API call cannot ship without its rule.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair } from "../../shared/keys";
import { grpcError } from "../../shared/testing/client";
import { GateProxy, type SeenRequest } from "../../shared/testing/gate-proxy";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { openstackProvider } from "./definition";
import { keystoneLogin, requireRealNeutron, requireTestbed, testbedEnv } from "./testing/testbed";

const SHIPPED: { role: string; rules: Record<string, string[]>; only_when: Record<string, string> } = JSON.parse(readFileSync(join(import.meta.dir, "policy", "rules.json"), "utf8"));
const REGION = "RegionOne";
const RUN = `skyp${Date.now().toString(36)}`;
const NOVA = "http://127.0.0.1:8774";
const GLANCE = "http://127.0.0.1:9292";
const NEUTRON = "http://127.0.0.1:9696";
let env: Record<string, string>;
let keystone: GateProxy;
let nova: GateProxy;
let glance: GateProxy;
let neutron: GateProxy;
let provider: TestProvider;
let serverId = "";

const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 120_000 });

/** The policy rules (per oslo.policy name) one API request is checked against. */
function rulesFor(service: string, r: SeenRequest): string[] {
  const path = r.path.split("?")[0]!.replace(/\/+$/, "");
  const key = `${r.method} ${path}`;
  if (service === "keystone") {
    if (/^(GET \/v3|POST \/v3\/auth\/tokens)$/.test(key)) return [];
    if (key === "HEAD /v3/auth/tokens") return ["identity:check_token"];
    if (key === "GET /v3/regions") return ["identity:list_regions"];
  }
  if (service === "glance") {
    if (/^GET (\/|\/versions)?$/.test(key) || key === "GET ") return [];
    if (key === "GET /v2/images") return ["get_images"];
    if (/^GET \/v2\/images\/[^/]+$/.test(key)) return ["get_image"];
  }
  if (service === "nova") {
    const n = key.replace(" /v2.1", " ");
    if (n === "GET " || n === "GET /") return []; // version discovery
    if (/^GET \/flavors(\/detail|\/[^/]+)$/.test(n)) return []; // flavors carry no policy rule in Nova
    if (n === "GET /servers/detail") return ["os_compute_api:servers:detail"];
    if (/^GET \/servers\/[^/]+$/.test(n)) return ["os_compute_api:servers:show"];
    if (/^DELETE \/servers\/[^/]+$/.test(n)) return ["os_compute_api:servers:delete"];
    if (n === "POST /servers") {
      const server = JSON.parse(r.body).server;
      return ["os_compute_api:servers:create", ...(server.networks !== undefined ? ["os_compute_api:servers:create:attach_network"] : [])];
    }
    if (/^POST \/servers\/[^/]+\/action$/.test(n)) {
      const action = Object.keys(JSON.parse(r.body))[0];
      const rule = { "os-start": "start", "os-stop": "stop", reboot: "reboot" }[action!];
      if (rule) return [`os_compute_api:servers:${rule}`];
    }
    if (n === "GET /os-keypairs") return ["os_compute_api:os-keypairs:index"];
    if (n === "POST /os-keypairs") return ["os_compute_api:os-keypairs:create"];
    if (/^GET \/os-keypairs\/[^/]+$/.test(n)) return ["os_compute_api:os-keypairs:show"];
    if (/^DELETE \/os-keypairs\/[^/]+$/.test(n)) return ["os_compute_api:os-keypairs:delete"];
    if (n === "GET /os-availability-zone") return ["os_compute_api:os-availability-zone:list"];
  }
  if (service === "neutron") {
    const n = key.replace(" /v2.0", " ");
    const read = /^GET \/(ports|floatingips|networks|subnets|security-groups)$/.exec(n);
    if (read) return [{ ports: "get_port", floatingips: "get_floatingip", networks: "get_network", subnets: "get_subnet", "security-groups": "get_security_group" }[read[1]!]!];
    if (n === "POST /ports") {
      const port = JSON.parse(r.body).port;
      return ["create_port", ...(port.fixed_ips ? ["create_port:fixed_ips", "create_port:fixed_ips:subnet_id"] : [])];
    }
    if (n === "POST /floatingips") return ["create_floatingip"];
    if (/^DELETE \/floatingips\/[^/]+$/.test(n)) return ["delete_floatingip"];
    if (/^DELETE \/ports\/[^/]+$/.test(n)) return ["delete_port"];
  }
  throw new Error(`${service}: no policy rule known for ${key}; add it here and to policy/rules.json`);
}

async function waitFor(id: string, want: string): Promise<void> {
  const until = Date.now() + 180_000;
  while (Date.now() < until) {
    try {
      if ((await call("GetInstanceStatus", { instance_id: id, region: REGION })).status === want) return;
    } catch (err: any) {
      if (want === "gone" && err?.code === status.NOT_FOUND) return;
      throw err;
    }
    await Bun.sleep(1000);
  }
  throw new Error(`server ${id} did not become ${want}`);
}

beforeAll(async () => {
  env = testbedEnv("demo");
  await requireTestbed(env);
  nova = await GateProxy.start(NOVA);
  glance = await GateProxy.start(GLANCE);
  neutron = await GateProxy.start(NEUTRON);
  const keystoneUrl = new URL(env.OS_AUTH_URL!);
  keystone = await GateProxy.start(keystoneUrl.origin, (body) =>
    body.replaceAll(`${NOVA}/`, `${nova.url}/`).replaceAll(`"${GLANCE}"`, `"${glance.url}"`).replaceAll(`"${NEUTRON}"`, `"${neutron.url}"`),
  );
  provider = await startTestProvider(openstackProvider, [], {
    ...env,
    OS_AUTH_URL: `${keystone.url}${keystoneUrl.pathname}`,
    SKYCLUST_RATE_VCPU_HOUR: "0.02",
    SKYCLUST_RATE_GIB_HOUR: "0.01",
  });
}, 60_000);

afterAll(async () => {
  if (serverId) await call("DeleteInstance", { instance_id: serverId, region: REGION }).catch(() => undefined);
  await provider?.close();
  await keystone?.stop();
  await nova?.stop();
  await glance?.stop();
  await neutron?.stop();
}, 60_000);

test(`the testbed user holds the ${SHIPPED.role} role and no admin role`, async () => {
  const res = await keystoneLogin(env);
  const roles = ((await res.json()) as any).token.roles.map((r: any) => r.name).sort();
  expect(roles).toContain(SHIPPED.role);
  // Keystone's default role hierarchy: admin implies member implies reader.
  expect(roles.filter((r: string) => r !== SHIPPED.role && r !== "reader")).toEqual([]);
});

test("as member, every RPC succeeds, and the API calls made are checked by exactly the shipped policy rules", async () => {
  const ok = async (rpc: string, req: object = {}) => {
    try {
      return await call(rpc, req);
    } catch (err) {
      const e = await grpcError(Promise.reject(err));
      throw new Error(`${rpc} failed as member: ${status[e.code]} ${e.details}`);
    }
  };
  await ok("GetProviderInfo");
  await ok("ListRegions");
  expect((await ok("HealthCheck")).healthy).toBe(true);
  await ok("ListInstances", { region: REGION });
  await ok("GetCostEstimate", { instance_type: "m1.tiny", region: REGION, duration: "1h" });

  const key = generateKeyPair("ed25519", "policy");
  await ok("ImportKeyPair", { key_pair_name: `${RUN}-imported`, region: REGION, public_key: key.publicKey });
  await ok("CreateKeyPair", { key_pair_name: `${RUN}-created`, region: REGION });
  const { key_pairs } = await ok("ListKeyPairs", { region: REGION });
  expect(key_pairs.map((k: any) => k.key_pair_name)).toEqual(expect.arrayContaining([`${RUN}-imported`, `${RUN}-created`]));

  serverId = (await ok("CreateInstance", { name: `${RUN}-srv`, type: "m1.tiny", image_id: "fake-image", region: REGION, key_pair_name: `${RUN}-imported`, idempotency_key: RUN })).instance.id;
  await waitFor(serverId, "running");
  await ok("GetInstanceStatus", { instance_id: serverId, region: REGION });
  await ok("StopInstance", { instance_id: serverId, region: REGION });
  await waitFor(serverId, "stopped");
  await ok("StartInstance", { instance_id: serverId, region: REGION });
  await waitFor(serverId, "running");
  await ok("RestartInstance", { instance_id: serverId, region: REGION });
  await waitFor(serverId, "running");
  await ok("DeleteInstance", { instance_id: serverId, region: REGION });
  await waitFor(serverId, "gone");
  serverId = "";
  for (const name of [`${RUN}-imported`, `${RUN}-created`]) await ok("DeleteKeyPair", { key_pair_name: name, region: REGION });

  const observed: Record<string, string[]> = {};
  for (const [service, proxy] of [["keystone", keystone], ["nova", nova], ["glance", glance], ["neutron", neutron]] as const) {
    expect(proxy.requests.length).toBeGreaterThan(0);
    observed[service] = [...new Set(proxy.requests.flatMap((r) => rulesFor(service, r)))].sort();
  }
  // Rules for paths this flow does not take are listed with the reason in only_when.
  const rare = (rule: string) => rule in SHIPPED.only_when;
  expect(observed).toEqual(Object.fromEntries(Object.entries(SHIPPED.rules).map(([s, rules]) => [s, rules.filter((r) => !rare(r)).sort()])));
}, 600_000);

test("as member, public_ip and subnet_id work, and their Neutron calls are checked by exactly the shipped rules", async () => {
  // Needs the testbed's real Neutron (a stand-in would have no subnets or external network).
  await requireRealNeutron();
  const before = neutron.requests.length;
  const subnets = await fetchAsMember("/v2.0/subnets?name=private-b");
  const made = (
    await call("CreateInstance", { name: `${RUN}-fip`, type: "m1.tiny", image_id: "fake-image", region: REGION, public_ip: true, subnet_id: subnets.subnets[0].id, security_groups: ["default"] })
  ).instance.id;
  serverId = made;
  await waitFor(made, "running");
  await call("DeleteInstance", { instance_id: made, region: REGION });
  await waitFor(made, "gone");
  serverId = "";
  const observed = [...new Set(neutron.requests.slice(before).flatMap((r) => rulesFor("neutron", r)))].sort();
  expect(observed).toEqual([...SHIPPED.rules.neutron!].sort());
}, 600_000);

/** The test's own look-up, straight to Neutron (not through the proxy, so it is not counted). */
async function fetchAsMember(path: string): Promise<any> {
  const backend = provider.started.backend as import("./backend").OpenStackBackend;
  const token = await backend.identity.current(AbortSignal.timeout(10_000));
  const res = await fetch(`${NEUTRON}${path}`, { headers: { "x-auth-token": token.value } });
  return res.json();
}
