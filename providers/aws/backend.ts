// The real EC2 backend: translates CloudBackend calls into EC2 API calls
// with @aws-sdk/client-ec2 and nothing else. Every command gets ctx.signal,
// so the caller's deadline and cancellation reach EC2.
import { probeHealth } from "../../shared/cloud/health-probe";
import { RetryPolicy } from "../../shared/cloud/retry";
import { SharedPolicyRetryStrategy } from "./retry-strategy";
import type { Capabilities } from "../../shared/capabilities";
import { awsCapabilities } from "./capabilities";
import {
  CreateKeyPairCommand,
  DeleteKeyPairCommand,
  DescribeAvailabilityZonesCommand,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeRegionsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  ImportKeyPairCommand,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type AvailabilityZone,
  type Filter,
  type Instance as Ec2Instance,
  type InstanceStateChange,
  type KeyPairInfo,
} from "@aws-sdk/client-ec2";
import { failedPrecondition, invalidArgument, notFound } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import { observeCloudCall, sdkMetadataAttempts } from "../../shared/telemetry/cloud";
import { awsPriceQuote } from "./pricing/quote";
import { parsePublicKey } from "../../shared/keys";
import { reveal, type SecretValue } from "../../shared/secrets";
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
  ListRegionsOptions,
  PriceQuote,
  Region,
  StopRequest,
  Zone,
} from "../../shared/provider";
import { mapAwsError, type FieldHints } from "./errors";
import { IDEMPOTENCY_TAG, recordToTags, tagsToRecord, toInstance, translateFilters } from "./instances";
import { readPage, type PagingLimits } from "../../shared/cloud/paging";
import { TtlCache, mapConcurrently, toRegion, toZone, withZones } from "./regions";
import { buildRunInstancesInput, type ResolvedPlacement } from "./run-instances";
import { quote } from "../../shared/quote";
import { awsLoginUsers } from "./login-users";
import { AWS_TAG_LIMITS } from "./tag-limits";
import { assumedRoleCredentials } from "./assume-role";


/**
 * EC2 accepts MaxResults 5..1000; a filtered query may answer empty pages
 * that still carry a NextToken, so one of our pages stops after 10 calls.
 * A reservation-grouped page can hold more instances than MaxResults.
 */
const EC2_PAGING: PagingLimits = { cloud: "EC2", minResults: 5, maxResults: 1000, maxCallsPerPage: 10, maxTokenLength: 8192, maxSkip: 100_000 };

export interface AwsBackendOptions {
  defaultRegion: string;
  /** Endpoint for every region (moto, LocalStack, a VPC endpoint). */
  endpoint?: string;
  /** Endpoint per region; beats `endpoint`. */
  regionEndpoints: Record<string, string>;
  /**
   * Keys given by the operator (read at every request, so a rotated
   * `_FILE` takes effect on the next call); absent means the SDK's default
   * credential chain.
   */
  credentials?: StaticKeys;
  /** With `credentials`: act as this role (AWS_ROLE_ARN), through sts:AssumeRole. */
  assumeRole?: { roleArn: string; stsEndpoint?: string };
  /** SDK attempts per call (1 = no retries); retries back off. */
  maxAttempts: number;
  regionsCacheMs: number;
  /** DescribeAvailabilityZones calls in flight at once when ListRegions fills zones. */
  zonesConcurrency: number;
  healthTimeoutMs: number;
  log: Logger;
}

export interface StaticKeys {
  accessKeyId: SecretValue;
  secretAccessKey: SecretValue;
  sessionToken?: SecretValue;
}

/**
 * The SDK memoizes a credential provider forever when the identity has no
 * expiration; one marked `memoized` is taken as is and asked at every
 * request (@aws-sdk/core normalizeCredentialProvider). Asking costs a stat()
 * per secret file; requests already signed keep the keys they were signed
 * with, so a rotation never disturbs a call in flight.
 */
export function liveCredentials(keys: StaticKeys) {
  const provider = async () => ({
    accessKeyId: reveal(keys.accessKeyId),
    secretAccessKey: reveal(keys.secretAccessKey),
    sessionToken: keys.sessionToken === undefined ? undefined : reveal(keys.sessionToken),
  });
  return Object.assign(provider, { memoized: true });
}

