// The sandbox cloud: a deterministic in-memory cloud behind the same
// CloudBackend interface as the real ones, so a new user can try every RPC
// without an account. Lifecycles follow the clock lazily (no timers): a new
// instance is pending for `transitionMs`, then running; stop goes through
// stopping; delete goes through terminating to terminated and the instance
// disappears `transitionMs * 10` later. Ids come from counters, so the same
// sequence of calls gives the same ids.
import { abortableSleep } from "../abort";
import { DEFAULT_HEALTH_TIMEOUT_MS, probeHealth } from "../cloud/health-probe";
import { COMMON_CAPABILITIES, type Capabilities } from "../capabilities";
import { alreadyExists, failedPrecondition, invalidArgument, notFound, throwIfAborted, unavailable } from "../errors";
import { generateKeyPair, parsePublicKey } from "../keys";
import type {
  ActionResult,
  CallContext,
  CloudBackend,
  CreateInstanceSpec,
  CreatedKeyPair,
  HealthReport,
  Instance,
  InstancePage,
  InstanceRef,
  KeyPair,
  ListInstancesQuery,
  PriceQuote,
  Region,
  StopRequest,
  TagLimits,
} from "../provider";
import type { LoginUsers } from "../ssh/users";
import type { InstanceStatus } from "../status";
import type { Phase, SandboxInstanceType, SandboxProfile } from "./profile";
import { quote } from "../quote";
import { INSTANCE_STATUSES, isInstanceStatus } from "../status";

export interface SandboxOptions {
  /** How long each transitional state lasts. */
  transitionMs: number;
  /** Instances created at start in each region. */
  seedPerRegion: number;
  /** Simulated latency of every cloud call (benchmarks). */
  latencyMs: number;
  /** Regions whose listing fails with UNAVAILABLE (tests, demos of "*"). */
  failRegions: string[];
  /** Address every instance reports (issue: SSH RPCs against a real sshd). */
  sshTarget?: { host: string; port: number };
  now?: () => number;
}

interface SandboxInstance {
  n: number;
  id: string;
  name: string;
  type: SandboxInstanceType;
  region: string;
  zone: string;
  imageId: string;
  tags: Record<string, string>;
  publicIp?: string;
  privateIp: string;
  keyPairName?: string;
  createdAt: number;
  /** Phase entered at `since`; transitional phases resolve lazily. */
  phase: Phase;
  since: number;
  idempotencyKey?: string;
}

interface SandboxKeyPair extends KeyPair {
  regionKey: string;
}

const PHASE_STATUS: Record<Phase, InstanceStatus> = {
  pending: "pending",
  running: "running",
  stopping: "stopping",
  stopped: "stopped",
  rebooting: "rebooting",
  terminating: "terminating",
  terminated: "terminated",
};

const NEXT: Partial<Record<Phase, Phase>> = {
  pending: "running",
  stopping: "stopped",
  rebooting: "running",
  terminating: "terminated",
};

export class SandboxBackend implements CloudBackend {
  readonly mode = "sandbox" as const;
  readonly provider: string;
  readonly defaultRegion: string;
  readonly tagLimits: TagLimits;
  readonly loginUsers: LoginUsers;
  private readonly instances = new Map<string, SandboxInstance>();
  /**
   * The same instances by region, in creation order: a listing walks only
   * its region's (a scan of every region's instances was most of a
   * sandbox ListInstances call's own CPU, scripts/BENCHMARKS.md).
   */
  private readonly byRegion = new Map<string, Map<string, SandboxInstance>>();
  private readonly keyPairs = new Map<string, SandboxKeyPair>();
  private instanceSeq = 0;
  private keySeq = 0;
  private readonly now: () => number;

