// The real Compute Engine backend: translates CloudBackend calls into
// Compute Engine v1 REST calls (@google-cloud/compute, REST transport) and
// nothing else. See README.md for the behaviour users rely on.
import type { Capabilities } from "../../shared/capabilities";
import { gcpCapabilities } from "./capabilities";
import { createHash, randomUUID } from "node:crypto";
import type { google } from "@google-cloud/compute/build/protos/protos";
import { ProviderError, alreadyExists, failedPrecondition, invalidArgument, notFound, unavailable, abortError, unimplemented } from "../../shared/errors";
import { generateKeyPair, parsePublicKey } from "../../shared/keys";
import type { Logger } from "../../shared/log";
import type {
  ActionResult,
  AllRegionsQuery,
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
} from "../../shared/provider";
import { BootImages, bootDiskKey } from "./boot-images";
import { httpStatusOf } from "./errors";
import { reLiteral } from "./filters";
import { abortableSleep, gceCall, type GceClients } from "./gce-api";
import { IDEMPOTENCY_METADATA_KEY, lastSegment, metadataItems, toInstance, type GceInstance } from "./instances";
import { fetchGcePage, listInstancePage } from "./listing";
import { unwrapOperation, waitForOperation, type GceOperation } from "./operations";
import { RetryPolicy } from "../../shared/cloud/retry";
import { DEFAULT_HEALTH_TIMEOUT_MS, probeHealth } from "../../shared/cloud/health-probe";
import { gcpPriceQuote } from "./pricing/quote";
import { checkInstanceName, checkNetworkTags, checkSshUser, parseLocation, regionOfZone, tagsToLabels, type Location } from "./rules";
import { SSH_KEYS_ITEM, formatSshKeys, managedLines, parseSshKeys, sshKeyLine, toKeyPair, type SshKeyLine } from "./ssh-keys";
import { quote } from "../../shared/quote";
import { gcpLoginUsers } from "./login-users";
import { GCP_TAG_LIMITS } from "./tag-limits";

export const DEFAULT_IMAGE = "projects/debian-cloud/global/images/family/debian-12";
/** Rounds of the ssh-keys compare-and-swap, spaced by the shared back-off. */
const METADATA_CAS = new RetryPolicy({ maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 2_000 });

/** GCE refused a metadata write because the fingerprint changed (another writer came first). */
function isMetadataConflict(err: unknown): boolean {
  return err instanceof ProviderError && err.code === "FAILED_PRECONDITION" && (err.details.cloudCode === "412" || err.details.cloudCode === "conditionNotMet" || httpStatusOf(err.details.cause) === 412);
}
const REGION_CACHE_MS = 5 * 60_000;

export interface GcpBackendOptions {
  project: string;
  defaultRegion: string;
  clients: GceClients;
  /** "service-account-key", "access-token", "application-default" (for capabilities). */
  authKind: string;
  /** Set when an endpoint override is in use (shown in capabilities). */
  endpoint?: string;
  log: Logger;
  /** HealthCheck's time budget (--health-timeout-ms). */
  healthTimeoutMs?: number;
}

type Metadata = google.cloud.compute.v1.IMetadata;