const INSTANCE_ID = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;
const REGION_NAME = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

// Which request field an EC2 error code (prefix) is about, per operation.
const CREATE_FIELDS: FieldHints = {
  InvalidAMIID: "image_id",
  InvalidSubnetID: "subnet_id",
  InvalidSubnet: "subnet_id",
  InvalidVpcID: "vpc_id",
  InvalidGroup: "security_groups",
  InvalidSecurityGroupID: "security_groups",
  InvalidKeyPair: "key_pair_name",
  InvalidInstanceType: "type",
  InvalidUserData: "user_data",
  InvalidBlockDeviceMapping: "root_volume_size",
  InvalidAvailabilityZone: "zone",
  InvalidIdempotencyKey: "idempotency_key",
};
const INSTANCE_FIELDS: FieldHints = { InvalidInstanceID: "instance_id" };
const KEY_FIELDS: FieldHints = { InvalidKeyPair: "key_pair_name", InvalidKey: "public_key", InvalidKeyPairName: "key_pair_name" };

export class AwsEc2Backend implements CloudBackend {
  readonly provider = "aws";
  readonly tagLimits = AWS_TAG_LIMITS;
  readonly loginUsers = awsLoginUsers;
  readonly mode = "cloud" as const;
  readonly defaultRegion: string;
  private readonly clients = new Map<string, EC2Client>();
  private readonly regions: TtlCache<Region[]>;
  /** Zones per region, kept as long as the region list. */
  private readonly zones = new Map<string, TtlCache<Zone[]>>();

  /** Keys for every EC2 client: the operator's or a tenant's, or an assumed role's; absent = the SDK chain. */
  private readonly credentialProvider?: (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>) & { memoized: boolean };

  constructor(private readonly opts: AwsBackendOptions) {
    this.defaultRegion = opts.defaultRegion;
    if (opts.credentials && opts.assumeRole) {
      const { roleArn, stsEndpoint } = opts.assumeRole;
      this.credentialProvider = assumedRoleCredentials(liveCredentials(opts.credentials), { roleArn, region: opts.defaultRegion, endpoint: stsEndpoint });
    } else if (opts.credentials) {
      this.credentialProvider = liveCredentials(opts.credentials);
    }
    this.regions = new TtlCache<Region[]>(opts.regionsCacheMs);
  }

  capabilities(): Capabilities {
    return awsCapabilities(this.opts);
  }

  // ---- plumbing -------------------------------------------------------

