// Neutron (networking API v2.0): the calls CreateInstance and DeleteInstance
// need for subnets and floating IPs: networks (router:external), subnets,
// ports, security groups by name, floating IPs.
import type { Session, ServiceCall } from "./session";

export interface NeutronNetwork {
  id: string;
  name?: string;
  "router:external"?: boolean;
  shared?: boolean;
  project_id?: string;
  status?: string;
}

export interface NeutronSubnet {
  id: string;
  name?: string;
  network_id: string;
  cidr?: string;
}

export interface NeutronPort {
  id: string;
  network_id: string;
  device_id?: string;
  description?: string;
  fixed_ips?: { subnet_id: string; ip_address: string }[];
}

export interface NeutronFloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  port_id?: string | null;
  description?: string;
  status?: string;
}

/**
 * The description the provider writes on the ports and floating IPs it
 * makes for a server: DeleteInstance removes those, and only those.
 */
export const OWNED_MARKER = "skyclust:owned";
export const isOwned = (r: { description?: string }) => (r.description ?? "").startsWith(OWNED_MARKER);

/** "/v2.0" under the network endpoint, whether or not the catalog URL already ends in it. */
const base = (endpoint: string) => (/\/v2\.0\/?$/.test(endpoint) ? endpoint.replace(/\/$/, "") : `${endpoint.replace(/\/$/, "")}/v2.0`);

export class Network {
  constructor(private readonly session: Session) {}

  private async call<T>(region: string, path: string, call: ServiceCall, badRequestField?: string): Promise<T> {
    const endpoint = await this.session.endpoint("network", region, call.signal);
    const res = await this.session.call<T>("network", region, base(endpoint) + path, { ...call, badRequestField }, "neutron");
    return res.body;
  }

  async externalNetworks(region: string, signal: AbortSignal): Promise<NeutronNetwork[]> {
    return (await this.call<{ networks: NeutronNetwork[] }>(region, "/networks", { signal, query: { "router:external": "true" } })).networks ?? [];
  }

  /** Networks a server of this project can sit on: not external, its own or shared. */
  async tenantNetworks(region: string, signal: AbortSignal): Promise<NeutronNetwork[]> {
    return (await this.call<{ networks: NeutronNetwork[] }>(region, "/networks", { signal, query: { "router:external": "false" } })).networks ?? [];
  }

  async network(region: string, idOrName: string, signal: AbortSignal): Promise<NeutronNetwork[]> {
    const byId = await this.call<{ networks: NeutronNetwork[] }>(region, "/networks", { signal, query: { id: idOrName } });
    if (byId.networks?.length) return byId.networks;
    return (await this.call<{ networks: NeutronNetwork[] }>(region, "/networks", { signal, query: { name: idOrName } })).networks ?? [];
  }

  async subnet(region: string, id: string, signal: AbortSignal): Promise<NeutronSubnet | undefined> {
    return (await this.call<{ subnets: NeutronSubnet[] }>(region, "/subnets", { signal, query: { id } })).subnets?.[0];
  }

  /** Security groups of the project with this name (or, failing that, this id). */
  async securityGroups(region: string, nameOrId: string, projectId: string | undefined, signal: AbortSignal): Promise<{ id: string; name: string }[]> {
    const q = (key: string) =>
      this.call<{ security_groups: { id: string; name: string }[] }>(region, "/security-groups", { signal, query: { [key]: nameOrId, project_id: projectId } });
    const byName = (await q("name")).security_groups ?? [];
    return byName.length ? byName : ((await q("id")).security_groups ?? []);
  }

  async createPort(region: string, port: Record<string, unknown>, signal: AbortSignal, field: string): Promise<NeutronPort> {
    return (await this.call<{ port: NeutronPort }>(region, "/ports", { method: "POST", body: { port }, signal }, field)).port;
  }

  async portsOfDevice(region: string, deviceId: string, signal: AbortSignal): Promise<NeutronPort[]> {
    return (await this.call<{ ports: NeutronPort[] }>(region, "/ports", { signal, query: { device_id: deviceId } })).ports ?? [];
  }

  async deletePort(region: string, id: string, signal: AbortSignal): Promise<void> {
    await this.call(region, `/ports/${encodeURIComponent(id)}`, { method: "DELETE", signal, idempotent: true });
  }

  async createFloatingIp(region: string, fip: Record<string, unknown>, signal: AbortSignal): Promise<NeutronFloatingIp> {
    return (await this.call<{ floatingip: NeutronFloatingIp }>(region, "/floatingips", { method: "POST", body: { floatingip: fip }, signal }, "public_ip")).floatingip;
  }

  /** Floating IPs on any of these ports (Neutron repeats the filter key for "any of"). */
  async floatingIpsOfPorts(region: string, portIds: string[], signal: AbortSignal): Promise<NeutronFloatingIp[]> {
    if (portIds.length === 0) return [];
    return (await this.call<{ floatingips: NeutronFloatingIp[] }>(region, "/floatingips", { signal, query: { port_id: portIds } })).floatingips ?? [];
  }

  async deleteFloatingIp(region: string, id: string, signal: AbortSignal): Promise<void> {
    await this.call(region, `/floatingips/${encodeURIComponent(id)}`, { method: "DELETE", signal, idempotent: true });
  }
}