  constructor(
    private readonly profile: SandboxProfile,
    private readonly options: SandboxOptions,
  ) {
    this.provider = profile.provider;
    this.defaultRegion = profile.defaultRegion;
    this.tagLimits = profile.tagLimits;
    this.loginUsers = profile.loginUsers;
    this.now = options.now ?? Date.now;
    const bootTime = this.now() - 86_400_000;
    for (const region of profile.regions) {
      for (let i = 0; i < options.seedPerRegion; i++) {
        const inst = this.newInstance({
          name: `${region.id}-demo-${i + 1}`,
          type: profile.instanceTypes[i % profile.instanceTypes.length]!,
          region: region.id,
          zone: region.zones[i % region.zones.length]!,
          imageId: profile.images[0]!.id,
          tags: { env: i % 2 === 0 ? "demo" : "test", owner: "sandbox" },
          publicIp: i % 2 === 0,
        });
        inst.createdAt = bootTime;
        inst.phase = i % 3 === 2 ? "stopped" : "running";
        inst.since = bootTime;
      }
    }
  }

  capabilities(): Capabilities {
    // What the in-memory cloud does, whichever cloud it looks like: it keeps
    // no disks, networks or guest OS, so those create options are ignored.
    const reachable = this.options.sshTarget !== undefined;
    return {
      flags: {
        ...COMMON_CAPABILITIES,
        stop_force: true,
        restart_force: false,
        list_all_regions_native: false,
        filters_native: false,
        public_ip: true,
        root_volume: false,
        security_groups: false,
        network_placement: false,
        user_data: false,
        key_pair_tags: true,
        cost_estimates: true,
        // Without --sandbox-ssh-target there is no machine to run a command on.
        ssh_exec: reachable,
        ssh_tunnels: reachable,
      },
      extras: { idempotency_mechanism: "in-memory key", key_pair_storage: "in-memory", price_source: this.profile.priceSource },
    };
  }

  private async cloudCall(ctx: CallContext): Promise<void> {
    throwIfAborted(ctx.signal);
    if (this.options.latencyMs > 0) await abortableSleep(this.options.latencyMs, ctx.signal);
  }

  private region(id: string, field = "region"): { id: string; zones: string[] } {
    const region = this.profile.regions.find((r) => r.id === id || r.zones.includes(id));
    if (!region) throw invalidArgument(field, `unknown region ${quote(id)} (see ListRegions)`);
    return region;
  }

  /** Applies every transition whose time has come, and forgets long-terminated instances. */
  private settle(inst: SandboxInstance, t = this.now()): SandboxInstance | undefined {
    for (;;) {
      const next = NEXT[inst.phase];
      if (!next || t - inst.since < this.options.transitionMs) break;
      inst.since += this.options.transitionMs;
      inst.phase = next;
    }
    if (inst.phase === "terminated" && t - inst.since >= this.options.transitionMs * 10) {
      this.instances.delete(inst.id);
      this.byRegion.get(inst.region)?.delete(inst.id);
      return undefined;
    }
    return inst;
  }

  private toInstance(inst: SandboxInstance): Instance {
    const target = this.options.sshTarget;
    return {
      id: inst.id,
      name: inst.name,
      status: PHASE_STATUS[inst.phase],
      rawStatus: this.profile.rawStatus[inst.phase],
      type: inst.type.name,
      region: inst.region,
      zone: inst.zone,
      imageId: inst.imageId,
      createdAt: new Date(inst.createdAt),
      tags: { ...inst.tags },
      publicIp: target ? target.host : inst.publicIp,
      privateIp: inst.privateIp,
      keyPairName: inst.keyPairName,
      extra: this.extraOf(inst),
    };
  }

  private extraOf(inst: SandboxInstance): Record<string, string> {
    const extra: Record<string, string> = { vcpus: String(inst.type.vcpus), memory_gib: String(inst.type.memoryGiB) };
    const target = this.options.sshTarget;
    if (target) extra.ssh_port = String(target.port);
    const more = this.profile.instanceExtra?.(inst.type, inst.n, inst.zone);
    return more ? Object.assign(extra, more) : extra;
  }

