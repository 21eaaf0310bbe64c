// The Proxmox VE backend: regions are cluster nodes, instances are QEMU VMs
// and LXC containers, CreateInstance clones a template, and every write is
// followed to the end of its task. Key pairs live in a local file store
// (PVE has none). See README.md for the settings and the id format.
import { COMMON_CAPABILITIES, type Capabilities } from "../../shared/capabilities";
import { abortError, failedPrecondition, invalidArgument, notFound, ProviderError } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import { rateCardQuote, type RateCard } from "../../shared/pricing";
import type {
  ActionResult,
  CallContext,
  CloudBackend,
  CreatedKeyPair,
  CreateInstanceSpec,
  HealthReport,
  Instance,
  InstancePage,
  InstanceRef,
  KeyPair,
  AllRegionsQuery,
  ListInstancesQuery,
  PriceQuote,
  Region,
  StopRequest,
} from "../../shared/provider";
import { isInstanceStatus } from "../../shared/status";
import { PveClient } from "./client";
import {
  addressesFromAgent,
  addressesFromLxc,
  configuredMacs,
  isPveTag,
  normalizedStatus,
  parseDescription,
  rawStatusOf,
  renderDescription,
  toInstance,
  type AgentInterface,
  type GuestDetails,
  type LxcInterface,
  type PveConfig,
  type PveResource,
  type PveStatusCurrent,
} from "./guests";
import { formatInstanceId, parseInstanceId, type GuestKind } from "./ids";
import { PveCreateClaims } from "./create-claims";
import type { KeyPairStore } from "./keystore";
import type { SizeCatalog } from "./sizes";
import { TaskFailedError, waitForTask, type TaskPolling } from "./tasks";
import { proxmoxLoginUsers } from "./login-users";
import { PROXMOX_TAG_LIMITS } from "./tag-limits";
import { RetryPolicy } from "../../shared/cloud/retry";
import { DEFAULT_HEALTH_TIMEOUT_MS, probeHealth } from "../../shared/cloud/health-probe";
import { quote } from "../../shared/quote";

/** The region that means "every node of the cluster" (the default). */
export const CLUSTER_REGION = "cluster";

/** What one listing covers: one node, every node (region "cluster"), or the online nodes (region "*"). */
type GuestScope = { kind: "node"; node: string } | { kind: "cluster" } | { kind: "online-nodes" };

export interface ProxmoxBackendOptions {
  client: PveClient;
  log: Logger;
  sizes: SizeCatalog;
  keyStore: KeyPairStore;
  rateCard?: RateCard;
  /** CLUSTER_REGION or a node name. */
  defaultRegion: string;
  cloneMode: "linked" | "full";
  /** Target storage for full clones (PVE default: the template's storage). */
  storage?: string;
  /** cloud-init ipconfig0 when the request names no subnet, e.g. "ip=dhcp". */
  ipConfig?: string;
  /** Resource pool every clone joins (PVE scopes tokens by pool: one pool per tenant). */
  pool?: string;
  /** cloud-init user set on every clone, when given. */
  ciUser?: string;
  taskPolling: TaskPolling;
  /** How long one guest-agent query may take before its answer is skipped. */
  agentTimeoutMs: number;
  /** Whole-operation retries when a clone task fails on a lock or a taken vmid. */
  cloneRetries: number;
  tlsMode: string;
  endpoint: string;
  /** HealthCheck's time budget (--health-timeout-ms). */
  healthTimeoutMs?: number;
}

type Ctx = CallContext;

const PORTABLE_FILTERS = new Set(["status", "name", "type"]);
const CLOUD_FILTERS = new Set(["node", "kind", "template", "pool"]);
const DNS_NAME = /^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const CONCURRENCY = 8;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A rule of a guest's firewall (GET .../firewall/rules). */
export interface PveFirewallRule {
  pos: number;
  type: string;
  action: string;
  enable?: number;
}

/** The security groups a guest's firewall applies: its enabled `group` rules, in order. */
export function securityGroupsOf(rules: PveFirewallRule[]): string[] {
  return [...rules]
    .sort((a, b) => a.pos - b.pos)
    .filter((r) => r.type === "group" && Number(r.enable ?? 0) === 1)
    .map((r) => r.action);
}

// PVE's pve-security-group-name format: a letter, then letters, digits, - and _;
// at most 18 characters (pve-firewall's group name limit).
const GROUP_NAME = /^[A-Za-z][A-Za-z0-9_-]{1,17}$/;

export function checkGroupNames(groups: string[]): string[] {
  const seen = new Set<string>();
  groups.forEach((g, i) => {
    if (!GROUP_NAME.test(g)) throw invalidArgument(`security_groups[${i}]`, `"${g.slice(0, 64)}" is not a Proxmox security group name (a letter, then letters, digits, - or _; 2 to 18 characters)`);
    if (seen.has(g)) throw invalidArgument(`security_groups[${i}]`, `"${g}" is listed twice`);
    seen.add(g);
  });
  return groups;
}

