// The one interface between the shared gRPC server and a cloud. A backend
// translates between these types and its cloud's API and does nothing else:
// validation of the common request shape, defaults (region, page size),
// page-token encoding, multi-region fan-out, error-to-status mapping,
// logging and SSH all live in shared/.
//
// Rules every backend follows (the service layer relies on them):
// - Every method gets a CallContext first; pass ctx.signal to every cloud
//   call so the caller's deadline and cancellation reach the cloud.
// - Throw ProviderError (shared/errors.ts) for anything a caller should see:
//   notFound for unknown ids (never for an instance that exists but is
//   stopped), failedPrecondition for a wrong state, invalidArgument naming
//   the request field, unavailable/resourceExhausted for outages/throttling.
//   Any other thrown value becomes INTERNAL with a generic message.
// - Never put secrets into errors, Instance.extra or capabilities.
import type { Capabilities } from "./capabilities";
import type { Logger } from "./log";
import type { LoginUsers } from "./ssh/users";
import type { RpcTelemetry } from "./telemetry/context";
import type { InstanceStatus } from "./status";

export interface CallContext {
  /** Fires at the caller's deadline, on cancellation, and at forced shutdown. */
  signal: AbortSignal;
  /** The caller's deadline, if it set one. */
  deadline?: Date;
  /** Correlates log lines; from request metadata "x-request-id" or generated. */
  requestId: string;
  log: Logger;
  /** Metrics and tracing for cloud calls (shared/telemetry/cloud.ts); absent = off. */
  telemetry?: RpcTelemetry;
  /**
   * Which tenant's credentials this call runs with: an opaque keyed
   * fingerprint (never a secret), absent for the process's own credentials.
   * Everything stateful (idempotency single-flight, tunnels, key stores)
   * is scoped by it.
   */
  tenant?: string;
}

export interface Instance {
  id: string;
  name: string;
  status: InstanceStatus;
  /** The cloud's own state word (EC2 "shutting-down", GCE "STAGING", ...). */
  rawStatus: string;
  type: string;
  region: string;
  zone?: string;
  imageId?: string;
  createdAt?: Date;
  tags: Record<string, string>;
  publicIp?: string;
  privateIp?: string;
  keyPairName?: string;
  /** Cloud-specific facts (vmid, flavor id, vcpus, ...). No secrets. */
  extra?: Record<string, string>;
}

export interface Region {
  id: string;
  name: string;
  displayName: string;
  /** "available", "unavailable", "not-opted-in" or the cloud's word. */
  status: string;
  /** Zones usable now (available, and opted in where needed). */
  zones?: string[];
  /** Every zone the cloud reports, usable or not. */
  zoneDetails?: Zone[];
}

export interface Zone {
  name: string;
  id?: string;
  /** "available" or the cloud's word. */
  status: string;
  zoneType?: string;
  optInRequired?: boolean;
  optInStatus?: string;
  parentZone?: string;
  groupName?: string;
}

export interface ListRegionsOptions {
  /**
   * Whether the caller wants each region's zones. Only the ListRegions RPC
   * asks: GetProviderInfo and "*" fan-outs need region names alone, and on
   * clouds where zones cost one call per region they must not pay for them.
   */
  zones?: boolean;
}

export interface ListInstancesQuery {
  /** A concrete region: the service layer resolves "" and fans out "*". */
  region: string;
  /** Portable keys: status, name, type, tag:KEY; others are cloud filters. */
  filters: Record<string, string>;
  /** 1..500. A returned page MUST NOT hold more instances than this. */
  pageSize: number;
  /** The backend's own cursor from a previous page, unchanged. */
  cursor?: string;
}

/**
 * A listing of every region at once (region "*"), for clouds that answer it
 * in one call (see CloudBackend.listAllRegions).
 */
export type AllRegionsQuery = Omit<ListInstancesQuery, "region">;

export interface InstancePage {
  instances: Instance[];
  /** Absent on the last page. Any string the backend can resume from. */
  nextCursor?: string;
  /** Exact total across all pages, when the cloud tells it. */
  totalCount?: number;
  /** Zones/sub-regions that failed inside this region, "ZONE: reason". */
  unreachable?: string[];
}

export interface CreateInstanceSpec {
  name: string;
  type: string;
  region: string;
  zone?: string;
  imageId?: string;
  tags: Record<string, string>;
  userData?: string;
  vpcId?: string;
  subnetId?: string;
  securityGroups: string[];
  publicIp: boolean;
  keyPairId?: string;
  keyPairName?: string;
  rootVolumeSizeGb?: number;
  rootVolumeType?: string;
  /**
   * Retrying with the same key must return the first call's instance: the
   * backend de-duplicates on the cloud's side (a client token, request id or
   * a marker it can look up). Concurrent calls in one process never reach
   * the backend twice for one key: the service layer shares one create
   * between them (shared/server/create-instance.ts).
   */
  idempotencyKey?: string;
}

export interface InstanceRef {
  instanceId: string;
  /** A concrete region (the default when the caller left it empty). */
  region: string;
}

export interface StopRequest extends InstanceRef {
  force: boolean;
}

export interface RestartRequest extends InstanceRef {
  /** Hard reset instead of a guest reboot, where the cloud tells them apart. */
  force?: boolean;
}

export interface KeyPair {
  id: string;
  name: string;
  fingerprint: string;
  region: string;
  tags: Record<string, string>;
  createdAt?: Date;
  keyType?: string;
  publicKey?: string;
}

export interface CreatedKeyPair {
  keyPair: KeyPair;
  /** OpenSSH/PEM private key, returned to the caller once. */
  privateKey: string;
}