  private newInstance(spec: {
    name: string;
    type: SandboxInstanceType;
    region: string;
    zone: string;
    imageId: string;
    tags: Record<string, string>;
    publicIp: boolean;
    keyPairName?: string;
    idempotencyKey?: string;
  }): SandboxInstance {
    const n = ++this.instanceSeq;
    const t = this.now();
    const inst: SandboxInstance = {
      n,
      id: this.profile.instanceId(n, spec.region, spec.zone),
      name: spec.name,
      type: spec.type,
      region: spec.region,
      zone: spec.zone,
      imageId: spec.imageId,
      tags: spec.tags,
      publicIp: spec.publicIp ? `203.0.113.${(n % 250) + 1}` : undefined,
      privateIp: this.profile.privateIp(n),
      keyPairName: spec.keyPairName,
      createdAt: t,
      phase: "pending",
      since: t,
      idempotencyKey: spec.idempotencyKey,
    };
    this.instances.set(inst.id, inst);
    let region = this.byRegion.get(inst.region);
    if (!region) this.byRegion.set(inst.region, (region = new Map()));
    region.set(inst.id, inst);
    return inst;
  }

  private find(ref: InstanceRef): SandboxInstance {
    const inst = this.instances.get(ref.instanceId);
    const settled = inst && this.settle(inst);
    if (!settled || (settled.region !== ref.region && settled.zone !== ref.region)) {
      throw notFound(`instance ${ref.instanceId} not found in region ${ref.region}`);
    }
    return settled;
  }

  async listRegions(ctx: CallContext): Promise<Region[]> {
    await this.cloudCall(ctx);
    return this.profile.regions.map((r) => ({
      id: r.id,
      name: r.id,
      displayName: r.displayName,
      status: r.status ?? "available",
      zones: [...r.zones],
    }));
  }

  async listInstances(ctx: CallContext, query: ListInstancesQuery): Promise<InstancePage> {
    await this.cloudCall(ctx);
    const region = this.region(query.region);
    if (this.options.failRegions.includes(region.id)) throw unavailable(`sandbox region ${region.id} is configured to fail`);
    checkFilters(query.filters);
    const offset = query.cursor === undefined ? 0 : Number(query.cursor);
    if (!Number.isInteger(offset) || offset < 0) throw invalidArgument("page_token", "the token is corrupted");
    const zoneOnly = region.id !== query.region ? query.region : undefined;
    // One pass over the region: settle, match, and convert only what the
    // page returns (the others are only counted).
    const t = this.now();
    const page: Instance[] = [];
    let total = 0;
    for (const stored of this.byRegion.get(region.id)?.values() ?? []) {
      const i = this.settle(stored, t);
      if (!i || (zoneOnly && i.zone !== zoneOnly) || !this.matches(i, query.filters)) continue;
      if (total >= offset && page.length < query.pageSize) page.push(this.toInstance(i));
      total++;
    }
    const end = offset + page.length;
    return { instances: page, nextCursor: end < total ? String(end) : undefined, totalCount: total };
  }

  /** Portable filters (status, name, type, tag:KEY) on the stored instance, before any conversion. */
  private matches(inst: SandboxInstance, filters: Record<string, string>): boolean {
    for (const key of Object.keys(filters)) {
      const value = filters[key];
      if (key === "status") {
        if (PHASE_STATUS[inst.phase] !== value) return false;
      } else if (key === "name") {
        if (inst.name !== value) return false;
      } else if (key === "type") {
        if (inst.type.name !== value) return false;
      } else if (key.startsWith("tag:")) {
        if (inst.tags[key.slice(4)] !== value) return false;
      } else {
        throw invalidArgument(`filters[${key}]`, "unknown filter (sandbox accepts status, name, type, tag:KEY)");
      }
    }
    return true;
  }

  async getInstance(ctx: CallContext, ref: InstanceRef): Promise<Instance> {
    await this.cloudCall(ctx);
    return this.toInstance(this.find(ref));
  }