  private newClient(region: string, maxAttempts = this.opts.maxAttempts): EC2Client {
    return new EC2Client({
      region,
      endpoint: this.opts.regionEndpoints[region] ?? this.opts.endpoint,
      credentials: this.credentialProvider,
      maxAttempts,
      // The SDK's attempt loop, paced by the shared retry policy.
      retryStrategy: new SharedPolicyRetryStrategy(new RetryPolicy({ maxAttempts, baseDelayMs: 100, maxDelayMs: 20_000 })),
      // Connection problems must surface as UNAVAILABLE well before the
      // usual caller deadline; the per-call signal bounds the rest.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    });
  }

  /**
   * Clients per region. `retries: false` is for writes that carry no
   * idempotency token (CreateKeyPair, ImportKeyPair): a retry after a lost
   * answer would report a duplicate and lose the key the first call made.
   * RunInstances always carries a ClientToken and the instance actions are
   * idempotent, so they keep the SDK's retries.
   */
  private client(region: string, retries = true): EC2Client {
    const key = retries ? region : `${region} once`;
    let c = this.clients.get(key);
    if (!c) {
      c = this.newClient(region, retries ? this.opts.maxAttempts : 1);
      this.clients.set(key, c);
    }
    return c;
  }

  private checkRegion(region: string): string {
    if (!REGION_NAME.test(region)) throw invalidArgument("region", `${quote(region)} is not an AWS region name (for example us-east-1)`);
    return region;
  }

  /** Sends one EC2 command with the call's signal; errors come back mapped. */
  private async send<T>(
    ctx: CallContext,
    region: string,
    operation: string,
    command: { input: unknown },
    hints: { fields?: FieldHints; defaultField?: string } = {},
    client: EC2Client = this.client(region),
  ): Promise<T> {
    return observeCloudCall(
      ctx,
      { provider: "aws", operation, region },
      async () => {
        try {
          return (await client.send(command as never, { abortSignal: ctx.signal })) as T;
        } catch (err) {
          const mapped = mapAwsError(err, { operation: `${operation} in ${region}`, signal: ctx.signal, ...hints });
          ctx.log.debug("ec2 call failed", { operation, region, code: mapped.code, aws_code: mapped.details.cloudCode, aws_request_id: mapped.details.cloudRequestId });
          throw mapped;
        }
      },
      { attempts: sdkMetadataAttempts },
    );
  }

  private checkInstanceId(id: string): string {
    if (!INSTANCE_ID.test(id)) throw invalidArgument("instance_id", `${quote(id)} is not an EC2 instance id (i- and 8 or 17 hex digits)`);
    return id;
  }

  private async describeOne(ctx: CallContext, ref: InstanceRef): Promise<Ec2Instance> {
    const region = this.checkRegion(ref.region);
    const id = this.checkInstanceId(ref.instanceId);
    const out = await this.send<{ Reservations?: { Instances?: Ec2Instance[] }[] }>(
      ctx,
      region,
      "DescribeInstances",
      new DescribeInstancesCommand({ InstanceIds: [id] }),
      { fields: INSTANCE_FIELDS, defaultField: "instance_id" },
    );
    const found = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === id);
    if (!found) throw notFound(`instance ${id} not found in region ${region}`);
    return found;
  }

  // ---- regions --------------------------------------------------------

  async listRegions(ctx: CallContext, opts: ListRegionsOptions = {}): Promise<Region[]> {
    const regions = await this.regionList(ctx);
    if (!opts.zones) return regions;
    // One DescribeAvailabilityZones per usable region (EC2 answers a
    // not-opted-in region with OptInRequired), bounded and concurrent.
    return mapConcurrently(regions, this.opts.zonesConcurrency, async (region) =>
      region.status === "available" ? withZones(region, await this.zonesOf(ctx, region.id)) : region,
    );
  }

  /**
   * A region's zones from the cache or EC2. A region whose zones cannot be
   * read (and were never read) is listed without zones rather than failing
   * the whole ListRegions: the region list itself is still right.
   */
  private async zonesOf(ctx: CallContext, region: string): Promise<Zone[]> {
    let cache = this.zones.get(region);
    if (!cache) {
      cache = new TtlCache<Zone[]>(this.opts.regionsCacheMs);
      this.zones.set(region, cache);
    }
    try {
      return await cache.get(
        async () => {
          // AllAvailabilityZones: local and wavelength zones not opted into are
          // listed too, marked not-opted-in, so a user sees what can be enabled.
          const out = await this.send<{ AvailabilityZones?: AvailabilityZone[] }>(
            ctx,
            region,
            "DescribeAvailabilityZones",
            new DescribeAvailabilityZonesCommand({ AllAvailabilityZones: true }),
          );
          return (out.AvailabilityZones ?? []).map(toZone);
        },
        (err) => ctx.log.warn("DescribeAvailabilityZones failed; serving the cached zones", { region, error: (err as Error).message }),
      );
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      ctx.log.warn("DescribeAvailabilityZones failed; listing the region without zones", { region, error: (err as Error).message });
      return [];
    }
  }

  private async regionList(ctx: CallContext): Promise<Region[]> {
    return this.regions.get(
      async () => {
        const out = await this.send<{ Regions?: import("@aws-sdk/client-ec2").Region[] }>(
          ctx,
          this.defaultRegion,
          "DescribeRegions",
          new DescribeRegionsCommand({ AllRegions: true }),
        );
        return (out.Regions ?? []).map(toRegion).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      },
      (err) => ctx.log.warn("DescribeRegions failed; serving the cached region list", { error: (err as Error).message }),
    );
  }

  // ---- instances ------------------------------------------------------

  async listInstances(ctx: CallContext, query: ListInstancesQuery): Promise<InstancePage> {
    const region = this.checkRegion(query.region);
    const { filters, matchesNothing } = translateFilters(query.filters);
    if (matchesNothing) return { instances: [], totalCount: 0 };
    const page = await readPage<Ec2Instance>(async (nextToken, maxResults) => {
      const out = await this.send<{ Reservations?: { Instances?: Ec2Instance[] }[]; NextToken?: string }>(
        ctx,
        region,
        "DescribeInstances",
        new DescribeInstancesCommand({ Filters: filters.length > 0 ? filters : undefined, MaxResults: maxResults, NextToken: nextToken }),
        { defaultField: "filters", fields: { InvalidPaginationToken: "page_token", InvalidNextToken: "page_token" } },
      );
      return { items: (out.Reservations ?? []).flatMap((r) => r.Instances ?? []), nextToken: out.NextToken || undefined };
    }, query.pageSize, query.cursor, EC2_PAGING);
    return { instances: page.items.map((i) => toInstance(i, region)), nextCursor: page.nextCursor };
  }

  async getInstance(ctx: CallContext, ref: InstanceRef): Promise<Instance> {
    const raw = await this.describeOne(ctx, ref);
    const instance = toInstance(raw, ref.region);
    // Status checks (impaired hardware, unreachable guest) only come from
    // DescribeInstanceStatus; they are extra facts, so a failure here does
    // not fail the call.
    try {
      const out = await this.send<{ InstanceStatuses?: { InstanceStatus?: { Status?: string }; SystemStatus?: { Status?: string } }[] }>(
        ctx,
        ref.region,
        "DescribeInstanceStatus",
        new DescribeInstanceStatusCommand({ InstanceIds: [instance.id], IncludeAllInstances: true }),
      );
      const s = out.InstanceStatuses?.[0];
      if (s?.InstanceStatus?.Status) instance.extra!.instance_status_check = s.InstanceStatus.Status;
      if (s?.SystemStatus?.Status) instance.extra!.system_status_check = s.SystemStatus.Status;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
    }
    return instance;
  }

  async createInstance(ctx: CallContext, spec: CreateInstanceSpec): Promise<Instance> {
    this.checkRegion(spec.region);
    // Concurrent calls with one key reach this only once per replica (the
    // service layer shares one create between them), so the tag lookup
    // below does not race with itself here.
    return spec.idempotencyKey ? this.createIdempotently(ctx, spec) : this.launch(ctx, spec);
  }

  /**
   * EC2 deduplicates RunInstances by ClientToken, which buildRunInstancesInput
   * derives from the key. The key is also written to a tag and looked up
   * first: that makes the retry safe where ClientToken is not honoured
   * (moto ignores it; tokens also expire on EC2 after a while), and returns
   * the instance without a second launch request.
   */
  private async createIdempotently(ctx: CallContext, spec: CreateInstanceSpec): Promise<Instance> {
    const existing = await this.findByIdempotencyKey(ctx, spec.region, spec.idempotencyKey!);
    if (existing) {
      ctx.log.info("create retried with a known idempotency key: returning the first call's instance", { instance_id: existing.id, region: spec.region });
      return existing;
    }
    return this.launch(ctx, spec);
  }

  private async findByIdempotencyKey(ctx: CallContext, region: string, key: string): Promise<Instance | undefined> {
    const out = await this.send<{ Reservations?: { Instances?: Ec2Instance[] }[] }>(
      ctx,
      region,
      "DescribeInstances",
      new DescribeInstancesCommand({ Filters: [{ Name: `tag:${IDEMPOTENCY_TAG}`, Values: [key] }] }),
    );
    const found = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    // Oldest first: if an emulator let a duplicate through, every retry still
    // answers with the same instance.
    found.sort((a, b) => (a.LaunchTime?.getTime() ?? 0) - (b.LaunchTime?.getTime() ?? 0) || String(a.InstanceId).localeCompare(String(b.InstanceId)));
    return found[0] ? toInstance(found[0], region) : undefined;
  }

  private async resolvePlacement(ctx: CallContext, spec: CreateInstanceSpec): Promise<ResolvedPlacement> {
    const placement: ResolvedPlacement = { subnetId: spec.subnetId };
    const lookups: Promise<void>[] = [];
    if (!spec.subnetId && spec.vpcId) {
      // RunInstances has no VPC parameter: a VPC is chosen through one of its subnets.
      lookups.push(
        (async () => {
          const filters: Filter[] = [{ Name: "vpc-id", Values: [spec.vpcId!] }];
          if (spec.zone) filters.push({ Name: "availability-zone", Values: [spec.zone] });
          const out = await this.send<{ Subnets?: { SubnetId?: string; AvailableIpAddressCount?: number }[] }>(
            ctx,
            spec.region,
            "DescribeSubnets",
            new DescribeSubnetsCommand({ Filters: filters }),
            { fields: { InvalidVpcID: "vpc_id" }, defaultField: "vpc_id" },
          );
          const subnet = [...(out.Subnets ?? [])].sort((a, b) => (b.AvailableIpAddressCount ?? 0) - (a.AvailableIpAddressCount ?? 0))[0];
          if (!subnet?.SubnetId) throw invalidArgument("vpc_id", `VPC ${spec.vpcId} has no subnet${spec.zone ? ` in zone ${spec.zone}` : ""} in region ${spec.region}`);
          placement.subnetId = subnet.SubnetId;
        })(),
      );
    }
    if (spec.rootVolumeSizeGb !== undefined || spec.rootVolumeType !== undefined) {
      if (!spec.imageId) throw invalidArgument("image_id", "is required on EC2 (an AMI id such as ami-0abcdef1234567890)");
      lookups.push(
        (async () => {
          const out = await this.send<{ Images?: { RootDeviceName?: string }[] }>(
            ctx,
            spec.region,
            "DescribeImages",
            new DescribeImagesCommand({ ImageIds: [spec.imageId!] }),
            { fields: { InvalidAMIID: "image_id" }, defaultField: "image_id" },
          );
          const image = out.Images?.[0];
          if (!image) throw invalidArgument("image_id", `image ${spec.imageId} not found in region ${spec.region}`);
          placement.rootDeviceName = image.RootDeviceName;
        })(),
      );
    }
    if (!spec.keyPairName && spec.keyPairId) {
      lookups.push(
        (async () => {
          const out = await this.send<{ KeyPairs?: KeyPairInfo[] }>(
            ctx,
            spec.region,
            "DescribeKeyPairs",
            new DescribeKeyPairsCommand({ KeyPairIds: [spec.keyPairId!] }),
            { fields: { InvalidKeyPair: "key_pair_id" }, defaultField: "key_pair_id" },
          );
          placement.keyName = out.KeyPairs?.[0]?.KeyName;
          if (!placement.keyName) throw notFound(`key pair ${spec.keyPairId} not found in region ${spec.region}`);
        })(),
      );
    }
    await Promise.all(lookups);
    return placement;
  }

  private async launch(ctx: CallContext, spec: CreateInstanceSpec): Promise<Instance> {
    const input = buildRunInstancesInput(spec, await this.resolvePlacement(ctx, spec));
    const out = await this.send<{ Instances?: Ec2Instance[] }>(ctx, spec.region, "RunInstances", new RunInstancesCommand(input), {
      fields: CREATE_FIELDS,
      defaultField: "request",
    });
    const launched = out.Instances?.[0];
    if (!launched?.InstanceId) throw new Error("RunInstances answered without an instance");
    ctx.log.info("instance launched", { instance_id: launched.InstanceId, region: spec.region, type: spec.type });
    const instance = toInstance(launched, spec.region);
    // The Name tag was set by this launch even when the response leaves tags out.
    return instance.name === "" ? { ...instance, name: spec.name } : instance;
  }

  private stateMessage(id: string, change: InstanceStateChange | undefined, verb: string): ActionResult {
    if (!change) return { message: `${verb} ${id}` };
    return { message: `${id}: ${change.CurrentState?.Name ?? "?"} (was ${change.PreviousState?.Name ?? "?"})` };
  }

  // EC2 itself answers a wrong state with IncorrectInstanceState (mapped to
  // FAILED_PRECONDITION). The state is also checked first because emulators
  // such as moto accept these calls in any state (it "starts" a terminated
  // instance), and so the caller gets the state in the message.
  private async requireState(ctx: CallContext, ref: InstanceRef, action: string, allowed: (raw: string) => boolean): Promise<void> {
    const current = await this.describeOne(ctx, ref);
    const raw = current.State?.Name ?? "unknown";
    if (!allowed(raw)) throw failedPrecondition(`cannot ${action} instance ${ref.instanceId}: it is ${raw}`);
  }

  async deleteInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    const id = this.checkInstanceId(ref.instanceId);
    const out = await this.send<{ TerminatingInstances?: InstanceStateChange[] }>(
      ctx,
      this.checkRegion(ref.region),
      "TerminateInstances",
      new TerminateInstancesCommand({ InstanceIds: [id] }),
      { fields: INSTANCE_FIELDS, defaultField: "instance_id" },
    );
    return this.stateMessage(id, out.TerminatingInstances?.[0], "terminating");
  }

