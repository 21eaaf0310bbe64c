// The real OpenStack backend: CloudProviderService over Keystone v3, Nova
// and Glance, through the small REST clients next to it.
import { COMMON_CAPABILITIES, type Capabilities } from "../../shared/capabilities";
import { readFileSync } from "node:fs";
import { ConfigError } from "../../shared/config";
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  ProviderError,
  unimplemented,
} from "../../shared/errors";
import { generateKeyPair, parsePublicKey, sha256Fingerprint } from "../../shared/keys";
import type { Logger } from "../../shared/log";
import { rateCardQuote, type RateCard } from "../../shared/pricing/rate-card";
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
  ListInstancesQuery,
  PriceQuote,
  Region,
  RestartRequest,
  StopRequest,
} from "../../shared/provider";
import type { OpenStackConfig } from "./cloud-config";
import { Compute, MAX_KNOWN_MICROVERSION, type NovaFlavor, type NovaKeypair, type NovaServer } from "./compute";
import { catalogRegions, Identity, identityBaseUrl, type IdentityOptions, type Token } from "./identity";
import { httpInfo, Transport, type TransportOptions } from "./http";
import { DEFAULT_HEALTH_TIMEOUT_MS, probeHealth } from "../../shared/cloud/health-probe";
import { Images } from "./image";
import { Network } from "./network";
import { ServerNetworking, type PreparedNetwork } from "./server-network";
import type { NovaNotifications } from "./notifications";
import { CLAIM_PREFIX, CreateClaims, type ClaimOptions } from "./create-claims";
import { IDEMPOTENCY_METADATA, idempotencyTag, planFilters, toInstance } from "./servers";
import { Session } from "./session";
import { quote } from "../../shared/quote";
import { openstackLoginUsers } from "./login-users";
import { OPENSTACK_TAG_LIMITS } from "./tag-limits";

export interface OpenStackBackendOptions {
  transport?: TransportOptions;
  identity?: IdentityOptions;
  rateCard?: RateCard;
  /** Nova requests one ListInstances page may make while client-side filters drop servers. */
  maxRequestsPerPage?: number;
  claims?: ClaimOptions;
  /** External network (name or id) floating IPs come from; default: the only one. */
  floatingNetwork?: string;
  /** HealthCheck's time budget (--health-timeout-ms). */
  healthTimeoutMs?: number;
  /** Nova's versioned notifications (--nova-notifications-url): watches look at once on a change. */
  notices?: NovaNotifications;
}

export class OpenStackBackend implements CloudBackend {
  readonly provider = "openstack";
  readonly tagLimits = OPENSTACK_TAG_LIMITS;
  readonly loginUsers = openstackLoginUsers;
  /** Present only with a notification bus configured: without it, watches poll. */
  readonly instanceChanges?: (onChange: () => void) => () => void;
  readonly mode = "cloud" as const;
  readonly identity: Identity;
  readonly session: Session;
  readonly compute: Compute;
  private readonly images: Images;
  private readonly maxRequestsPerPage: number;
  private readonly claims: CreateClaims;
  private readonly networking: ServerNetworking;
  /** The default region the last token's catalog gave (no region configured). */
  private catalogDefault?: string;

