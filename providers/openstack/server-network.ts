// What CreateInstance and DeleteInstance do in Neutron. Nova attaches a server
// to networks; a subnet or a floating IP needs a port the provider makes
// itself: on `subnet_id` (or on the `vpc_id` network, or the project's only
// network), with the requested security groups, and for `public_ip` a
// floating IP from the external network associated with that port before the
// server boots, so Nova reports it from the first answer on. Both carry
// OWNED_MARKER in their description: DeleteInstance releases those and
// nothing else (a floating IP the user attached by hand stays theirs).
import { failedPrecondition, invalidArgument, ProviderError } from "../../shared/errors";
import type { CallContext, CreateInstanceSpec } from "../../shared/provider";
import { isOwned, OWNED_MARKER, type Network, type NeutronNetwork } from "./network";

export interface PreparedNetwork {
  /** Nova's `networks` entry: the port made for the server. */
  portId: string;
  floatingIpId?: string;
  floatingIp?: string;
  /** Security groups went onto the port; Nova must not be given them again. */
  securityGroupsOnPort: boolean;
}

export interface NetworkingOptions {
  /** External network (name or id) for floating IPs; default: the only one. */
  floatingNetwork?: string;
}

/** Only the ids of a list go into messages, and at most this many. */
const LIST_IN_MESSAGES = 10;

export class ServerNetworking {
  constructor(
    private readonly network: Network,
    private readonly projectId: () => string | undefined,
    private readonly opts: NetworkingOptions = {},
  ) {}

  /** Whether this create needs a port of the provider's own. */
  static needed(spec: CreateInstanceSpec): boolean {
    return spec.publicIp || Boolean(spec.subnetId);
  }

  /**
   * Makes the port (and floating IP) for a server about to be created.
   * Everything is checked before anything is made; what was made is removed
   * again when a later step fails.
   */
  async prepare(ctx: CallContext, spec: CreateInstanceSpec): Promise<PreparedNetwork> {
    const { region } = spec;
    const signal = ctx.signal;
    const [networkId, floatingNetwork, securityGroups] = await Promise.all([
      this.serverNetwork(region, spec, signal),
      spec.publicIp ? this.floatingNetwork(region, signal) : Promise.resolve(undefined),
      Promise.all(spec.securityGroups.map((name, i) => this.securityGroupId(region, name, i, signal))),
    ]);
    const port: Record<string, unknown> = {
      network_id: networkId,
      name: `skyclust-${spec.name}`.slice(0, 255),
      description: `${OWNED_MARKER} port for server "${spec.name}"`.slice(0, 255),
    };
    if (spec.subnetId) port.fixed_ips = [{ subnet_id: spec.subnetId }];
    if (securityGroups.length) port.security_groups = securityGroups;
    const made = await this.network.createPort(region, port, signal, spec.subnetId ? "subnet_id" : "vpc_id");
    const prepared: PreparedNetwork = { portId: made.id, securityGroupsOnPort: securityGroups.length > 0 };
    if (!floatingNetwork) return prepared;
    try {
      const fip = await this.network.createFloatingIp(
        region,
        { floating_network_id: floatingNetwork.id, port_id: made.id, description: `${OWNED_MARKER} floating IP for server "${spec.name}"`.slice(0, 255) },
        signal,
      );
      prepared.floatingIpId = fip.id;
      prepared.floatingIp = fip.floating_ip_address;
      return prepared;
    } catch (err) {
      await this.rollback(ctx, region, prepared);
      throw explainFloatingIpFailure(err, floatingNetwork);
    }
  }

  /** Removes what prepare made (server create failed, or lost a race). Never throws. */
  async rollback(ctx: CallContext, region: string, prepared: PreparedNetwork): Promise<void> {
    // The caller's deadline may be what failed: clean up on a budget of our own.
    const signal = AbortSignal.timeout(30_000);
    if (prepared.floatingIpId) await this.network.deleteFloatingIp(region, prepared.floatingIpId, signal).catch((err) => this.leak(ctx, "floating IP", prepared.floatingIpId!, err));
    await this.network.deletePort(region, prepared.portId, signal).catch((err) => this.leak(ctx, "port", prepared.portId, err));
  }