/**
 * A guest's firewall rules only filter traffic on NICs that have
 * firewall=1: set it on net0 (the NIC the clone came with).
 */
export function withNicFirewall(net0: string | number | undefined): string | undefined {
  if (typeof net0 !== "string" || net0 === "") return undefined;
  return /(^|,)firewall=/.test(net0) ? net0.replace(/(^|,)firewall=[^,]*/, "$1firewall=1") : `${net0},firewall=1`;
}

/** A clone that failed because its vmid was taken meanwhile or a lock blocked it: worth a fresh vmid. */
function isCloneConflict(err: unknown): boolean {
  return (err instanceof TaskFailedError && err.lockConflict) || (err instanceof ProviderError && /already exists|can't lock file/i.test(err.message) && err.code !== "NOT_FOUND");
}

const guestPath = (node: string, kind: GuestKind, vmid: number) => `/nodes/${encodeURIComponent(node)}/${kind}/${vmid}`;

export class ProxmoxBackend implements CloudBackend {
  readonly provider = "proxmox";
  readonly tagLimits = PROXMOX_TAG_LIMITS;
  readonly loginUsers = proxmoxLoginUsers;
  readonly mode = "cloud" as const;
  readonly defaultRegion: string;
  private readonly client: PveClient;
  private readonly log: Logger;
  /** Keeps creates with one idempotency key apart across replicas (create-claims.ts). */
  private readonly claims: PveCreateClaims;

  /** Whole-clone retries (cloneRetries after the first), spaced by the shared back-off. */
  private readonly clonePolicy: RetryPolicy;

  constructor(private readonly opts: ProxmoxBackendOptions) {
    this.clonePolicy = new RetryPolicy({ maxAttempts: opts.cloneRetries + 1, baseDelayMs: 250 });
    this.client = opts.client;
    this.log = opts.log;
    this.claims = new PveCreateClaims(opts.client, opts.log, { pollMs: Math.min(250, opts.taskPolling.intervalMs), parent: opts.pool });
    this.defaultRegion = opts.defaultRegion;
  }

  capabilities(): Capabilities {
    return {
      flags: {
        ...COMMON_CAPABILITIES,
        // force=true is a power-off instead of a guest shutdown.
        stop_force: true,
        // PVE's reboot has no hard variant.
        restart_force: false,
        list_all_regions_native: true,
        filters_native: true,
        // Addresses come from the guest's bridge; there is no public IP to allocate.
        public_ip: false,
        root_volume: true,
        security_groups: true,
        network_placement: true,
        user_data: true,
        key_pair_tags: true,
        cost_estimates: this.opts.rateCard !== undefined,
      },
      extras: { idempotency_mechanism: "description marker", key_pair_storage: "local file store", price_source: this.opts.rateCard ? "rate-card" : "none" },
      details: {
        endpoint: this.opts.endpoint,
        // "tls" is the gRPC server's own key; these describe the PVE API side.
        pve_auth: this.client.authKind === "token" ? "api-token" : "ticket",
        pve_tls: this.opts.tlsMode,
        regions: "cluster nodes; region \"cluster\" (the default) means every node",
        instance_kinds: "qemu,lxc",
        instance_id_format: "NODE/KIND/VMID",
        create: `clone from a template (${this.opts.cloneMode} clone)`,
        sizes: this.opts.sizes.sizes.map((s) => s.name).join(","),
        guest_agent_ips: "true",
        security_groups_model: "PVE cluster firewall security groups (group rules on the guest firewall)",
      },
    };
  }

  // ---- reads -------------------------------------------------------------

  private resources(ctx: Ctx): Promise<PveResource[]> {
    return this.client.get<PveResource[]>("/cluster/resources", { type: "vm" }, ctx.signal).then((all) => (all ?? []).filter((r) => r.type === "qemu" || r.type === "lxc"));
  }

  async listRegions(ctx: Ctx): Promise<Region[]> {
    const nodes = await this.client.get<{ node: string; status: string }[]>("/nodes", {}, ctx.signal);
    return (nodes ?? [])
      .map((n) => ({
        id: n.node,
        name: n.node,
        displayName: `Proxmox node ${n.node}`,
        status: n.status === "online" ? "available" : n.status === "offline" ? "unavailable" : n.status,
        zones: [n.node],
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  private async checkNode(ctx: Ctx, node: string, field: string, mustBeOnline: boolean): Promise<void> {
    const regions = await this.listRegions(ctx);
    const region = regions.find((r) => r.id === node);
    if (!region) throw notFound(`${field} ${quote(node)} is not a node of this Proxmox cluster (nodes: ${regions.map((r) => r.id).join(", ")}; ${quote(CLUSTER_REGION)} means all)`);
    if (mustBeOnline && region.status !== "available") throw failedPrecondition(`node ${node} is ${region.status}`);
  }

  /** Live status, config and agent addresses; parts that fail are left out. */
  private async details(ctx: Ctx, r: PveResource, live = false): Promise<GuestDetails> {
    const kind = r.type as GuestKind;
    const path = guestPath(r.node, kind, r.vmid);
    const soft = <T>(p: Promise<T>): Promise<T | undefined> =>
      p.catch((err) => {
        if (ctx.signal.aborted) throw abortError(ctx.signal);
        this.log.debug("proxmox detail skipped", { vmid: r.vmid, path, error: err instanceof Error ? err.message : String(err) });
        return undefined;
      });
    const [config, current, rules] = await Promise.all([
      soft(this.client.get<PveConfig>(`${path}/config`, {}, ctx.signal)),
      live ? this.client.get<PveStatusCurrent>(`${path}/status/current`, {}, ctx.signal) : Promise.resolve(undefined),
      // The guest's security groups are its firewall's `group` rules.
      soft(this.client.get<PveFirewallRule[]>(`${path}/firewall/rules`, {}, ctx.signal)),
    ]);
    const running = (current?.status ?? r.status) === "running";
    let addresses: GuestDetails["addresses"];
    if (kind === "qemu" && running && config?.agent !== undefined && !/^0(,|$)|enabled=0/.test(String(config.agent))) {
      // The agent answers only when it runs inside the guest: its absence
      // (or slowness) costs this instance its IPs, not the call.
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(this.opts.agentTimeoutMs)]);
      const agent = await soft(this.client.get<{ result: AgentInterface[] }>(`${path}/agent/network-get-interfaces`, {}, signal));
      if (agent?.result) addresses = addressesFromAgent(agent.result, configuredMacs(config));
    } else if (kind === "lxc" && running) {
      const ifaces = await soft(this.client.get<LxcInterface[]>(`${path}/interfaces`, {}, ctx.signal));
      if (Array.isArray(ifaces)) addresses = addressesFromLxc(ifaces);
    }
    return { config, live: current, addresses, securityGroups: Array.isArray(rules) ? securityGroupsOf(rules) : undefined };
  }

  async listInstances(ctx: Ctx, query: ListInstancesQuery): Promise<InstancePage> {
    return this.listGuests(ctx, query, query.region === CLUSTER_REGION ? { kind: "cluster" } : { kind: "node", node: query.region });
  }

  /**
   * Region "*": the one /cluster/resources call a page already makes covers
   * every node, so no per-node fan-out. Like the fan-out over available
   * regions it replaces, it leaves out the guests of offline nodes, and says
   * which nodes those are in `unreachable`.
   */
  async listAllRegions(ctx: Ctx, query: AllRegionsQuery): Promise<InstancePage> {
    return this.listGuests(ctx, query, { kind: "online-nodes" });
  }

  /** One page of guests: of one node, of the whole cluster, or of its online nodes. */
  private async listGuests(ctx: Ctx, query: AllRegionsQuery, scope: GuestScope): Promise<InstancePage> {
    const { filters } = query;
    for (const key of Object.keys(filters)) {
      if (!PORTABLE_FILTERS.has(key) && !CLOUD_FILTERS.has(key) && !key.startsWith("tag:")) {
        throw invalidArgument(`filters[${key}]`, `unknown filter; use status, name, type, tag:KEY, node, kind (qemu|lxc), template (false|true|any) or pool`);
      }
    }
    if (filters.status !== undefined && !isInstanceStatus(filters.status)) throw invalidArgument("filters[status]", `${quote(filters.status)} is not a status of the common vocabulary`);
    if (filters.kind !== undefined && filters.kind !== "qemu" && filters.kind !== "lxc") throw invalidArgument("filters[kind]", "must be qemu or lxc");
    const templates = filters.template ?? "false";
    if (!["false", "true", "any"].includes(templates)) throw invalidArgument("filters[template]", "must be false (default), true or any");
    let after = 0;
    if (query.cursor !== undefined) {
      const m = /^after:(\d{1,10})$/.exec(query.cursor); // PVE vmids are at most 9 digits
      if (!m) throw invalidArgument("page_token", "not a Proxmox listing token");
      after = Number(m[1]);
    }

    // "medium" and "2c4g" name the same shape, so compare shapes, not names.
    const wantShape = filters.type !== undefined ? this.opts.sizes.resolve(filters.type, "filters[type]") : undefined;
    let items = await this.resources(ctx);
    let unreachable: string[] | undefined;
    if (scope.kind === "online-nodes") {
      const offline = await this.offlineNodeStatus(ctx, items);
      items = items.filter((r) => !offline.has(r.node));
      unreachable = [...offline].map(([node, status]) => `${node}: node is ${status}; its guests are left out`);
    } else if (scope.kind === "node") {
      items = items.filter((r) => r.node === scope.node);
      if (items.length === 0) await this.checkNode(ctx, scope.node, "region", false);
    }
    items = items.filter((r) => {
      const isTemplate = Boolean(r.template);
      if (templates === "false" && isTemplate) return false;
      if (templates === "true" && !isTemplate) return false;
      if (filters.node !== undefined && r.node !== filters.node) return false;
      if (filters.kind !== undefined && r.type !== filters.kind) return false;
      if (filters.pool !== undefined && r.pool !== filters.pool) return false;
      if (filters.name !== undefined && r.name !== filters.name) return false;
      if (filters.status !== undefined && normalizedStatus(r.status, r.lock) !== filters.status) return false;
      if (wantShape && (r.maxcpu !== wantShape.vcpus || Math.round((r.maxmem ?? 0) / 1048576) !== wantShape.memoryMiB)) return false;
      return true;
    });
    items.sort((a, b) => a.vmid - b.vmid);

    const tagFilters = Object.entries(filters).filter(([k]) => k.startsWith("tag:")).map(([k, v]) => [k.slice(4), v] as const);
    const rest = items.filter((r) => r.vmid > after);
    const describe = (r: PveResource) => this.details(ctx, r).then((d) => toInstance(r, this.opts.sizes, d));
    unreachable ??= await this.offlineNodes(ctx, items);
    if (tagFilters.length === 0) {
      const page = rest.slice(0, query.pageSize);
      return {
        instances: await mapLimit(page, CONCURRENCY, describe),
        nextCursor: rest.length > page.length ? `after:${page.at(-1)!.vmid}` : undefined,
        totalCount: items.length,
        unreachable,
      };
    }
    // Tags with values live in the description, so candidates are read a
    // batch at a time until the page (plus one, to know if more follow) is full.
    const matches: Instance[] = [];
    let next = 0;
    while (next < rest.length && matches.length <= query.pageSize) {
      const batch = rest.slice(next, next + CONCURRENCY);
      next += batch.length;
      for (const i of await mapLimit(batch, CONCURRENCY, describe)) {
        if (tagFilters.every(([k, v]) => i.tags[k] === v)) matches.push(i);
      }
    }
    const instances = matches.slice(0, query.pageSize);
    const more = matches.length > query.pageSize;
    return {
      instances,
      nextCursor: more ? `after:${instances.at(-1)!.extra!.vmid}` : undefined,
      // Exact only when this page saw every candidate.
      totalCount: !more && after === 0 ? instances.length : undefined,
      unreachable,
    };
  }

  /**
   * PVE still lists the guests of an offline node, with status "unknown".
   * Say which nodes those are, so callers know that part is stale.
   */
  private async offlineNodes(ctx: Ctx, items: PveResource[]): Promise<string[]> {
    const offline = await this.offlineNodeStatus(ctx, items);
    return [...offline].map(([node, status]) => `${node}: node is ${status}; its guests show status unknown`);
  }

  /** Nodes of these guests that are not online, with their status; /nodes is asked only when a guest shows "unknown". */
  private async offlineNodeStatus(ctx: Ctx, items: PveResource[]): Promise<Map<string, string>> {
    if (!items.some((r) => r.status === "unknown")) return new Map();
    const regions = await this.listRegions(ctx).catch(() => []);
    const nodes = new Set(items.filter((r) => r.status === "unknown").map((r) => r.node));
    return new Map(regions.filter((r) => nodes.has(r.id) && r.status !== "available").map((r) => [r.id, r.status]));
  }

  /** The cluster resource an id names, or NOT_FOUND. */
  private async locate(ctx: Ctx, instanceId: string): Promise<PveResource> {
    const ref = parseInstanceId(instanceId);
    const found = (await this.resources(ctx)).find((r) => r.vmid === ref.vmid && (!ref.kind || r.type === ref.kind));
    if (!found) throw notFound(`instance ${instanceId} not found in the Proxmox cluster`);
    return found;
  }

  async getInstance(ctx: Ctx, ref: InstanceRef): Promise<Instance> {
    const r = await this.locate(ctx, ref.instanceId);
    return toInstance(r, this.opts.sizes, await this.details(ctx, r, true));
  }

  private async live(ctx: Ctx, r: PveResource): Promise<PveStatusCurrent> {
    return this.client.get<PveStatusCurrent>(`${guestPath(r.node, r.type as GuestKind, r.vmid)}/status/current`, {}, ctx.signal);
  }

  // ---- writes ------------------------------------------------------------

  /** Runs a write that answers with a UPID and waits for its task to finish OK. */
  private async task(ctx: Ctx, method: "POST" | "PUT" | "DELETE", path: string, params: Record<string, string | number | boolean | undefined>, node: string): Promise<string> {
    const upid = await this.client.call<string | null>(method, path, params, ctx.signal);
    if (typeof upid === "string" && upid.startsWith("UPID:")) {
      await waitForTask(this.client, upid, ctx.signal, this.opts.taskPolling, node);
      return upid;
    }
    return "";
  }

  private async power(ctx: Ctx, r: PveResource, action: "start" | "stop" | "shutdown" | "reboot"): Promise<string> {
    return this.task(ctx, "POST", `${guestPath(r.node, r.type as GuestKind, r.vmid)}/status/${action}`, {}, r.node);
  }

  private describe(r: PveResource): string {
    return formatInstanceId(r.node, r.type as GuestKind, r.vmid);
  }

  async startInstance(ctx: Ctx, ref: InstanceRef): Promise<ActionResult> {
    const r = await this.locate(ctx, ref.instanceId);
    if (r.template) throw failedPrecondition(`${this.describe(r)} is a template; clone it with CreateInstance`);
    const live = await this.live(ctx, r);
    if (live.status === "running" && (!live.qmpstatus || live.qmpstatus === "running")) return { message: `${this.describe(r)} is already running` };
    // A paused or suspended QEMU guest resumes instead of starting.
    const action = live.status === "running" ? "resume" : "start";
    const upid = await this.task(ctx, "POST", `${guestPath(r.node, r.type as GuestKind, r.vmid)}/status/${action}`, {}, r.node);
    return { message: `${action === "resume" ? "resumed" : "started"} ${this.describe(r)}${upid ? ` (task ${upid})` : ""}` };
  }

  async stopInstance(ctx: Ctx, req: StopRequest): Promise<ActionResult> {
    const r = await this.locate(ctx, req.instanceId);
    const live = await this.live(ctx, r);
    if (live.status === "stopped") return { message: `${this.describe(r)} is already stopped` };
    const upid = await this.power(ctx, r, req.force ? "stop" : "shutdown");
    return { message: `${req.force ? "powered off" : "shut down"} ${this.describe(r)} (task ${upid})` };
  }

  async restartInstance(ctx: Ctx, ref: InstanceRef): Promise<ActionResult> {
    const r = await this.locate(ctx, ref.instanceId);
    const live = await this.live(ctx, r);
    if (live.status !== "running") throw failedPrecondition(`${this.describe(r)} is ${rawStatusOf(live.status, live.qmpstatus)}; start it instead of restarting`);
    const upid = await this.power(ctx, r, "reboot");
    return { message: `rebooted ${this.describe(r)} (task ${upid})` };
  }

  async deleteInstance(ctx: Ctx, ref: InstanceRef): Promise<ActionResult> {
    const r = await this.locate(ctx, ref.instanceId);
    if (r.template) throw failedPrecondition(`${this.describe(r)} is a template; this provider does not delete templates`);
    await this.destroy(ctx, r);
    return { message: `deleted ${this.describe(r)} and its disks` };
  }

  private async destroy(ctx: Ctx, r: PveResource): Promise<void> {
    const live = await this.live(ctx, r);
    if (live.status !== "stopped") await this.power(ctx, r, "stop");
    await this.task(ctx, "DELETE", guestPath(r.node, r.type as GuestKind, r.vmid), { purge: 1, "destroy-unreferenced-disks": 1 }, r.node);
  }

  // ---- create ------------------------------------------------------------

  private findTemplate(all: PveResource[], imageId: string, node: string | undefined): PveResource {
    let vmid: number | undefined;
    if (/^\d+$/.test(imageId)) vmid = Number(imageId);
    else if (/\/(qemu|lxc)\/\d+$/.test(imageId) || /^(qemu|lxc)\/\d+$/.test(imageId)) vmid = parseInstanceId(imageId, "image_id").vmid;
    const candidates = all.filter((r) => r.template && (vmid !== undefined ? r.vmid === vmid : r.name === imageId));
    if (candidates.length === 0) throw notFound(`image_id: no Proxmox template ${vmid !== undefined ? "with vmid" : "named"} ${quote(imageId)}`);
    // The same template name often exists once per node: prefer the target's.
    return candidates.find((r) => r.node === node) ?? candidates.sort((a, b) => a.vmid - b.vmid)[0]!;
  }

  private async findByIdempotencyKey(ctx: Ctx, all: PveResource[], name: string, key: string): Promise<PveResource | undefined> {
    for (const r of all.filter((x) => x.name === name && !x.template)) {
      const config = await this.client.get<PveConfig>(`${guestPath(r.node, r.type as GuestKind, r.vmid)}/config`, {}, ctx.signal).catch(() => undefined);
      if (parseDescription(typeof config?.description === "string" ? config.description : "").idempotencyKey === key) return r;
    }
    return undefined;
  }

  // Calls with one idempotency key reach this once per process (the service
  // layer shares one create between them); the key in the guest's
  // description answers a retry after that.
  async createInstance(ctx: Ctx, spec: CreateInstanceSpec): Promise<Instance> {
    if (!DNS_NAME.test(spec.name)) throw invalidArgument("name", "Proxmox guest names must be DNS names: letters, digits, '-' and '.', at most 63 characters");
    if (!spec.imageId) throw invalidArgument("image_id", "name the template to clone, by vmid (\"9000\") or by name");
    const size = this.opts.sizes.resolve(spec.type);
    let cicustom: string | undefined;
    if (spec.userData !== undefined) {
      const m = /^cicustom:(.+)$/s.exec(spec.userData.trim());
      if (!m) throw invalidArgument("user_data", 'Proxmox cannot receive cloud-init user data through its API; upload a snippet to a storage and pass "cicustom:user=STORAGE:snippets/FILE.yaml"');
      cicustom = m[1]!.trim();
    }
    const tagWrites = Object.entries(spec.tags);
    for (const [k] of tagWrites) if (k.startsWith("skyclust")) throw invalidArgument(`tags[${k}]`, "keys starting with skyclust are reserved");

    const groups = checkGroupNames(spec.securityGroups);
    // Checked before the clone, so an unknown group leaves nothing behind.
    if (groups.length > 0) await this.checkGroupsExist(ctx, groups);

    const all = await this.resources(ctx);
    const regionNode = spec.region !== CLUSTER_REGION ? spec.region : spec.zone;
    if (spec.region !== CLUSTER_REGION && spec.zone && spec.zone !== spec.region) throw invalidArgument("zone", `a Proxmox node is both region and zone; zone ${quote(spec.zone)} differs from region ${quote(spec.region)}`);
    const template = this.findTemplate(all, spec.imageId, regionNode);
    const kind = template.type as GuestKind;
    const node = regionNode ?? template.node;
    if (regionNode) await this.checkNode(ctx, regionNode, spec.region !== CLUSTER_REGION ? "region" : "zone", true);

    let publicKey: string | undefined;
    let keyPairName: string | undefined;
    if (spec.keyPairName || spec.keyPairId) {
      const kp = await this.opts.keyStore.find({ name: spec.keyPairName, id: spec.keyPairName ? undefined : spec.keyPairId }, ctx.signal);
      if (!kp) throw notFound(`key pair ${spec.keyPairName ?? spec.keyPairId} not found`);
      if (kind === "lxc") throw invalidArgument(spec.keyPairName ? "key_pair_name" : "key_pair_id", "SSH keys cannot be added to a container cloned from an LXC template through the API");
      publicKey = kp.publicKey;
      keyPairName = kp.name;
    }
    if (kind === "lxc" && (spec.vpcId || spec.subnetId || cicustom)) throw invalidArgument(spec.vpcId ? "vpc_id" : spec.subnetId ? "subnet_id" : "user_data", "cloud-init settings apply to QEMU templates only");

    const key = spec.idempotencyKey;
    if (!key) return this.cloneAndConfigure(ctx, spec, { template, node, size, cicustom, groups, publicKey, keyPairName });
    // Another replica may be creating with this key right now: the claim
    // (a cluster-wide pool) lets one clone while the others wait to find it.
    let listing: PveResource[] | undefined = all;
    const lookup = async () => {
      const existing = await this.findByIdempotencyKey(ctx, listing ?? (await this.resources(ctx)), spec.name, key);
      listing = undefined; // later looks need a fresh listing
      if (!existing) return undefined;
      this.log.info("proxmox create: idempotency key matched an existing guest", { vmid: existing.vmid });
      return toInstance(existing, this.opts.sizes, await this.details(ctx, existing, true));
    };
    return this.claims.run(spec.name, key, ctx.signal, lookup, () => this.cloneAndConfigure(ctx, spec, { template, node, size, cicustom, groups, publicKey, keyPairName }));
  }

  /** Clones the template and configures and starts the guest: the create itself, after every check. */
  private async cloneAndConfigure(
    ctx: Ctx,
    spec: CreateInstanceSpec,
    p: { template: PveResource; node: string; size: ReturnType<SizeCatalog["resolve"]>; cicustom?: string; groups: string[]; publicKey?: string; keyPairName?: string },
  ): Promise<Instance> {
    const { template, node, size, cicustom, groups, publicKey, keyPairName } = p;
    const kind = template.type as GuestKind;
    const tagWrites = Object.entries(spec.tags);
    const pveTags = tagWrites.filter(([k, v]) => isPveTag(k, v)).map(([k]) => k);
    const descriptionTags = Object.fromEntries(tagWrites.filter(([k, v]) => !isPveTag(k, v)));
    const description = renderDescription({ idempotencyKey: spec.idempotencyKey, image: String(template.vmid), keyPair: keyPairName, tags: descriptionTags });
    const created = await this.cloneWithRetries(ctx, template, node, spec.name, description);
    try {
      const path = guestPath(node, kind, created.vmid);
      const config: Record<string, string | number | undefined> = { cores: size.vcpus, memory: size.memoryMiB, tags: pveTags.length ? pveTags.join(";") : undefined };
      if (kind === "qemu") {
        const current = await this.client.get<PveConfig>(`${path}/config`, {}, ctx.signal);
        config.sockets = 1;
        if (this.opts.ciUser) config.ciuser = this.opts.ciUser;
        // PVE wants sshkeys URL-encoded inside the form value (a documented quirk).
        if (publicKey) config.sshkeys = encodeURIComponent(publicKey).replace(/'/g, "%27");
        config.ipconfig0 = spec.subnetId ?? this.opts.ipConfig;
        if (cicustom) config.cicustom = cicustom;
        if (spec.vpcId && typeof current.net0 === "string") config.net0 = current.net0.replace(/(^|,)bridge=[^,]*/, `$1bridge=${spec.vpcId}`);
        if (groups.length > 0) config.net0 = withNicFirewall(config.net0 ?? current.net0);
        await this.client.put<null>(`${path}/config`, config, ctx.signal);
        await this.growRootDisk(ctx, node, kind, created.vmid, current, spec.rootVolumeSizeGb ?? size.diskGiB);
      } else {
        const current = groups.length > 0 ? await this.client.get<PveConfig>(`${path}/config`, {}, ctx.signal) : undefined;
        if (groups.length > 0) config.net0 = withNicFirewall(current?.net0);
        await this.client.put<null>(`${path}/config`, config, ctx.signal);
        if (spec.rootVolumeSizeGb ?? size.diskGiB) await this.growRootDisk(ctx, node, kind, created.vmid, await this.client.get<PveConfig>(`${path}/config`, {}, ctx.signal), spec.rootVolumeSizeGb ?? size.diskGiB);
      }
      if (groups.length > 0) await this.applySecurityGroups(ctx, path, groups);
      await this.task(ctx, "POST", `${path}/status/start`, {}, node);
    } catch (err) {
      await this.cleanupFailedCreate(created, err);
      throw err;
    }
    return this.getInstance(ctx, { instanceId: formatInstanceId(node, kind, created.vmid), region: spec.region });
  }

  /** Every requested group must exist in the cluster firewall; the first unknown one is named. */
  private async checkGroupsExist(ctx: Ctx, groups: string[]): Promise<void> {
    const known = new Set((await this.client.get<{ group: string }[]>("/cluster/firewall/groups", {}, ctx.signal) ?? []).map((g) => g.group));
    const unknown = groups.findIndex((g) => !known.has(g));
    if (unknown >= 0) {
      const list = [...known].sort().slice(0, 20).join(", ");
      throw invalidArgument(`security_groups[${unknown}]`, `no Proxmox firewall security group "${groups[unknown]}" (cluster groups: ${list || "none"}${known.size > 20 ? ", ..." : ""})`);
    }
  }

  /**
   * Turns the guest firewall on and adds one `group` rule per group. PVE puts
   * a new rule on top, so the groups are added last to first and end up in
   * the requested order.
   */
  private async applySecurityGroups(ctx: Ctx, path: string, groups: string[]): Promise<void> {
    await this.client.put<null>(`${path}/firewall/options`, { enable: 1 }, ctx.signal);
    for (let i = groups.length - 1; i >= 0; i--) {
      try {
        await this.client.post<null>(`${path}/firewall/rules`, { type: "group", action: groups[i], enable: 1 }, ctx.signal);
      } catch (err) {
        // Deleted between the check and here: still the caller's input that is wrong.
        if (err instanceof ProviderError && /no such security group/i.test(err.message)) {
          throw invalidArgument(`security_groups[${i}]`, `no Proxmox firewall security group "${groups[i]}"`);
        }
        throw err;
      }
    }
  }

  private async growRootDisk(ctx: Ctx, node: string, kind: GuestKind, vmid: number, config: PveConfig, wantGiB: number | undefined): Promise<void> {
    if (!wantGiB) return;
    let disk = "rootfs";
    if (kind === "qemu") {
      const order = /order=([^,]+)/.exec(String(config.boot ?? ""))?.[1]?.split(";") ?? [];
      disk = order.find((d) => typeof config[d] === "string" && !/media=cdrom/.test(String(config[d]))) ?? ["scsi0", "virtio0", "sata0", "ide0"].find((d) => config[d] !== undefined) ?? "scsi0";
    }
    const m = /(?:^|,)size=(\d+(?:\.\d+)?)([KMGT])?/.exec(String(config[disk] ?? ""));
    const unit = { K: 1 / 1024 / 1024, M: 1 / 1024, G: 1, T: 1024 }[(m?.[2] ?? "G") as "K" | "M" | "G" | "T"];
    const currentGiB = m ? Number(m[1]) * unit : 0;
    if (wantGiB <= currentGiB) return;
    await this.task(ctx, "PUT", `${guestPath(node, kind, vmid)}/resize`, { disk, size: `${wantGiB}G` }, node);
  }

  /**
   * Clones with a fresh vmid; the shared retry policy repeats the whole
   * clone (a new vmid each time) when the vmid was taken meanwhile or a
   * lock blocked it. Safe to repeat: a clone that failed so created nothing.
   */
  private async cloneWithRetries(ctx: Ctx, template: PveResource, node: string, name: string, description: string): Promise<{ vmid: number }> {
    const kind = template.type as GuestKind;
    const clone = async (): Promise<{ vmid: number }> => {
      const vmid = Number(await this.client.get<string | number>("/cluster/nextid", {}, ctx.signal));
      const params: Record<string, string | number | undefined> = {
        newid: vmid,
        [kind === "qemu" ? "name" : "hostname"]: name,
        description,
        full: this.opts.cloneMode === "full" ? 1 : 0,
        target: node !== template.node ? node : undefined,
        storage: this.opts.cloneMode === "full" ? this.opts.storage : undefined,
        pool: this.opts.pool,
      };
      await this.task(ctx, "POST", `${guestPath(template.node, kind, template.vmid)}/clone`, params, template.node);
      this.log.info("proxmox clone done", { template: template.vmid, vmid, node });
      return { vmid };
    };
    const retry = {
      signal: ctx.signal,
      deadline: ctx.deadline,
      idempotent: true,
      classify: (err: unknown) => (isCloneConflict(err) ? { reason: "conflict" as const } : undefined),
      onRetry: (r: { attempt: number; error: unknown }) => this.log.warn("proxmox clone retried", { attempt: r.attempt, reason: (r.error as Error).message }),
    };
    return this.clonePolicy.run(retry, clone);
  }

  private async cleanupFailedCreate(created: { vmid: number }, cause: unknown): Promise<void> {
    // The caller's deadline may be what failed: clean up on a budget of our own.
    const signal = AbortSignal.timeout(120_000);
    const ctx = { signal } as Ctx;
    try {
      const r = (await this.resources(ctx)).find((x) => x.vmid === created.vmid);
      if (r) await this.destroy(ctx, r);
      this.log.warn("proxmox create failed; the half-made guest was removed", { vmid: created.vmid, reason: cause instanceof Error ? cause.message : String(cause) });
    } catch (err) {
      this.log.error("proxmox create failed and the half-made guest could not be removed", { vmid: created.vmid, error: err instanceof Error ? err.message : String(err) });
    }
  }

  // ---- pricing, health ---------------------------------------------------

  async priceQuote(_ctx: Ctx, req: { instanceType: string; region: string }): Promise<PriceQuote> {
    const size = this.opts.sizes.resolve(req.instanceType, "instance_type");
    return rateCardQuote(this.opts.rateCard, { name: size.name, vcpus: size.vcpus, memoryGiB: size.memoryMiB / 1024, diskGiB: size.diskGiB });
  }

  async healthCheck(ctx: Ctx): Promise<HealthReport> {
    const version = async (probe: Ctx) => {
      const v = await this.client.get<{ version?: string; release?: string }>("/version", {}, probe.signal);
      return `Proxmox VE ${v?.version ?? "?"} reachable`;
    };
    return probeHealth(ctx, [{ name: "cloud_api", run: version }], {
      timeoutMs: this.opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
      healthyMessage: (answers) => answers[0] ?? "Proxmox VE reachable",
      unhealthyMessage: "Proxmox API check failed",
      facts: { auth: this.client.authKind, tls: this.opts.tlsMode },
    });
  }

  // ---- key pairs (resource pools in the cluster, see keystore.ts) --------

  createKeyPair(ctx: Ctx, req: { name: string; region: string; tags: Record<string, string>; keyType: "ed25519" | "rsa" }): Promise<CreatedKeyPair> {
    return this.opts.keyStore.create(req.name, req.keyType, req.tags, ctx.signal);
  }
  importKeyPair(ctx: Ctx, req: { name: string; region: string; publicKey: string; tags: Record<string, string> }): Promise<KeyPair> {
    return this.opts.keyStore.import(req.name, req.publicKey, req.tags, ctx.signal);
  }
  listKeyPairs(ctx: Ctx, req: { region: string; filters: Record<string, string> }): Promise<KeyPair[]> {
    return this.opts.keyStore.list(req.filters, ctx.signal);
  }
  async deleteKeyPair(ctx: Ctx, req: { name: string; region: string }): Promise<ActionResult> {
    await this.opts.keyStore.delete(req.name, ctx.signal);
    return { message: `key pair ${req.name} deleted` };
  }

  sshUserHint(instance: Instance): string | undefined {
    return instance.extra?.ciuser || this.opts.ciUser;
  }
}