  async createInstance(ctx: CallContext, spec: CreateInstanceSpec): Promise<Instance> {
    await this.cloudCall(ctx);
    if (spec.idempotencyKey) {
      const existing = [...this.instances.values()].find((i) => i.idempotencyKey === spec.idempotencyKey);
      if (existing) return this.toInstance(this.settle(existing) ?? existing);
    }
    const region = this.region(spec.region);
    const type = this.profile.instanceTypes.find((t) => t.name === spec.type);
    if (!type) {
      throw invalidArgument("type", `unknown instance type ${quote(spec.type)} (sandbox types: ${this.knownTypes()})`);
    }
    const imageId = spec.imageId ?? this.profile.images[0]!.id;
    if (!this.profile.images.some((i) => i.id === imageId || i.name === imageId)) {
      throw invalidArgument("image_id", `unknown image ${quote(imageId)} (sandbox images: ${this.profile.images.map((i) => i.id).join(", ")})`);
    }
    let zone = spec.zone ?? (region.id !== spec.region ? spec.region : region.zones[0]!);
    if (!region.zones.includes(zone)) throw invalidArgument("zone", `zone ${quote(zone)} is not in region ${region.id}`);
    if (spec.keyPairName && !this.keyPairs.has(`${region.id}/${spec.keyPairName}`)) {
      throw notFound(`key pair ${spec.keyPairName} not found in region ${region.id}`);
    }
    const inst = this.newInstance({
      name: spec.name,
      type,
      region: region.id,
      zone,
      imageId,
      tags: spec.tags,
      publicIp: spec.publicIp,
      keyPairName: spec.keyPairName,
      idempotencyKey: spec.idempotencyKey,
    });
    // Pending for transitionMs, then running: getInstance shows it (settle()).
    return this.toInstance(inst);
  }

  private transition(ref: InstanceRef, allowed: Phase[], to: Phase, verb: string): ActionResult {
    const inst = this.find(ref);
    if (!allowed.includes(inst.phase)) {
      throw failedPrecondition(`cannot ${verb} instance ${inst.id}: it is ${PHASE_STATUS[inst.phase]} (${this.profile.rawStatus[inst.phase]})`);
    }
    inst.phase = to;
    inst.since = this.now();
    return { message: `instance ${inst.id} is ${PHASE_STATUS[to]}` };
  }