  /**
   * Before a server is deleted: the provider's own floating IPs on its ports
   * are released now, and the returned step removes its own ports once Nova
   * has let go of them. Foreign floating IPs and ports are left alone.
   */
  async releaseOwned(ctx: CallContext, region: string, serverId: string): Promise<() => Promise<void>> {
    let ports;
    try {
      ports = await this.network.portsOfDevice(region, serverId, ctx.signal);
    } catch (err) {
      // A cloud without Neutron in the catalog has nothing of ours to release.
      if (err instanceof ProviderError && ["FAILED_PRECONDITION", "INVALID_ARGUMENT"].includes(err.code) && /"network"/.test(err.message)) return async () => {};
      throw err;
    }
    const fips = await this.network.floatingIpsOfPorts(region, ports.map((p) => p.id), ctx.signal);
    for (const fip of fips.filter(isOwned)) {
      await this.network.deleteFloatingIp(region, fip.id, ctx.signal);
      ctx.log.info("released the server's floating IP", { instance_id: serverId, floating_ip: fip.floating_ip_address });
    }
    const owned = ports.filter(isOwned);
    return async () => {
      for (const p of owned) {
        await this.network.deletePort(region, p.id, ctx.signal).catch((err) => {
          if (!(err instanceof ProviderError && err.code === "NOT_FOUND")) this.leak(ctx, "port", p.id, err);
        });
      }
    };
  }

  private leak(ctx: CallContext, what: string, id: string, err: unknown): void {
    if (err instanceof ProviderError && err.code === "NOT_FOUND") return;
    ctx.log.error(`could not remove the ${what} made for a server; remove it by hand`, { id, error: (err as Error).message });
  }

  /** The network the port goes on: the subnet's, vpc_id, or the project's only network. */
  private async serverNetwork(region: string, spec: CreateInstanceSpec, signal: AbortSignal): Promise<string> {
    if (spec.subnetId) {
      const subnet = await this.network.subnet(region, spec.subnetId, signal);
      if (!subnet) throw invalidArgument("subnet_id", `no subnet "${spec.subnetId}" in region ${region} visible to this project`);
      if (spec.vpcId && spec.vpcId !== subnet.network_id) {
        throw invalidArgument("subnet_id", `subnet ${subnet.id} belongs to network ${subnet.network_id}, not to vpc_id ${spec.vpcId}`);
      }
      return subnet.network_id;
    }
    if (spec.vpcId) {
      const found = await this.network.network(region, spec.vpcId, signal);
      if (found.length !== 1) throw invalidArgument("vpc_id", found.length ? `${found.length} networks are named "${spec.vpcId}"; give its id` : `no network "${spec.vpcId}" in region ${region}`);
      return found[0]!.id;
    }
    const mine = await this.network.tenantNetworks(region, signal);
    if (mine.length === 1) return mine[0]!.id;
    throw invalidArgument(
      "vpc_id",
      mine.length
        ? `public_ip needs a port on one network and this project sees ${mine.length} (${names(mine)}); give vpc_id or subnet_id`
        : `public_ip needs a network for the server's port and this project has none in region ${region}`,
    );
  }

  /** The external network floating IPs come from: the configured one, or the only one. */
  private async floatingNetwork(region: string, signal: AbortSignal): Promise<NeutronNetwork> {
    const external = await this.network.externalNetworks(region, signal);
    if (this.opts.floatingNetwork) {
      const want = this.opts.floatingNetwork;
      const match = external.filter((n) => n.id === want || n.name === want);
      if (match.length === 1) return match[0]!;
      throw failedPrecondition(
        match.length
          ? `the floating network "${want}" (--floating-network) names ${match.length} external networks; configure its id`
          : `the floating network "${want}" (--floating-network) is not an external network in region ${region} (external: ${names(external) || "none"})`,
      );
    }
    if (external.length === 1) return external[0]!;
    throw failedPrecondition(
      external.length
        ? `region ${region} has ${external.length} external networks (${names(external)}); choose one with --floating-network`
        : `region ${region} has no external network to take a floating IP from`,
    );
  }

  private async securityGroupId(region: string, name: string, index: number, signal: AbortSignal): Promise<string> {
    const found = await this.network.securityGroups(region, name, this.projectId(), signal);
    const exact = found.filter((g) => g.name === name || g.id === name);
    if (exact.length === 1) return exact[0]!.id;
    throw invalidArgument(`security_groups[${index}]`, exact.length ? `${exact.length} security groups are named "${name}"` : `no security group "${name}" in this project`);
  }
}

function names(networks: NeutronNetwork[]): string {
  const shown = networks.slice(0, LIST_IN_MESSAGES).map((n) => (n.name ? `${n.name} (${n.id})` : n.id));
  return shown.join(", ") + (networks.length > LIST_IN_MESSAGES ? ", ..." : "");
}

/** Neutron's 404 "External network ... is not reachable from subnet ..." means no router joins them. */
function explainFloatingIpFailure(err: unknown, external: NeutronNetwork): unknown {
  if (err instanceof ProviderError && err.code === "NOT_FOUND" && /not reachable/i.test(err.message)) {
    return failedPrecondition(`public_ip: no router connects the server's subnet to the external network ${external.name ?? external.id}; ${err.message}`, err.details);
  }
  return err;
}