  constructor(
    readonly config: OpenStackConfig,
    private readonly log: Logger,
    private readonly opts: OpenStackBackendOptions = {},
  ) {
    let ca: string | undefined;
    if (config.caCertFile) {
      try {
        ca = readFileSync(config.caCertFile, "utf8");
      } catch (err) {
        throw new ConfigError(`OS_CACERT ${config.caCertFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    }
    const http = new Transport({ ca, insecure: config.insecure, ...opts.transport });
    this.identity = new Identity(config, http, { log, ...opts.identity });
    this.session = new Session(this.identity, http, config.interface, log);
    this.compute = new Compute(this.session);
    this.images = new Images(this.session);
    this.claims = new CreateClaims(this.compute, log, opts.claims);
    this.networking = new ServerNetworking(new Network(this.session), () => this.identity.cached()?.projectId, { floatingNetwork: opts.floatingNetwork });
    this.maxRequestsPerPage = opts.maxRequestsPerPage ?? 5;
    const notices = opts.notices;
    if (notices) this.instanceChanges = (onChange) => notices.subscribe(() => onChange());
  }

  /** Leaves the notification bus (shutdown, or a tenant's backend evicted). */
  async close(): Promise<void> {
    await this.opts.notices?.close();
  }

  /**
   * The configured region; when none was configured and the catalog offers
   * compute in exactly one region that is not "RegionOne", that region (as
   * the openstack CLI would pick it). Until a token has shown the catalog,
   * the configured fallback (resolveDefaultRegion waits for the token).
   */
  get defaultRegion(): string {
    if (this.config.regionExplicit !== false) return this.config.region;
    const token = this.identity.cached();
    // Kept while a token is being renewed (the cache is empty then).
    if (token) this.catalogDefault = this.regionFromCatalog(token);
    return this.catalogDefault ?? this.config.region;
  }

  private regionFromCatalog(token: Token): string {
    const regions = catalogRegions(token.catalog, "compute", this.config.interface);
    return regions.length === 1 && !regions.includes(this.config.region) ? regions[0]! : this.config.region;
  }

  /**
   * The default region, once a token has shown the catalog: the provider
   * serves before its first login, and the first call that needs the
   * default region logs in (one login for a burst of such calls: Identity
   * shares a renewal; a failed login is that call's error).
   */
  async resolveDefaultRegion(signal: AbortSignal): Promise<string> {
    if (this.config.regionExplicit !== false || this.catalogDefault !== undefined) return this.defaultRegion;
    if (!this.identity.cached()) await this.identity.current(signal);
    return this.defaultRegion;
  }

  /**
   * Logs in once the server is serving (CloudBackend.warmUp), so wrong
   * credentials show in the log at once (not fatal: the cloud may come
   * later, and each call that needs a token reports the failure as its own
   * error).
   */
  async warmUp(timeoutMs = 5_000): Promise<void> {
    try {
      const token = await this.identity.current(AbortSignal.timeout(timeoutMs));
      this.log.info("openstack: authenticated", {
        user: token.userName ?? token.userId,
        project: token.projectName ?? token.projectId,
        default_region: this.defaultRegion,
        compute_regions: catalogRegions(token.catalog, "compute", this.config.interface),
      });
    } catch (err) {
      this.log.warn("openstack: first authentication failed; calls will retry it", { error: (err as Error).message });
    }
  }

  capabilities(): Capabilities {
    return {
      flags: {
        ...COMMON_CAPABILITIES,
        // Nova has no forced stop: it powers off after the guest shutdown timeout.
        stop_force: false,
        // force=true is a HARD reboot.
        restart_force: true,
        list_all_regions_native: false,
        filters_native: true,
        public_ip: true,
        root_volume: true,
        security_groups: true,
        network_placement: true,
        user_data: true,
        key_pair_tags: false,
        cost_estimates: this.opts.rateCard !== undefined,
      },
      extras: {
        idempotency_mechanism: "metadata+tag",
        key_pair_storage: "nova (generated locally, imported)",
        price_source: this.opts.rateCard ? "rate-card" : "none",
      },
      details: {
        auth: this.config.auth.kind,
        interface: this.config.interface,
        max_microversion: MAX_KNOWN_MICROVERSION,
        public_ip_source: `floating IP from ${this.opts.floatingNetwork ? `external network ${this.opts.floatingNetwork}` : "the only external network"}, released on delete`,
        subnet_id_source: "a port on that subnet",
      },
    };
  }

  // ---- regions ----------------------------------------------------------

  async listRegions(ctx: CallContext): Promise<Region[]> {
    const token = await this.identity.current(ctx.signal);
    const withCompute = new Set(catalogRegions(token.catalog, "compute", this.config.interface));
    const described = new Map<string, string>();
    try {
      const res = await this.session.call("identity", "", identityBaseUrl(this.config.authUrl) + "/regions", { signal: ctx.signal, blame: "provider" }, "keystone");
      for (const r of res.body?.regions ?? []) described.set(r.id, r.description ?? "");
    } catch (err) {
      // Some clouds hide /v3/regions from members; the catalog still tells.
      const status = httpInfo(err)?.status;
      if (status !== 403 && status !== 404) throw err;
    }
    const ids = [...new Set([...described.keys(), ...withCompute])].sort();
    return Promise.all(
      ids.map(async (id): Promise<Region> => {
        const available = withCompute.has(id);
        const zones = available ? await this.compute.availabilityZones(id, ctx.signal).catch(() => undefined) : undefined;
        return {
          id,
          name: id,
          displayName: described.get(id) || id,
          status: available ? "available" : "unavailable",
          zones,
        };
      }),
    );
  }

  // ---- instances --------------------------------------------------------

  private async flavorsById(region: string, signal: AbortSignal, needed: boolean): Promise<Map<string, NovaFlavor>> {
    if (!needed) return new Map();
    const list = await this.compute.listFlavors(region, signal).catch(() => [] as NovaFlavor[]);
    return new Map(list.map((f) => [f.id, f]));
  }

  async listInstances(ctx: CallContext, q: ListInstancesQuery): Promise<InstancePage> {
    const embedded = await this.compute.supports(q.region, "embeddedFlavor", ctx.signal);
    const flavors = q.filters.type !== undefined || !embedded ? await this.compute.listFlavors(q.region, ctx.signal) : undefined;
    const plan = planFilters(q.filters, flavors);
    const byId = new Map((flavors ?? []).map((f) => [f.id, f]));
    const out: Instance[] = [];
    let marker = q.cursor;
    for (let requests = 0; requests < this.maxRequestsPerPage; requests++) {
      let page;
      try {
        // Asking Nova for no more than the room left keeps the page within
        // page_size, and the marker is then exactly the last server seen.
        page = await this.compute.listServers(q.region, { ...plan.query, limit: q.pageSize - out.length, marker }, ctx.signal);
      } catch (err) {
        if (marker && httpInfo(err)?.status === 400 && /marker/i.test(httpInfo(err)!.message)) {
          throw invalidArgument("page_token", "the server this page resumes after was deleted; start the listing again");
        }
        throw err;
      }
      for (const s of page.servers) {
        const instance = toInstance(s, q.region, byId);
        if (plan.matches(instance)) out.push(instance);
        marker = s.id;
      }
      if (!page.nextMarker) return { instances: await this.withImageFacts(q.region, out, ctx.signal) };
      if (out.length >= q.pageSize) break;
    }
    return { instances: await this.withImageFacts(q.region, out, ctx.signal), nextCursor: marker };
  }

  /** Adds the image's name (and login hints) from Glance; the SSH defaults read image_name. */
  private async withImageFacts(region: string, instances: Instance[], signal: AbortSignal): Promise<Instance[]> {
    const ids = [...new Set(instances.map((i) => i.imageId).filter((id): id is string => Boolean(id)))];
    const facts = new Map(await Promise.all(ids.map(async (id) => [id, await this.images.describe(region, id, signal)] as const)));
    for (const i of instances) {
      const f = i.imageId ? facts.get(i.imageId) : undefined;
      if (!f) continue;
      i.extra ??= {};
      if (f.name) i.extra.image_name = f.name;
      if (f.osDistro) i.extra.os_distro = f.osDistro;
      if (f.adminUser) i.extra.image_login_user = f.adminUser;
    }
    return instances;
  }

  sshUserHint(instance: Instance): string | undefined {
    return instance.extra?.image_login_user;
  }

  private async server(region: string, id: string, signal: AbortSignal): Promise<NovaServer> {
    try {
      return await this.compute.getServer(region, id, signal);
    } catch (err) {
      if (err instanceof ProviderError && err.code === "NOT_FOUND") {
        throw notFound(`server ${quote(id)} not found in region ${region}`, err.details);
      }
      throw err;
    }
  }

  async getInstance(ctx: CallContext, ref: InstanceRef): Promise<Instance> {
    const server = await this.server(ref.region, ref.instanceId, ctx.signal);
    const needFlavors = !server.flavor?.original_name;
    const [instance] = await this.withImageFacts(ref.region, [toInstance(server, ref.region, await this.flavorsById(ref.region, ctx.signal, needFlavors))], ctx.signal);
    return instance!;
  }

  /** Servers carrying the idempotency key's tag (or metadata, before tags existed), oldest first. */
  private async findByIdempotencyKey(region: string, key: string, signal: AbortSignal): Promise<NovaServer[]> {
    const tagged = await this.compute.supports(region, "serverTags", signal);
    const found: NovaServer[] = [];
    let marker: string | undefined;
    do {
      const page = await this.compute.listServers(region, { ...(tagged ? { tags: idempotencyTag(key) } : {}), marker }, signal);
      found.push(...page.servers.filter((s) => s.metadata?.[IDEMPOTENCY_METADATA] === key));
      marker = page.nextMarker;
    } while (marker);
    return found.sort((a, b) => (a.created ?? "").localeCompare(b.created ?? "") || a.id.localeCompare(b.id));
  }

  private async resolveFlavor(region: string, ref: string, signal: AbortSignal, field: string): Promise<NovaFlavor> {
    const list = await this.compute.listFlavors(region, signal);
    const byName = list.filter((f) => f.name === ref);
    if (byName.length === 1) return byName[0]!;
    const byId = list.find((f) => f.id === ref);
    if (byId) return byId;
    if (byName.length > 1) throw invalidArgument(field, `${byName.length} flavors are named ${quote(ref)}; give the flavor id`);
    try {
      // Private flavors shared with the project may not be listed.
      return await this.compute.getFlavor(region, ref, signal);
    } catch (err) {
      if (err instanceof ProviderError && err.code === "NOT_FOUND") {
        throw invalidArgument(field, `no flavor ${quote(ref)} in region ${region} (flavors: ${list.map((f) => f.name).slice(0, 20).join(", ")})`);
      }
      throw err;
    }
  }

  async createInstance(ctx: CallContext, spec: CreateInstanceSpec): Promise<Instance> {
    const key = spec.idempotencyKey;
    if (!key) return this.getInstance(ctx, { region: spec.region, instanceId: await this.submitCreate(ctx, spec) });
    // Calls with one key reach this once per process (the service layer
    // shares one create between them); other processes are kept apart by the claim.
    const id = await this.claims.run(
      spec.region,
      key,
      ctx.signal,
      async () => {
        const existing = (await this.findByIdempotencyKey(spec.region, key, ctx.signal))[0]?.id;
        if (existing) ctx.log.info("create retried with a known idempotency key; returning the existing server", { instance_id: existing });
        return existing;
      },
      (claimed) => this.submitCreate(ctx, spec, claimed),
    );
    return this.getInstance(ctx, { region: spec.region, instanceId: id });
  }

  /** Validates, resolves references and POSTs the server; returns its id. */
  private async submitCreate(ctx: CallContext, spec: CreateInstanceSpec, claimed = false): Promise<string> {
    const { region } = spec;
    const signal = ctx.signal;
    if (!spec.imageId) throw invalidArgument("image_id", "is required: Nova boots every server from an image (by id or name)");
    const [flavor, image] = await Promise.all([
      this.resolveFlavor(region, spec.type, signal, "type"),
      this.images.resolve(region, spec.imageId, signal, "image_id"),
    ]);
    const can = async (f: Parameters<Compute["supports"]>[1]) => this.compute.supports(region, f, signal);
    const server: Record<string, unknown> = { name: spec.name, flavorRef: flavor.id, imageRef: image.id };
    // A subnet or a floating IP needs a port of our own (server-network.ts);
    // it is made last, after every other check, and removed if the create fails.
    let prepared: PreparedNetwork | undefined;
    if (ServerNetworking.needed(spec)) server.networks = [];
    else if (spec.vpcId) server.networks = [{ uuid: spec.vpcId }];
    // No network asked for: at 2.37+ Nova needs to be told so explicitly.
    else if (await can("networksNone")) server.networks = "none";
    if (spec.keyPairName || spec.keyPairId) server.key_name = spec.keyPairName ?? spec.keyPairId;
    if (spec.userData) server.user_data = Buffer.from(spec.userData).toString("base64");
    if (spec.zone) server.availability_zone = spec.zone;
    if (spec.securityGroups.length && !ServerNetworking.needed(spec)) server.security_groups = spec.securityGroups.map((name) => ({ name }));
    const metadata: Record<string, string> = { ...spec.tags };
    if (spec.idempotencyKey) {
      metadata[IDEMPOTENCY_METADATA] = spec.idempotencyKey;
      if (await can("createTags")) server.tags = [idempotencyTag(spec.idempotencyKey)];
    }
    if (Object.keys(metadata).length) server.metadata = metadata;
    if (spec.rootVolumeSizeGb) {
      const bdm: Record<string, unknown> = {
        boot_index: 0,
        uuid: image.id,
        source_type: "image",
        destination_type: "volume",
        volume_size: spec.rootVolumeSizeGb,
        delete_on_termination: true,
      };
      if (spec.rootVolumeType) {
        if (!(await can("volumeType"))) throw invalidArgument("root_volume_type", "this Nova is older than microversion 2.67 and cannot choose a volume type");
        bdm.volume_type = spec.rootVolumeType;
      }
      server.block_device_mapping_v2 = [bdm];
      delete server.imageRef;
    } else if (spec.rootVolumeType) {
      throw invalidArgument("root_volume_type", "needs root_volume_size (the root disk is a volume only when a size is given)");
    }

    if (ServerNetworking.needed(spec)) {
      prepared = await this.networking.prepare(ctx, spec);
      server.networks = [{ port: prepared.portId }];
    }
    let created: { id: string };
    try {
      created = await this.compute.createServer(region, server, signal);
    } catch (err) {
      if (prepared) await this.networking.rollback(ctx, region, prepared);
      throw blameCreateField(err);
    }
    if (spec.idempotencyKey && !claimed) {
      // Without a claim (key pair quota or policy), a racing twin that is
      // already visible is removed: the oldest server wins.
      const twins = await this.findByIdempotencyKey(region, spec.idempotencyKey, signal);
      const winner = twins[0];
      if (winner && winner.id !== created.id) {
        ctx.log.warn("a concurrent create with the same idempotency key won; deleting this duplicate", { winner: winner.id, duplicate: created.id });
        await this.compute.deleteServer(region, created.id, signal).catch(() => undefined);
        if (prepared) await this.networking.rollback(ctx, region, prepared);
        return winner.id;
      }
    }
    return created.id;
  }

  /** Runs a server action; a 409 names the state the server is in. */
  private async act(ctx: CallContext, ref: InstanceRef, verb: string, body: object): Promise<void> {
    try {
      await this.compute.serverAction(ref.region, ref.instanceId, body, ctx.signal);
    } catch (err) {
      const info = httpInfo(err);
      if (info?.status === 404) throw notFound(`server ${quote(ref.instanceId)} not found in region ${ref.region}`, (err as ProviderError).details);
      if (info?.status === 409) {
        const now = await this.getInstance(ctx, ref).catch(() => undefined);
        const state = now ? `is ${now.status} (${now.rawStatus}${now.extra?.task_state ? `, task ${now.extra.task_state}` : ""})` : "is in a state that does not allow it";
        throw failedPrecondition(`cannot ${verb} server ${ref.instanceId}: it ${state}. nova: ${info.message}${info.requestId ? ` (request id ${info.requestId})` : ""}`, {
          cloudCode: info.kind,
          cloudRequestId: info.requestId,
        });
      }
      throw err;
    }
  }

  async deleteInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    // The server must exist (NOT_FOUND otherwise) before anything is released.
    await this.server(ref.region, ref.instanceId, ctx.signal);
    const removePorts = await this.networking.releaseOwned(ctx, ref.region, ref.instanceId);
    try {
      await this.compute.deleteServer(ref.region, ref.instanceId, ctx.signal);
    } catch (err) {
      const info = httpInfo(err);
      if (info?.status === 404) throw notFound(`server ${quote(ref.instanceId)} not found in region ${ref.region}`, (err as ProviderError).details);
      if (info?.status === 409) throw failedPrecondition(`cannot delete server ${ref.instanceId}: nova: ${info.message}`, { cloudRequestId: info.requestId });
      throw err;
    }
    await removePorts();
    return { message: `deleting server ${ref.instanceId}` };
  }

  async startInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    await this.act(ctx, ref, "start", { "os-start": null });
    return { message: `starting server ${ref.instanceId}` };
  }

  async stopInstance(ctx: CallContext, req: StopRequest): Promise<ActionResult> {
    await this.act(ctx, req, "stop", { "os-stop": null });
    // Nova has one stop: a guest shutdown that powers off after a timeout.
    return { message: `stopping server ${req.instanceId}${req.force ? " (Nova has no forced stop; it powers off after the guest shutdown timeout)" : ""}` };
  }

  async restartInstance(ctx: CallContext, ref: RestartRequest): Promise<ActionResult> {
    const type = ref.force ? "HARD" : "SOFT";
    await this.act(ctx, ref, "restart", { reboot: { type } });
    return { message: `rebooting server ${ref.instanceId} (${type})` };
  }

  // ---- prices and health ------------------------------------------------

  async priceQuote(ctx: CallContext, req: { instanceType: string; region: string }): Promise<PriceQuote> {
    // No card means no quote: say so before asking the cloud anything.
    if (!this.opts.rateCard) return rateCardQuote(undefined, { name: req.instanceType, vcpus: 0, memoryGiB: 0 });
    const flavor = await this.resolveFlavor(req.region, req.instanceType, ctx.signal, "instance_type");
    return rateCardQuote(this.opts.rateCard, { name: flavor.name, vcpus: flavor.vcpus, memoryGiB: flavor.ram / 1024, diskGiB: flavor.disk || undefined });
  }

  async healthCheck(ctx: CallContext): Promise<HealthReport> {
    const keystone = async (probe: CallContext) => {
      const token = await this.identity.current(probe.signal);
      // Keystone itself confirms the cached token is still valid.
      await this.session.call("identity", "", identityBaseUrl(this.config.authUrl) + "/auth/tokens", { method: "HEAD", signal: probe.signal, blame: "provider", headers: { "X-Subject-Token": token.value } }, "keystone");
      return `token valid until ${token.expiresAt.toISOString()}`;
    };
    const nova = async (probe: CallContext) => {
      const region = await this.resolveDefaultRegion(probe.signal);
      const res = await this.compute.call(region, "/", { signal: probe.signal, blame: "provider" });
      const v = res.body?.version?.version;
      return `compute API answering in ${region}${v ? ` (max microversion ${v}, using ${await this.compute.microversion(region, probe.signal)})` : ""}`;
    };
    return probeHealth(ctx, [{ name: "keystone", run: keystone }, { name: "nova", run: nova }], {
      timeoutMs: this.opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
      healthyMessage: "keystone and nova answer",
      unhealthyMessage: "openstack is not reachable or rejects the credentials",
    });
  }

  // ---- key pairs --------------------------------------------------------

  private toKeyPair(k: NovaKeypair, region: string): KeyPair {
    let keyType = k.type === "x509" ? "x509" : undefined;
    let publicKey = k.public_key?.trim();
    if (publicKey && !keyType) {
      try {
        keyType = parsePublicKey(publicKey).keyType;
      } catch {
        keyType = k.type;
      }
    }
    return {
      id: k.name,
      name: k.name,
      fingerprint: k.fingerprint,
      region,
      tags: {},
      createdAt: k.created_at ? new Date(k.created_at.endsWith("Z") ? k.created_at : k.created_at + "Z") : undefined,
      keyType,
      publicKey,
    };
  }

  private noTags(tags: Record<string, string>) {
    if (Object.keys(tags).length) throw unimplemented("OpenStack key pairs cannot carry tags (capability key_pair_tags is false)");
  }

  private async importToNova(region: string, name: string, publicKey: string, signal: AbortSignal): Promise<NovaKeypair> {
    const body: Record<string, string> = { name, public_key: publicKey };
    if (await this.compute.supports(region, "keypairType", signal)) body.type = "ssh";
    try {
      return await this.compute.createKeypair(region, body, signal);
    } catch (err) {
      if (httpInfo(err)?.status === 409) throw alreadyExists(`key pair ${quote(name)} already exists in region ${region}`, (err as ProviderError).details);
      throw err;
    }
  }

  async importKeyPair(ctx: CallContext, req: { name: string; region: string; publicKey: string; tags: Record<string, string> }): Promise<KeyPair> {
    this.noTags(req.tags);
    const parsed = parsePublicKey(req.publicKey, "public_key");
    const created = await this.importToNova(req.region, req.name, req.publicKey.trim(), ctx.signal);
    return { ...this.toKeyPair({ ...created, public_key: created.public_key ?? req.publicKey }, req.region), keyType: parsed.keyType };
  }

  async createKeyPair(
    ctx: CallContext,
    req: { name: string; region: string; tags: Record<string, string>; keyType: "ed25519" | "rsa" },
  ): Promise<CreatedKeyPair> {
    this.noTags(req.tags);
    const novaGenerates = req.keyType === "rsa" && !(await this.compute.supports(req.region, "keypairImportOnly", ctx.signal));
    if (novaGenerates) {
      try {
        const created = await this.compute.createKeypair(req.region, { name: req.name }, ctx.signal);
        const { private_key, ...rest } = created;
        return { keyPair: this.toKeyPair(rest, req.region), privateKey: private_key ?? "" };
      } catch (err) {
        if (httpInfo(err)?.status === 409) throw alreadyExists(`key pair ${quote(req.name)} already exists in region ${req.region}`);
        throw err;
      }
    }
    // Nova 2.92+ only imports (and never made ed25519 keys): generate here,
    // import the public half, hand the private half to the caller once.
    const generated = generateKeyPair(req.keyType, req.name);
    const created = await this.importToNova(req.region, req.name, generated.publicKey, ctx.signal);
    return { keyPair: { ...this.toKeyPair({ ...created, public_key: created.public_key ?? generated.publicKey }, req.region), keyType: req.keyType }, privateKey: generated.privateKey };
  }

  async listKeyPairs(ctx: CallContext, req: { region: string; filters: Record<string, string> }): Promise<KeyPair[]> {
    for (const key of Object.keys(req.filters)) {
      if (!["name", "fingerprint"].includes(key) && !key.startsWith("tag:")) throw invalidArgument(`filters[${key}]`, "unknown filter; use name, fingerprint or tag:KEY");
    }
    // Create claims (create-claims.ts) are bookkeeping, not the caller's keys.
    const all = (await this.compute.listKeypairs(req.region, ctx.signal)).filter((k) => !k.name.startsWith(CLAIM_PREFIX)).map((k) => this.toKeyPair(k, req.region));
    const { name, fingerprint } = req.filters;
    // Key pairs have no tags, so any tag filter matches none.
    const tagFilter = Object.keys(req.filters).some((k) => k.startsWith("tag:"));
    return all.filter((k) => {
      if (tagFilter) return false;
      if (name !== undefined && k.name !== name) return false;
      if (fingerprint !== undefined && k.fingerprint !== fingerprint && sha256Of(k.publicKey) !== fingerprint) return false;
      return true;
    });
  }

  async deleteKeyPair(ctx: CallContext, req: { name: string; region: string }): Promise<ActionResult> {
    try {
      await this.compute.deleteKeypair(req.region, req.name, ctx.signal);
    } catch (err) {
      if (httpInfo(err)?.status === 404) throw notFound(`key pair ${quote(req.name)} not found in region ${req.region}`, (err as ProviderError).details);
      throw err;
    }
    return { message: `key pair ${req.name} deleted` };
  }
}

function sha256Of(publicKey: string | undefined): string | undefined {
  if (!publicKey) return undefined;
  try {
    return sha256Fingerprint(parsePublicKey(publicKey).blob);
  } catch {
    return undefined;
  }
}

const CREATE_FIELDS: [RegExp, string][] = [
  [/key_?name|key ?pair/i, "key_pair_name"],
  [/flavor/i, "type"],
  [/security.?group/i, "security_groups"],
  [/availability.?zone/i, "zone"],
  [/network|port/i, "vpc_id"],
  [/block.?device|volume/i, "root_volume_size"],
  [/user.?data/i, "user_data"],
  [/metadata/i, "tags"],
  [/image/i, "image_id"],
];

/** Nova's 400/404 on create is about one of the request's references: name it. */
function blameCreateField(err: unknown): unknown {
  const info = httpInfo(err);
  if (!info || (info.status !== 400 && info.status !== 404)) return err;
  const field = CREATE_FIELDS.find(([re]) => re.test(info.message))?.[1] ?? "request";
  return invalidArgument(field, `nova: ${info.message}${info.requestId ? ` (request id ${info.requestId})` : ""}`, { cloudRequestId: info.requestId, cloudCode: info.kind });
}