  async deleteInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    await this.cloudCall(ctx);
    const inst = this.find(ref);
    if (inst.phase === "terminating" || inst.phase === "terminated") return { message: `instance ${inst.id} is already ${inst.phase}` };
    return this.transition(ref, ["pending", "running", "stopping", "stopped", "rebooting"], "terminating", "delete");
  }

  async startInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    await this.cloudCall(ctx);
    return this.transition(ref, ["stopped"], "pending", "start");
  }

  async stopInstance(ctx: CallContext, req: StopRequest): Promise<ActionResult> {
    await this.cloudCall(ctx);
    const inst = this.find(req);
    if (req.force && inst.phase === "stopping") return this.transition(req, ["stopping"], "stopped", "stop");
    return this.transition(req, ["running", "pending", "rebooting"], req.force ? "stopped" : "stopping", "stop");
  }

  async restartInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    await this.cloudCall(ctx);
    return this.transition(ref, ["running"], "rebooting", "restart");
  }

  private knownTypes(): string {
    return this.profile.instanceTypes.map((t) => t.name).join(", ");
  }

  async priceQuote(ctx: CallContext, req: { instanceType: string; region: string }): Promise<PriceQuote> {
    await this.cloudCall(ctx);
    const type = this.profile.instanceTypes.find((t) => t.name === req.instanceType);
    const region = this.region(req.region);
    const price = this.profile.price(req.instanceType, region.id, type);
    if (price) return price;
    // The same code and hint CreateInstance gives an unknown type.
    if (!type) throw invalidArgument("instance_type", `unknown instance type ${quote(req.instanceType)} (sandbox types: ${this.knownTypes()})`);
    throw notFound(`no price for ${req.instanceType} in region ${region.id}`);
  }

  async healthCheck(ctx: CallContext): Promise<HealthReport> {
    const serving = async (probe: CallContext) => {
      await this.cloudCall(probe);
      return "sandbox";
    };
    return probeHealth(ctx, [{ name: "cloud_api", run: serving }], {
      timeoutMs: DEFAULT_HEALTH_TIMEOUT_MS,
      healthyMessage: `${this.provider} sandbox cloud is serving`,
      unhealthyMessage: `${this.provider} sandbox cloud check failed`,
    });
  }

  private keyPairKey(region: string, name: string) {
    return `${this.region(region).id}/${name}`;
  }

  private addKeyPair(region: string, name: string, tags: Record<string, string>, publicKey: string, keyType: string, fingerprint: string): KeyPair {
    const regionKey = this.keyPairKey(region, name);
    if (this.keyPairs.has(regionKey)) throw alreadyExists(`key pair ${name} already exists in region ${this.region(region).id}`);
    const kp: SandboxKeyPair = {
      id: this.profile.keyPairId(++this.keySeq),
      name,
      fingerprint,
      region: this.region(region).id,
      tags,
      createdAt: new Date(this.now()),
      keyType,
      publicKey,
      regionKey,
    };
    this.keyPairs.set(regionKey, kp);
    const { regionKey: _, ...plain } = kp;
    return plain;
  }

  async createKeyPair(
    ctx: CallContext,
    req: { name: string; region: string; tags: Record<string, string>; keyType: "ed25519" | "rsa" },
  ): Promise<CreatedKeyPair> {
    await this.cloudCall(ctx);
    if (this.keyPairs.has(this.keyPairKey(req.region, req.name))) throw alreadyExists(`key pair ${req.name} already exists`);
    const generated = generateKeyPair(req.keyType, req.name);
    const keyPair = this.addKeyPair(req.region, req.name, req.tags, generated.publicKey, req.keyType, generated.sha256Fingerprint);
    return { keyPair, privateKey: generated.privateKey };
  }

  async importKeyPair(
    ctx: CallContext,
    req: { name: string; region: string; publicKey: string; tags: Record<string, string> },
  ): Promise<KeyPair> {
    await this.cloudCall(ctx);
    const parsed = parsePublicKey(req.publicKey);
    return this.addKeyPair(req.region, req.name, req.tags, parsed.canonical, parsed.keyType, parsed.sha256Fingerprint);
  }

  async listKeyPairs(ctx: CallContext, req: { region: string; filters: Record<string, string> }): Promise<KeyPair[]> {
    await this.cloudCall(ctx);
    const region = this.region(req.region).id;
    return [...this.keyPairs.values()]
      .filter((k) => k.region === region)
      .filter((k) =>
        Object.entries(req.filters).every(([key, value]) => {
          if (key === "name") return k.name === value;
          if (key === "fingerprint") return k.fingerprint === value;
          if (key.startsWith("tag:")) return k.tags[key.slice(4)] === value;
          throw invalidArgument(`filters[${key}]`, "unknown key pair filter (use name, fingerprint or tag:KEY)");
        }),
      )
      .map(({ regionKey: _, ...k }) => k);
  }

  async deleteKeyPair(ctx: CallContext, req: { name: string; region: string }): Promise<ActionResult> {
    await this.cloudCall(ctx);
    const key = this.keyPairKey(req.region, req.name);
    if (!this.keyPairs.delete(key)) throw notFound(`key pair ${req.name} not found in region ${this.region(req.region).id}`);
    return { message: `key pair ${req.name} deleted` };
  }

  sshUserHint(instance: Instance): string | undefined {
    return this.profile.images.find((i) => i.id === instance.imageId)?.loginUser;
  }
}

const PORTABLE_FILTERS = new Set(["status", "name", "type"]);

/**
 * Refuses what the listing's filter match cannot match, before any instance is looked
 * at: a region with no instances must refuse a bad filter as a full one does.
 */
function checkFilters(filters: Record<string, string>): void {
  for (const [key, value] of Object.entries(filters)) {
    if (!PORTABLE_FILTERS.has(key) && !key.startsWith("tag:")) {
      throw invalidArgument(`filters[${key}]`, "unknown filter (sandbox accepts status, name, type, tag:KEY)");
    }
    if (key === "status" && !isInstanceStatus(value)) {
      throw invalidArgument("filters[status]", `unknown status ${quote(value)} (one of ${INSTANCE_STATUSES.join(", ")})`);
    }
  }
}