export interface CostComponent {
  name: string;
  hourlyRate: number;
  detail?: string;
}

export interface PriceQuote {
  /** Price per hour of the whole instance, unrounded. */
  hourlyRate: number;
  currency: string;
  /** Where the number came from, e.g. "aws-ec2-price-snapshot". */
  source: string;
  /** Date of the price data, YYYY-MM-DD. */
  date: string;
  breakdown: CostComponent[];
}

export interface HealthReport {
  healthy: boolean;
  message: string;
  checks: Record<string, string>;
}

/** What an action RPC reports back as `message` on success. */
export interface ActionResult {
  message: string;
}

/**
 * How many tags (labels, metadata items) one resource may carry and how
 * long their keys and values may be: the cloud's own limits, declared by
 * each provider (providers/<cloud>/tag-limits.ts) and enforced by the
 * shared validation layer before any cloud call.
 */
export interface TagLimits {
  maxTags: number;
  maxKeyLength: number;
  maxValueLength: number;
}

export interface CloudBackend {
  /** "aws", "gcp", "openstack", "proxmox". */
  readonly provider: string;
  /** The cloud's limits on tags; checked for every create. */
  readonly tagLimits: TagLimits;
  /** "sandbox" or "cloud". */
  readonly mode: "sandbox" | "cloud";
  /**
   * The region used when a request leaves `region` empty. With
   * resolveDefaultRegion, the best answer known so far (the configured
   * fallback until the cloud has told).
   */
  readonly defaultRegion: string;
  /**
   * The default region when the backend learns it from its cloud
   * (OpenStack without a configured region: its first token's catalog), so
   * the provider can serve before that first cloud call. The shared layer
   * awaits it wherever a request leaves `region` empty, after validating the
   * request; it rejects with the call's error when the cloud cannot be
   * asked (e.g. UNAUTHENTICATED). Absent: `defaultRegion` is final from the
   * start.
   */
  resolveDefaultRegion?(signal: AbortSignal): Promise<string>;

  /** Truthful capabilities for GetProviderInfo, in the fixed vocabulary (shared/capabilities.ts). No secrets. */
  capabilities(): Capabilities;

  listRegions(ctx: CallContext, opts?: ListRegionsOptions): Promise<Region[]>;
  listInstances(ctx: CallContext, query: ListInstancesQuery): Promise<InstancePage>;
  /**
   * Region "*" in as few cloud calls as the cloud allows (GCE's unfiltered
   * aggregated list, Proxmox's /cluster/resources), instead of the shared
   * layer's one listing per region. Optional: without it, "*" fans out over
   * listInstances. The cursor is the backend's own and arrives from a page
   * token anyone can forge, so the backend must refuse a malformed one with
   * invalidArgument("page_token", ...) before any cloud call, and a
   * well-formed one may cost no more cloud calls than a genuine one.
   * Sub-regions that failed go in `unreachable` ("ZONE: reason").
   */
  listAllRegions?(ctx: CallContext, query: AllRegionsQuery): Promise<InstancePage>;
  getInstance(ctx: CallContext, ref: InstanceRef): Promise<Instance>;
  /**
   * Creates and returns at once (pending is fine): waiting until the
   * instance runs is the service layer's (polling getInstance).
   */
  createInstance(ctx: CallContext, spec: CreateInstanceSpec): Promise<Instance>;
  deleteInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult>;
  startInstance(ctx: CallContext, ref: InstanceRef): Promise<ActionResult>;
  stopInstance(ctx: CallContext, req: StopRequest): Promise<ActionResult>;
  restartInstance(ctx: CallContext, req: RestartRequest): Promise<ActionResult>;

  /** Hourly price of one instance type in one region. */
  priceQuote(ctx: CallContext, req: { instanceType: string; region: string }): Promise<PriceQuote>;
  /** A cheap real call to the cloud with a short timeout. Never throws. */
  healthCheck(ctx: CallContext): Promise<HealthReport>;

  createKeyPair(
    ctx: CallContext,
    req: { name: string; region: string; tags: Record<string, string>; keyType: "ed25519" | "rsa" },
  ): Promise<CreatedKeyPair>;
  importKeyPair(
    ctx: CallContext,
    req: { name: string; region: string; publicKey: string; tags: Record<string, string> },
  ): Promise<KeyPair>;
  listKeyPairs(ctx: CallContext, req: { region: string; filters: Record<string, string> }): Promise<KeyPair[]>;
  deleteKeyPair(ctx: CallContext, req: { name: string; region: string }): Promise<ActionResult>;

  /** Default SSH login user for an instance (image family), if the cloud hints one. */
  sshUserHint?(instance: Instance): string | undefined;
  /** The cloud's login users by image family and its default user, used when sshUserHint has none. */
  readonly loginUsers: LoginUsers;

  /**
   * Change notices the cloud pushes (Nova's versioned notifications), for
   * WatchInstances: `onChange` is called when some instance may have
   * changed, and the watch looks again at once instead of at its next
   * poll. Returns the unsubscribe. Optional: without it, watches poll.
   */
  instanceChanges?(onChange: () => void): () => void;

  /**
   * Started once the server is serving, never awaited: what the first call
   * would do anyway (OpenStack: its Keystone login), done early so wrong
   * credentials show in the log at start without delaying it. Must never
   * reject, and must not block the event loop (no SDK loading here).
   */
  warmUp?(): Promise<void>;

  /** Releases connections and timers at shutdown. */
  close?(): Promise<void>;
}
