// The provider's Prometheus instruments, in one registry per server (so two
// providers in one test process never share counters). The gRPC names and
// labels are go-grpc-prometheus's, so dashboards built for gRPC servers work
// unchanged. Labels only ever hold values from small fixed sets (method
// names, status codes, region names the cloud itself lists, reasons chosen
// here): never instance ids, names, tokens or caller input.
import * as grpc from "@grpc/grpc-js";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { SshMetrics } from "./ssh-metrics";
import { WatchMetrics } from "./watch-metrics";
import type { CacheEvents } from "../tenancy/backend-cache";

export const GRPC_SERVICE = "skyclust.provider.v1.CloudProviderService";

// go-grpc-prometheus writes codes.Code.String(): "OK", "InvalidArgument", ...
const GO_CODE_NAMES: Record<number, string> = {
  [grpc.status.OK]: "OK",
  [grpc.status.CANCELLED]: "Canceled",
  [grpc.status.UNKNOWN]: "Unknown",
  [grpc.status.INVALID_ARGUMENT]: "InvalidArgument",
  [grpc.status.DEADLINE_EXCEEDED]: "DeadlineExceeded",
  [grpc.status.NOT_FOUND]: "NotFound",
  [grpc.status.ALREADY_EXISTS]: "AlreadyExists",
  [grpc.status.PERMISSION_DENIED]: "PermissionDenied",
  [grpc.status.RESOURCE_EXHAUSTED]: "ResourceExhausted",
  [grpc.status.FAILED_PRECONDITION]: "FailedPrecondition",
  [grpc.status.ABORTED]: "Aborted",
  [grpc.status.OUT_OF_RANGE]: "OutOfRange",
  [grpc.status.UNIMPLEMENTED]: "Unimplemented",
  [grpc.status.INTERNAL]: "Internal",
  [grpc.status.UNAVAILABLE]: "Unavailable",
  [grpc.status.DATA_LOSS]: "DataLoss",
  [grpc.status.UNAUTHENTICATED]: "Unauthenticated",
};

/** go-grpc-prometheus's grpc_type values. */
export type GrpcType = "unary" | "server_stream" | "bidi_stream";

export function goCodeName(code: number): string {
  return GO_CODE_NAMES[code] ?? "Unknown";
}

/** Cloud call outcomes: a fixed set, so the label stays bounded. */
export type CloudOutcome = "ok" | "not_found" | "throttled" | "client_error" | "server_error" | "unavailable" | "timeout" | "cancelled" | "error";

/** More than any cloud has regions (AWS ~36, GCE ~42), zones aside. */
export const MAX_REGION_LABELS = 128;

export interface BuildInfo {
  version: string;
  provider: string;
}

export class ProviderMetrics {
  readonly registry = new Registry();
  /** Sessions, commands and open tunnels (shared/ssh). */
  readonly ssh = new SshMetrics(this.registry);
  /** WatchInstances: polls, change notices, watches and watchers. */
  readonly watch: WatchMetrics;
  private readonly started: Counter<"grpc_service" | "grpc_method" | "grpc_type">;
  private readonly handled: Counter<"grpc_service" | "grpc_method" | "grpc_type" | "grpc_code">;
  private readonly handling: Histogram<"grpc_service" | "grpc_method" | "grpc_type">;
  private readonly fanoutRegions: Counter<"region" | "outcome">;
  private readonly pageTokensRejected: Counter<"grpc_method">;
  private readonly authFailures: Counter<"reason">;
  private readonly cloudRequests: Counter<"provider" | "operation" | "region" | "outcome">;
  private readonly cloudSeconds: Histogram<"provider" | "operation" | "region">;
  private readonly cloudRetries: Counter<"provider" | "operation" | "region">;
  private readonly waitUntilRunning: Histogram<"provider" | "outcome">;
  private readonly singleFlightHits: Counter<"provider">;
  private readonly cloudThrottles: Counter<"provider" | "operation" | "region">;
  private readonly regionLabels = new Set<string>();
  readonly provider: string;