  async startInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    await this.requireState(ctx, ref, "start", (s) => s !== "terminated" && s !== "shutting-down");
    const out = await this.send<{ StartingInstances?: InstanceStateChange[] }>(
      ctx,
      ref.region,
      "StartInstances",
      new StartInstancesCommand({ InstanceIds: [ref.instanceId] }),
      { fields: INSTANCE_FIELDS, defaultField: "instance_id" },
    );
    return this.stateMessage(ref.instanceId, out.StartingInstances?.[0], "starting");
  }

  async stopInstance(ctx: CallContext, req: StopRequest): Promise<ActionResult> {
    await this.requireState(ctx, req, "stop", (s) => s !== "terminated" && s !== "shutting-down");
    const out = await this.send<{ StoppingInstances?: InstanceStateChange[] }>(
      ctx,
      req.region,
      "StopInstances",
      new StopInstancesCommand({ InstanceIds: [req.instanceId], Force: req.force }),
      { fields: INSTANCE_FIELDS, defaultField: "instance_id" },
    );
    return this.stateMessage(req.instanceId, out.StoppingInstances?.[0], "stopping");
  }

  async restartInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult> {
    await this.requireState(ctx, ref, "restart", (s) => s === "running");
    await this.send(ctx, ref.region, "RebootInstances", new RebootInstancesCommand({ InstanceIds: [ref.instanceId] }), {
      fields: INSTANCE_FIELDS,
      defaultField: "instance_id",
    });
    // RebootInstances answers nothing but success; EC2 has no "rebooting" state.
    return { message: `${ref.instanceId}: reboot requested` };
  }

  // ---- cost, health ---------------------------------------------------

  async priceQuote(_ctx: CallContext, req: { instanceType: string; region: string }): Promise<PriceQuote> {
    return awsPriceQuote(req.instanceType, req.region);
  }

  async healthCheck(ctx: CallContext): Promise<HealthReport> {
    const where = this.opts.regionEndpoints[this.defaultRegion] ?? this.opts.endpoint ?? `EC2 ${this.defaultRegion}`;
    const describeRegion = async (probe: CallContext) => {
      await this.send(
        probe,
        this.defaultRegion,
        "DescribeRegions",
        new DescribeRegionsCommand({ RegionNames: [this.defaultRegion] }),
        {},
        // No retries: a health probe reports the endpoint's state now, it does not wait out a backoff.
        this.client(this.defaultRegion, false),
      );
      return "";
    };
    return probeHealth(ctx, [{ name: "cloud_api", run: describeRegion }], {
      timeoutMs: this.opts.healthTimeoutMs,
      healthyMessage: `EC2 API reachable (${this.defaultRegion})`,
      unhealthyMessage: "EC2 API check failed",
      facts: { endpoint: where },
    });
  }

  // ---- key pairs ------------------------------------------------------

  private toKeyPair(k: KeyPairInfo, region: string): KeyPair {
    return {
      id: k.KeyPairId ?? "",
      name: k.KeyName ?? "",
      fingerprint: k.KeyFingerprint ?? "",
      region,
      tags: tagsToRecord(k.Tags),
      createdAt: k.CreateTime,
      keyType: k.KeyType,
      publicKey: k.PublicKey?.trim(),
    };
  }

  async createKeyPair(
    ctx: CallContext,
    req: { name: string; region: string; tags: Record<string, string>; keyType: "ed25519" | "rsa" },
  ): Promise<CreatedKeyPair> {
    const region = this.checkRegion(req.region);
    const out = await this.send<{ KeyPairId?: string; KeyName?: string; KeyFingerprint?: string; KeyMaterial?: string; Tags?: { Key?: string; Value?: string }[] }>(
      ctx,
      region,
      "CreateKeyPair",
      new CreateKeyPairCommand({
        KeyName: req.name,
        KeyType: req.keyType,
        KeyFormat: "pem",
        TagSpecifications: Object.keys(req.tags).length > 0 ? [{ ResourceType: "key-pair", Tags: recordToTags(req.tags) }] : undefined,
      }),
      { fields: KEY_FIELDS, defaultField: "key_pair_name" },
      this.client(region, false),
    );
    // The private key exists only in this answer: EC2 keeps no copy.
    return {
      keyPair: {
        id: out.KeyPairId ?? "",
        name: out.KeyName ?? req.name,
        fingerprint: out.KeyFingerprint ?? "",
        region,
        tags: out.Tags ? tagsToRecord(out.Tags) : req.tags,
        createdAt: new Date(),
        keyType: req.keyType,
      },
      privateKey: out.KeyMaterial ?? "",
    };
  }

  async importKeyPair(
    ctx: CallContext,
    req: { name: string; region: string; publicKey: string; tags: Record<string, string> },
  ): Promise<KeyPair> {
    const region = this.checkRegion(req.region);
    const parsed = parsePublicKey(req.publicKey, "public_key");
    if (parsed.keyType !== "rsa" && parsed.keyType !== "ed25519") {
      throw invalidArgument("public_key", `EC2 imports ssh-rsa and ssh-ed25519 keys, not ${parsed.algorithm}`);
    }
    const line = parsed.comment ? `${parsed.canonical} ${parsed.comment}` : parsed.canonical;
    const out = await this.send<{ KeyPairId?: string; KeyName?: string; KeyFingerprint?: string; Tags?: { Key?: string; Value?: string }[] }>(
      ctx,
      region,
      "ImportKeyPair",
      new ImportKeyPairCommand({
        KeyName: req.name,
        PublicKeyMaterial: new TextEncoder().encode(line),
        TagSpecifications: Object.keys(req.tags).length > 0 ? [{ ResourceType: "key-pair", Tags: recordToTags(req.tags) }] : undefined,
      }),
      { fields: KEY_FIELDS, defaultField: "public_key" },
      this.client(region, false),
    );
    return {
      id: out.KeyPairId ?? "",
      name: out.KeyName ?? req.name,
      fingerprint: out.KeyFingerprint ?? parsed.md5Fingerprint,
      region,
      tags: out.Tags ? tagsToRecord(out.Tags) : req.tags,
      createdAt: new Date(),
      keyType: parsed.keyType,
      publicKey: parsed.canonical,
    };
  }

  async listKeyPairs(ctx: CallContext, req: { region: string; filters: Record<string, string> }): Promise<KeyPair[]> {
    const region = this.checkRegion(req.region);
    const filters: Filter[] = Object.entries(req.filters).map(([key, value]) => {
      if (key === "name") return { Name: "key-name", Values: [value] };
      if (key === "fingerprint" || key.startsWith("tag:")) return { Name: key, Values: [value] };
      // key-pair-id, key-type, tag-key: EC2's own DescribeKeyPairs filters.
      if (!/^[A-Za-z0-9][A-Za-z0-9.:_-]*$/.test(key)) throw invalidArgument(`filters[${key}]`, "not a key pair filter");
      return { Name: key, Values: [value] };
    });
    const out = await this.send<{ KeyPairs?: KeyPairInfo[] }>(
      ctx,
      region,
      "DescribeKeyPairs",
      new DescribeKeyPairsCommand({ Filters: filters.length > 0 ? filters : undefined, IncludePublicKey: true }),
      { defaultField: "filters" },
    );
    return (out.KeyPairs ?? []).map((k) => this.toKeyPair(k, region));
  }

  async deleteKeyPair(ctx: CallContext, req: { name: string; region: string }): Promise<ActionResult> {
    const region = this.checkRegion(req.region);
    // DeleteKeyPair succeeds for names that do not exist; the contract wants
    // NOT_FOUND for unknown names, so look the key up first.
    await this.send(ctx, region, "DescribeKeyPairs", new DescribeKeyPairsCommand({ KeyNames: [req.name] }), {
      fields: KEY_FIELDS,
      defaultField: "key_pair_name",
    });
    await this.send(ctx, region, "DeleteKeyPair", new DeleteKeyPairCommand({ KeyName: req.name }), { fields: KEY_FIELDS, defaultField: "key_pair_name" });
    return { message: `key pair ${req.name} deleted from ${region}` };
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}