/** A UUID derived from the idempotency key: GCE dedups inserts by requestId. */
export function requestIdFor(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\u0000")).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5 layout (name-based)
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export class GcpBackend implements CloudBackend {
  readonly provider = "gcp";
  readonly tagLimits = GCP_TAG_LIMITS;
  readonly loginUsers = gcpLoginUsers;
  readonly mode = "cloud" as const;
  readonly defaultRegion: string;
  private readonly project: string;
  private readonly clients: GceClients;
  private readonly bootImages: BootImages;

  constructor(private readonly opts: GcpBackendOptions) {
    this.project = opts.project;
    this.defaultRegion = opts.defaultRegion;
    this.clients = opts.clients;
    this.bootImages = new BootImages(opts.clients, opts.project);
  }

  /** toInstance with the image the boot disk was created from. */
  private async withImage(ctx: CallContext, raw: GceInstance): Promise<Instance> {
    const boot = await this.bootImages.resolve(ctx, [raw]);
    return toInstance(raw, boot.get(bootDiskKey(raw) ?? ""));
  }

  capabilities(): Capabilities {
    return gcpCapabilities({ project: this.project, authKind: this.opts.authKind, endpoint: this.opts.endpoint });
  }

  // ---- regions --------------------------------------------------------

  async listRegions(ctx: CallContext): Promise<Region[]> {
    const [regions] = await gceCall(ctx, "regions.list", { safe: true, blame: "provider" }, (o) => this.clients.regions.list({ project: this.project }, o));
    const mapped = regions.map((r) => ({
      id: r.name ?? "",
      name: r.name ?? "",
      displayName: r.description || r.name || "",
      status: r.status === "UP" ? "available" : r.status === "DOWN" ? "unavailable" : (r.status ?? "unknown").toLowerCase(),
      zones: (r.zones ?? []).map(lastSegment).sort(),
    }));
    this.regionCache = { at: Date.now(), regions: mapped };
    return mapped;
  }

  private regionCache?: { at: number; regions: Region[] };

  /**
   * An unknown region would make aggregatedList answer "no instances", which
   * reads like an empty region: refuse it instead. Regions change rarely, so
   * the list is cached for a few minutes.
   */
  private async cachedRegions(ctx: CallContext): Promise<Region[]> {
    const fresh = this.regionCache && Date.now() - this.regionCache.at < REGION_CACHE_MS;
    return fresh ? this.regionCache!.regions : this.listRegions(ctx);
  }

  private async checkLocation(ctx: CallContext, location: Location, field = "region"): Promise<void> {
    const region = (await this.cachedRegions(ctx)).find((r) => r.id === location.region);
    if (!region) throw invalidArgument(field, `${quote(location.region)} is not a region of project ${this.project}`);
    if (location.kind === "zone" && !region.zones?.includes(location.zone)) {
      throw invalidArgument(field, `${quote(location.zone)} is not a zone of region ${location.region}`);
    }
  }

  // ---- instances ------------------------------------------------------

  async listInstances(ctx: CallContext, query: ListInstancesQuery): Promise<InstancePage> {
    const location = parseLocation(query.region);
    if (!query.cursor) await this.checkLocation(ctx, location);
    return listInstancePage(ctx, this.clients, this.project, location, query, this.bootImages);
  }

  /**
   * Region "*": one unfiltered aggregatedList answers for every zone of the
   * project, so a page costs one instances call (more only when a filter
   * leaves GCE pages empty, at most MAX_GCE_PAGES_PER_PAGE, as for a region).
   * No region check either: there is no region to check.
   */
  async listAllRegions(ctx: CallContext, query: AllRegionsQuery): Promise<InstancePage> {
    return listInstancePage(ctx, this.clients, this.project, { kind: "all" }, query, this.bootImages);
  }

  async getInstance(ctx: CallContext, ref: InstanceRef): Promise<Instance> {
    return this.withImage(ctx, (await this.locate(ctx, ref)).raw);
  }

  /**
   * Finds an instance from instance_id = numeric id, name, "ZONE/NAME" or a
   * zones/ZONE/instances/NAME path, inside the request's region or zone.
   */
  private async locate(ctx: CallContext, ref: InstanceRef): Promise<{ zone: string; name: string; raw: GceInstance }> {
    const location = parseLocation(ref.region);
    const id = ref.instanceId;
    const explicit = /^(?:.*\/)?zones\/([^/]+)\/instances\/([^/]+)$/.exec(id) ?? /^([a-z]+-[a-z]+\d+-[a-z])\/([^/]+)$/.exec(id);
    if (explicit) {
      const [, zone, name] = explicit as unknown as [string, string, string];
      const inScope = location.kind === "zone" ? zone === location.zone : regionOfZone(zone) === location.region;
      if (!inScope) throw notFound(`instance ${id} is not in ${ref.region}`);
      return { zone, name, raw: await this.getByName(ctx, zone, name) };
    }
    const numeric = /^\d{1,20}$/.test(id);
    if (!numeric && !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(id)) {
      throw invalidArgument("instance_id", "expected a GCE instance id (digits), name, ZONE/NAME or zones/ZONE/instances/NAME");
    }
    if (!numeric && location.kind === "zone") return { zone: location.zone, name: id, raw: await this.getByName(ctx, location.zone, id) };
    const term = numeric ? `(id eq "${id}")` : `(name eq "${reLiteral(id)}")`;
    const filter = location.kind === "region" ? `(zone eq ".*/zones/${reLiteral(location.region)}-[a-z]+") ${term}` : term;
    const found: GceInstance[] = [];
    let token: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page = await fetchGcePage(ctx, this.clients, this.project, location, filter, token, 500);
      found.push(...page.items.filter((x) => (numeric ? String(x.id) === id : x.name === id)));
      if (!page.nextPageToken) break;
      token = page.nextPageToken;
    }
    if (found.length === 0) throw notFound(`instance ${id} not found in ${ref.region}`);
    if (found.length > 1) {
      throw invalidArgument("instance_id", `${quote(id)} names instances in several zones (${found.map((f) => lastSegment(f.zone)).join(", ")}); pass ZONE/NAME or the numeric id`);
    }
    const raw = found[0]!;
    return { zone: lastSegment(raw.zone), name: raw.name ?? id, raw };
  }

  private async getByName(ctx: CallContext, zone: string, name: string): Promise<GceInstance> {
    const [raw] = await gceCall(ctx, "instances.get", { safe: true, blame: "caller" }, (o) => this.clients.instances.get({ project: this.project, zone, instance: name }, o));
    return raw;
  }

  private async chooseZone(ctx: CallContext, spec: CreateInstanceSpec, location: Location): Promise<string> {
    let zone: string;
    if (location.kind === "zone") {
      if (spec.zone && spec.zone !== location.zone) throw invalidArgument("zone", `${quote(spec.zone)} contradicts region ${quote(location.zone)}`);
      zone = location.zone;
    } else if (spec.zone) {
      const z = parseLocation(spec.zone, "zone");
      if (z.kind !== "zone" || z.region !== location.region) throw invalidArgument("zone", `${quote(spec.zone)} is not a zone of region ${location.region}`);
      zone = spec.zone;
    } else {
      // Deterministic, so a retried create picks the same zone (and requestId).
      const region = (await this.cachedRegions(ctx)).find((r) => r.id === location.region);
      if (!region) throw invalidArgument("region", `${quote(location.region)} is not a region of project ${this.project}`);
      const first = [...(region.zones ?? [])].sort()[0];
      if (!first) throw failedPrecondition(`region ${location.region} lists no zones`);
      zone = first;
    }
    await this.checkLocation(ctx, { kind: "zone", region: regionOfZone(zone), zone }, spec.zone ? "zone" : "region");
    return zone;
  }

  private imageUrl(image: string | undefined): string {
    if (!image) return DEFAULT_IMAGE;
    if (image.startsWith("https://") || image.startsWith("projects/") || image.startsWith("global/")) return image;
    // "debian-12-bookworm-v20240110" or "family/my-family": an image of this project.
    return `projects/${this.project}/global/images/${image}`;
  }

  async createInstance(ctx: CallContext, spec: CreateInstanceSpec): Promise<Instance> {
    const name = checkInstanceName(spec.name);
    const labels = tagsToLabels(spec.tags);
    const networkTags = checkNetworkTags(spec.securityGroups);
    const location = parseLocation(spec.region);
    if (!/^[a-z0-9][-a-z0-9]{0,62}$/.test(spec.type)) throw invalidArgument("type", `${quote(spec.type)} is not a GCE machine type name (e.g. e2-medium)`);
    if (spec.rootVolumeType && !/^[a-z0-9][-a-z0-9]{0,62}$/.test(spec.rootVolumeType)) throw invalidArgument("root_volume_type", "expected a GCE disk type such as pd-balanced or pd-ssd");
    const zone = await this.chooseZone(ctx, spec, location);

    const items: { key: string; value: string }[] = [];
    if (spec.userData) items.push({ key: "startup-script", value: spec.userData });
    const sshKey = spec.keyPairName || spec.keyPairId ? await this.findKeyForInstance(ctx, spec) : undefined;
    if (sshKey) items.push({ key: SSH_KEYS_ITEM, value: sshKey.raw });
    if (spec.idempotencyKey) items.push({ key: IDEMPOTENCY_METADATA_KEY, value: spec.idempotencyKey });

    const subnet = spec.subnetId && (spec.subnetId.includes("/") ? spec.subnetId : `regions/${regionOfZone(zone)}/subnetworks/${spec.subnetId}`);
    const network = spec.vpcId ? (spec.vpcId.includes("/") ? spec.vpcId : `global/networks/${spec.vpcId}`) : subnet ? undefined : "global/networks/default";
    const instanceResource: google.cloud.compute.v1.IInstance = {
      name,
      machineType: `zones/${zone}/machineTypes/${spec.type}`,
      labels,
      disks: [
        {
          boot: true,
          autoDelete: true,
          type: "PERSISTENT",
          initializeParams: {
            sourceImage: this.imageUrl(spec.imageId),
            ...(spec.rootVolumeSizeGb ? { diskSizeGb: spec.rootVolumeSizeGb } : {}),
            ...(spec.rootVolumeType ? { diskType: `zones/${zone}/diskTypes/${spec.rootVolumeType}` } : {}),
          },
        },
      ],
      networkInterfaces: [
        {
          ...(network ? { network } : {}),
          ...(subnet ? { subnetwork: subnet } : {}),
          ...(spec.publicIp ? { accessConfigs: [{ name: "External NAT", type: "ONE_TO_ONE_NAT" }] } : {}),
        },
      ],
      ...(networkTags.length ? { tags: { items: networkTags } } : {}),
      ...(items.length ? { metadata: { items } } : {}),
    };
    // Same idempotency key => same requestId => GCE returns the first
    // insert's operation instead of creating a second VM. Without a key the
    // id is still fixed for this call, which makes repeating it safe.
    const requestId = spec.idempotencyKey ? requestIdFor("insert", this.project, zone, name, spec.idempotencyKey) : randomUUID();
    let op: GceOperation;
    try {
      const [started] = await gceCall(ctx, "instances.insert", { safe: true, blame: "caller", field: "request" }, (o) =>
        this.clients.instances.insert({ project: this.project, zone, requestId, instanceResource }, o),
      );
      op = await waitForOperation(ctx, this.clients, { project: this.project, zone }, unwrapOperation(started));
    } catch (err) {
      if (err instanceof ProviderError && err.code === "ALREADY_EXISTS" && spec.idempotencyKey) {
        // Past GCE's requestId window: the instance our first call made carries the key.
        const existing = await this.getByName(ctx, zone, name);
        if (metadataItems(existing.metadata).get(IDEMPOTENCY_METADATA_KEY) === spec.idempotencyKey) return this.withImage(ctx, existing);
      }
      throw err;
    }
    return this.withImage(ctx, await this.getByName(ctx, zone, name));
  }

  private async action(ctx: CallContext, ref: InstanceRef, verb: "start" | "stop" | "reset" | "delete"): Promise<{ zone: string; name: string }> {
    const { zone, name } = await this.locate(ctx, ref);
    // One requestId for this call: a repeated attempt is deduplicated by GCE.
    const request = { project: this.project, zone, instance: name, requestId: randomUUID() };
    const [started] = await gceCall(ctx, `instances.${verb}`, { safe: true, blame: "caller" }, (o) => this.clients.instances[verb](request, o));
    await waitForOperation(ctx, this.clients, { project: this.project, zone }, unwrapOperation(started));
    return { zone, name };
  }

  async deleteInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    const { zone, name } = await this.action(ctx, ref, "delete");
    return { message: `instance ${name} in ${zone} deleted` };
  }

  async startInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    const { zone, name } = await this.action(ctx, ref, "start");
    return { message: `instance ${name} in ${zone} started` };
  }

  async stopInstance(ctx: CallContext, req: StopRequest): Promise<ActionResult> {
    const { zone, name } = await this.action(ctx, req, "stop");
    // GCE has no forced stop: instances.stop always runs the guest's shutdown.
    return { message: `instance ${name} in ${zone} stopped${req.force ? " (GCE has no forced stop; a normal stop was done)" : ""}` };
  }

  async restartInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    const { zone, name } = await this.action(ctx, ref, "reset");
    return { message: `instance ${name} in ${zone} reset` };
  }

  // ---- prices, health -------------------------------------------------

  async priceQuote(_ctx: CallContext, req: { instanceType: string; region: string }): Promise<PriceQuote> {
    return gcpPriceQuote(req.instanceType, regionOfZone(req.region));
  }

  async healthCheck(ctx: CallContext): Promise<HealthReport> {
    const regionGet = async (probe: CallContext) => {
      // Not repeated: a probe reports the API's state now, it does not wait out a back-off.
      await gceCall(probe, "regions.get", { safe: false, blame: "provider" }, (o) => this.clients.regions.get({ project: this.project, region: this.defaultRegion }, o));
      return `regions.get ${this.defaultRegion}`;
    };
    return probeHealth(ctx, [{ name: "cloud_api", run: regionGet }], {
      timeoutMs: this.opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
      healthyMessage: "Compute Engine API reachable",
      unhealthyMessage: "Compute Engine API check failed",
    });
  }

  // ---- key pairs (project metadata "ssh-keys") ------------------------

  private async readProjectMetadata(ctx: CallContext): Promise<Metadata> {
    const [project] = await gceCall(ctx, "projects.get", { safe: true, blame: "provider" }, (o) => this.clients.projects.get({ project: this.project }, o));
    return project.commonInstanceMetadata ?? {};
  }

  private async projectKeys(ctx: CallContext): Promise<SshKeyLine[]> {
    return parseSshKeys(metadataItems(await this.readProjectMetadata(ctx)).get(SSH_KEYS_ITEM));
  }

  /**
   * Read-modify-write of the project's ssh-keys: a compare-and-swap loop,
   * not a retry of one request. The write carries the fingerprint read, so
   * a concurrent writer makes GCE answer 412; then the metadata is read
   * again and the change re-applied (repeating is safe: each round starts
   * from a fresh read). The rounds are spaced by the shared retry policy's
   * back-off and never outlive the caller's deadline.
   */
  private async updateSshKeys<T>(ctx: CallContext, change: (lines: SshKeyLine[]) => { lines: SshKeyLine[]; result: T }): Promise<T> {
    const round = async (): Promise<T> => {
      const metadata = await this.readProjectMetadata(ctx);
      const items = metadata.items ?? [];
      const { lines, result } = change(parseSshKeys(items.find((i) => i.key === SSH_KEYS_ITEM)?.value ?? undefined));
      const others = items.filter((i) => i.key !== SSH_KEYS_ITEM).map((i) => ({ key: i.key, value: i.value }));
      const newItems = lines.length ? [...others, { key: SSH_KEYS_ITEM, value: formatSshKeys(lines) }] : others;
      // safe: the requestId makes a repeated write of this round a no-op.
      const [started] = await gceCall(ctx, "projects.setCommonInstanceMetadata", { safe: true, blame: "caller" }, (o) =>
        this.clients.projects.setCommonInstanceMetadata(
          { project: this.project, requestId: randomUUID(), metadataResource: { fingerprint: metadata.fingerprint, items: newItems } },
          o,
        ),
      );
      await waitForOperation(ctx, this.clients, { project: this.project }, unwrapOperation(started));
      return result;
    };
    const cas = {
      signal: ctx.signal,
      deadline: ctx.deadline,
      idempotent: true,
      classify: (err: unknown) => (isMetadataConflict(err) ? { reason: "conflict" as const } : undefined),
      onRetry: (r: { attempt: number }) => ctx.log.info("project metadata changed concurrently; re-reading", { attempt: r.attempt }),
    };
    try {
      return await METADATA_CAS.run(cas, round);
    } catch (err) {
      if (isMetadataConflict(err)) throw unavailable(`project metadata kept changing under ${METADATA_CAS.opts.maxAttempts} attempts to update ssh-keys; try again`);
      throw err;
    }
  }

  private async addKey(ctx: CallContext, name: string, publicKey: string, field: string): Promise<KeyPair> {
    checkSshUser(name);
    const key = parsePublicKey(publicKey, field);
    return this.updateSshKeys(ctx, (lines) => {
      if (managedLines(lines).some((l) => l.user === name)) throw alreadyExists(`key pair ${name} already exists in project ${this.project}`);
      const line = sshKeyLine(name, key);
      return { lines: [...lines, line], result: toKeyPair(line) };
    });
  }

  async createKeyPair(ctx: CallContext, req: { name: string; region: string; tags: Record<string, string>; keyType: "ed25519" | "rsa" }): Promise<CreatedKeyPair> {
    this.refuseTags(req.tags);
    checkSshUser(req.name);
    const generated = generateKeyPair(req.keyType, req.name);
    const keyPair = await this.addKey(ctx, req.name, generated.publicKey, "key_pair_name");
    return { keyPair, privateKey: generated.privateKey };
  }

  async importKeyPair(ctx: CallContext, req: { name: string; region: string; publicKey: string; tags: Record<string, string> }): Promise<KeyPair> {
    this.refuseTags(req.tags);
    return this.addKey(ctx, req.name, req.publicKey, "public_key");
  }

  async listKeyPairs(ctx: CallContext, req: { region: string; filters: Record<string, string> }): Promise<KeyPair[]> {
    for (const key of Object.keys(req.filters)) {
      if (key !== "name" && key !== "fingerprint") throw invalidArgument(`filters[${key}]`, "GCE key pairs can be filtered by name or fingerprint only");
    }
    return managedLines(await this.projectKeys(ctx))
      .map(toKeyPair)
      .filter((k) => (req.filters.name === undefined || k.name === req.filters.name) && (req.filters.fingerprint === undefined || k.fingerprint === req.filters.fingerprint));
  }

  async deleteKeyPair(ctx: CallContext, req: { name: string; region: string }): Promise<ActionResult> {
    await this.updateSshKeys(ctx, (lines) => {
      const keep = lines.filter((l) => !(l.user === req.name && l.key));
      if (keep.length === lines.length) throw notFound(`key pair ${req.name} not found in project ${this.project}`);
      return { lines: keep, result: undefined };
    });
    return { message: `key pair ${req.name} removed from project metadata ssh-keys` };
  }

  private refuseTags(tags: Record<string, string>): void {
    // Project ssh-keys lines have nowhere to keep tags; dropping them silently would lie.
    if (Object.keys(tags).length > 0) throw unimplemented("GCE key pairs (project metadata ssh-keys) cannot carry tags (capability key_pair_tags is false)");
  }

  private async findKeyForInstance(ctx: CallContext, spec: CreateInstanceSpec): Promise<SshKeyLine> {
    const lines = managedLines(await this.projectKeys(ctx));
    const line = spec.keyPairId ? lines.find((l) => l.key!.sha256Fingerprint === spec.keyPairId) : lines.find((l) => l.user === spec.keyPairName);
    if (!line) {
      const field = spec.keyPairId ? "key_pair_id" : "key_pair_name";
      throw notFound(`${field}: no key pair ${spec.keyPairId ?? spec.keyPairName} in project ${this.project} metadata ssh-keys`);
    }
    return line;
  }

  /** On GCE the key pair name is the Linux user the guest agent created for the key. */
  sshUserHint(instance: Instance): string | undefined {
    return instance.keyPairName;
  }

  async close(): Promise<void> {
    await Promise.allSettled(Object.values(this.clients).map((c) => c.close()));
  }
}