  constructor(build: BuildInfo) {
    this.provider = build.provider;
    this.watch = new WatchMetrics(this.registry, build.provider);
    const registers = [this.registry];
    // Process CPU, memory, file descriptors and event-loop lag: the first things looked at after rates.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "skyclust_build_info",
      help: "Always 1; the labels say which build and provider this is.",
      labelNames: ["version", "bun_version", "provider"],
      registers,
    }).set({ version: build.version, bun_version: typeof Bun !== "undefined" ? Bun.version : "none", provider: build.provider }, 1);
    const grpcLabels = ["grpc_service", "grpc_method", "grpc_type"] as const;
    this.started = new Counter({ name: "grpc_server_started_total", help: "Total number of RPCs started on the server.", labelNames: grpcLabels, registers });
    this.handled = new Counter({
      name: "grpc_server_handled_total",
      help: "Total number of RPCs completed on the server, regardless of success or failure.",
      labelNames: [...grpcLabels, "grpc_code"],
      registers,
    });
    this.handling = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      labelNames: grpcLabels,
      // Cloud calls take seconds (CreateInstance waits for the cloud): the default buckets stop at 10 s.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.fanoutRegions = new Counter({
      name: "skyclust_fanout_regions_total",
      help: 'Regions read by region "*" listings, by outcome (ok or unreachable).',
      labelNames: ["region", "outcome"],
      registers,
    });
    this.pageTokensRejected = new Counter({
      name: "skyclust_page_tokens_rejected_total",
      help: "Page tokens refused as forged, stale, or for another query.",
      labelNames: ["grpc_method"],
      registers,
    });
    this.authFailures = new Counter({ name: "skyclust_auth_failures_total", help: "Calls refused by authentication or authorization, by reason.", labelNames: ["reason"], registers });
    this.cloudRequests = new Counter({
      name: "skyclust_cloud_requests_total",
      help: "Requests to the cloud API, by operation, region and outcome (throttled = the cloud asked us to slow down).",
      labelNames: ["provider", "operation", "region", "outcome"],
      registers,
    });
    this.cloudSeconds = new Histogram({
      name: "skyclust_cloud_request_seconds",
      help: "Latency of requests to the cloud API.",
      labelNames: ["provider", "operation", "region"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.cloudRetries = new Counter({
      name: "skyclust_cloud_retries_total",
      help: "Extra attempts made for cloud requests (a retried request counts attempts - 1).",
      labelNames: ["provider", "operation", "region"],
      registers,
    });
    this.cloudThrottles = new Counter({
      name: "skyclust_cloud_throttled_responses_total",
      help: "Cloud answers that asked us to slow down (429, rate-limit errors), retried or not.",
      labelNames: ["provider", "operation", "region"],
      registers,
    });
    this.waitUntilRunning = new Histogram({
      name: "skyclust_wait_until_running_seconds",
      help: "Time CreateInstance with wait_until_running spent polling after the create, by outcome (running, failed, deadline, max_wait, poll_error).",
      labelNames: ["provider", "outcome"],
      buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.singleFlightHits = new Counter({
      name: "skyclust_idempotency_single_flight_hits_total",
      help: "CreateInstance calls that joined a create already in flight for the same (tenant, region, idempotency key).",
      labelNames: ["provider"],
      registers,
    });
  }

  /** How long CreateInstance's wait_until_running waited, and how it ended (a fixed set: see WaitOutcome). */
  waitedUntilRunning(outcome: string, seconds: number): void {
    this.waitUntilRunning.observe({ provider: this.provider, outcome }, seconds);
  }

  /** A CreateInstance joined a create already running for its idempotency key instead of starting one. */
  singleFlightHit(): void {
    this.singleFlightHits.inc({ provider: this.provider });
  }

  rpcStarted(method: string, type: GrpcType = "unary"): void {
    this.started.inc({ grpc_service: GRPC_SERVICE, grpc_method: method, grpc_type: type });
  }

  rpcHandled(method: string, code: number, seconds: number, type: GrpcType = "unary"): void {
    const labels = { grpc_service: GRPC_SERVICE, grpc_method: method, grpc_type: type };
    this.handled.inc({ ...labels, grpc_code: goCodeName(code) });
    this.handling.observe(labels, seconds);
  }

  /**
   * Region labels are bounded: a caller can name any well-formed region, so
   * after MAX_REGION_LABELS distinct names the rest count as "other".
   */
  private regionLabel(region: string): string {
    if (this.regionLabels.has(region)) return region;
    if (this.regionLabels.size >= MAX_REGION_LABELS) return "other";
    this.regionLabels.add(region);
    return region;
  }

  fanoutRegion(region: string, reachable: boolean): void {
    this.fanoutRegions.inc({ region: this.regionLabel(region), outcome: reachable ? "ok" : "unreachable" });
  }

  pageTokenRejected(method: string): void {
    this.pageTokensRejected.inc({ grpc_method: method });
  }

  authFailure(reason: string): void {
    this.authFailures.inc({ reason });
  }

  cloudRequest(call: { provider: string; operation: string; region: string; outcome: CloudOutcome }, seconds: number, attempts?: number, throttled?: number): void {
    const labels = { provider: call.provider, operation: call.operation, region: this.regionLabel(call.region) };
    this.cloudRequests.inc({ ...labels, outcome: call.outcome });
    this.cloudSeconds.observe(labels, seconds);
    if (attempts !== undefined && attempts > 1) this.cloudRetries.inc(labels, attempts - 1);
    if (throttled !== undefined && throttled > 0) this.cloudThrottles.inc(labels, throttled);
  }

  /** Instruments of the per-call credentials' client cache (made on first use: only multi-tenant providers have one). */
  tenantCache(): CacheEvents {
    const registers = [this.registry];
    const hits = new Counter({ name: "skyclust_tenant_cache_hits_total", help: "Calls whose tenant's cloud clients were already cached.", registers });
    const misses = new Counter({ name: "skyclust_tenant_cache_misses_total", help: "Calls that built their tenant's cloud clients.", registers });
    const evictions = new Counter({ name: "skyclust_tenant_cache_evictions_total", help: "Tenants' cloud clients closed, by reason (size or idle).", labelNames: ["reason"], registers });
    const size = new Gauge({ name: "skyclust_tenant_cache_size", help: "Tenants whose cloud clients are cached now.", registers });
    return { hit: () => hits.inc(), miss: () => misses.inc(), evicted: (reason) => evictions.inc({ reason }), size: (n) => size.set(n) };
  }

  /** The Prometheus text exposition of every instrument. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}
