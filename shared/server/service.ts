// CloudProviderService: validates each request, applies defaults, resolves
// the region, wraps cursors into page tokens and fans "*" out across
// regions (unless the backend lists every region at once), then calls the
// backend. It is the same for every cloud.
import type * as grpc from "@grpc/grpc-js";
import { ProviderError, invalidArgument } from "../errors";
import { parseDuration } from "../pricing/duration";
import { roundToDecimals } from "../pricing/rounding";
import type { CallContext, CloudBackend, InstancePage, ListInstancesQuery } from "../provider";
import type { SshService } from "../ssh/types";
import { defaultLoginUser } from "../ssh/users";
import { unary, type CallDeps } from "./calls";
import { instanceToWire, keyPairToWire, regionToWire, toTimestamp } from "./convert";
import { InstanceCreator } from "./create-instance";
import { checkFanoutRegions, initialFanoutCursor, listAcrossRegions, parseFanoutCursor } from "./fanout";
import { decodePageToken, encodePageToken, queryFingerprint } from "./page-token";
import {
  checkIdempotencyKey,
  checkKeyPairName,
  checkPageSize,
  checkRegion,
  checkStringMap,
  checkTags,
  checkUserData,
  checkVolumeSize,
  optionalText,
  requireText,
} from "./validation";

export interface ServiceOptions {
  backend: CloudBackend;
  ssh: SshService;
  version: string;
  /** Regions listed at once by a "*" listing. */
  fanoutConcurrency: number;
  /** Extra capability flags from the shared layer (reflection, tls, ...). */
  serverCapabilities: Record<string, string>;
  /** Longest wait_until_running, deadline or not (default 10 min). */
  waitUntilRunningMaxMs?: number;
  /** Per-region budget of a "*" fan-out when the caller set no deadline (default 10 s). */
  fanoutRegionTimeoutMs?: number;
}

// Request shapes as proto-loader decodes them (keepCase, defaults on).
type Req = Record<string, any>;

const MAX_TIMEOUT_SECONDS = 3600;
const FANOUT_REGIONS_TTL_MS = 15_000;
/** Tenants whose region lists are reused at once (oldest first out). */
const MAX_REGION_CACHES = 1024;

export function buildProviderService(deps: CallDeps, opts: ServiceOptions): grpc.UntypedServiceImplementation {
  const { backend, ssh } = opts;
  const region = (value: string) => (value === "" ? backend.defaultRegion : value);
  const instanceRef = (req: Req) => ({
    instanceId: requireText("instance_id", req.instance_id),
    region: region(checkRegion("region", req.region, false)),
  });
  const creator = new InstanceCreator(backend, { metrics: deps.metrics, wait: opts.waitUntilRunningMaxMs ? { maxWaitMs: opts.waitUntilRunningMaxMs } : undefined });
  const rpc = (name: string, handler: (req: Req, ctx: CallContext, call: grpc.ServerUnaryCall<Req, unknown>) => Promise<unknown>) =>
    unary<Req, unknown>(name, deps, handler);

  // The available regions (GetProviderInfo, and every page of a "*"
  // listing, which checks its token against them), reused for a few
  // seconds: a cloud call per page only for that doubled a walk's round trips.
  // Only answers are reused, never a call in flight: one caller's
  // cancellation must not fail the others.
  // Per tenant (per-call credentials): accounts differ in their opted-in regions, clouds in their regions.
  const regionsCache = new Map<string, { until: number; regions: string[] }>();
  async function availableRegions(ctx: CallContext): Promise<string[]> {
    const key = ctx.tenant ?? "";
    const hit = regionsCache.get(key);
    if (hit && hit.until > Date.now()) return hit.regions;
    const regions = (await backend.listRegions(ctx)).filter((r) => r.status === "available").map((r) => r.id);
    regionsCache.delete(key);
    regionsCache.set(key, { until: Date.now() + FANOUT_REGIONS_TTL_MS, regions });
    if (regionsCache.size > MAX_REGION_CACHES) regionsCache.delete(regionsCache.keys().next().value!);
    return regions;
  }

  /** Runs a page-token check, counting refusals (forged or stale tokens show up on a dashboard). */
  function tokenChecked<T>(check: () => T): T {
    try {
      return check();
    } catch (err) {
      deps.metrics?.pageTokenRejected("ListInstances");
      throw err;
    }
  }

  /** tokenChecked for a backend's own cursor check, which runs inside its listing. */
  async function backendTokenChecked<T>(list: () => Promise<T>): Promise<T> {
    try {
      return await list();
    } catch (err) {
      if (err instanceof ProviderError && err.code === "INVALID_ARGUMENT" && err.details.field === "page_token") deps.metrics?.pageTokenRejected("ListInstances");
      throw err;
    }
  }

  async function listPage(ctx: CallContext, req: Req) {
    const regionValue = checkRegion("region", req.region, true);
    const filters = checkStringMap("filters", req.filters);
    const pageSize = checkPageSize(req.page_size);
    const resolved = region(regionValue);
    const fingerprint = queryFingerprint(resolved, filters);
    const token = (req.page_token ?? "").trim();
    const state = token ? tokenChecked(() => decodePageToken(token, fingerprint)) : undefined;

    let page: InstancePage & { unreachable?: string[] };
    if (resolved === "*" && backend.listAllRegions) {
      // The cloud answers every region at once: its own cursor is the token's
      // (the backend refuses a forged one before any cloud call).
      const listAll = backend.listAllRegions.bind(backend);
      page = await backendTokenChecked(() => listAll(ctx, { filters, pageSize, cursor: state?.cursor }));
    } else if (resolved === "*") {
      // A token's region list is checked shape-first (no cloud call), then
      // against the real regions, before any instance listing.
      const pending = state ? tokenChecked(() => parseFanoutCursor(state.cursor)) : undefined;
      const available = await availableRegions(ctx);
      if (pending) tokenChecked(() => checkFanoutRegions(pending, available));
      const cursor = state?.cursor ?? initialFanoutCursor(available);
      page = await listAcrossRegions(ctx, (c, q) => backend.listInstances(c, q), cursor, filters, pageSize, opts.fanoutConcurrency, (r, ok) =>
        deps.metrics?.fanoutRegion(r, ok), opts.fanoutRegionTimeoutMs,
      );
    } else {
      const query: ListInstancesQuery = { region: resolved, filters, pageSize, cursor: state?.cursor };
      page = await backend.listInstances(ctx, query);
    }
    if (page.instances.length > pageSize) {
      // A backend bug, caught here rather than breaking the contract.
      throw new Error(`backend returned ${page.instances.length} instances for page_size ${pageSize}`);
    }
    const seen = (state?.seen ?? 0) + page.instances.length;
    const last = !page.nextCursor;
    return {
      instances: page.instances.map((i) => instanceToWire(i, backend.provider)),
      next_page_token: last ? "" : encodePageToken({ cursor: page.nextCursor!, seen }, fingerprint),
      total_count: last ? seen : (page.totalCount ?? -1),
      unreachable: page.unreachable ?? [],
    };
  }

  const action = (verb: "deleteInstance" | "startInstance") => async (req: Req, ctx: CallContext) => {
    const result = await backend[verb](ctx, instanceRef(req));
    return { success: true, message: result.message };
  };

  const sshTarget = async (ctx: CallContext, req: Req) => {
    const instance = await backend.getInstance(ctx, instanceRef(req));
    const keyPairName = req.key_pair_name ? checkKeyPairName("key_pair_name", req.key_pair_name) : undefined;
    // Without a backend hint: the image family or the cloud's usual user.
    return { instance, keyPairName, userHint: backend.sshUserHint?.(instance) ?? defaultLoginUser(backend.provider, instance) };
  };

  return {
    GetProviderInfo: rpc("GetProviderInfo", async (_req, ctx) => {
      return {
        name: backend.provider,
        version: opts.version,
        supported_regions: await availableRegions(ctx),
        capabilities: { ...backend.capabilities(), ...opts.serverCapabilities, mode: backend.mode, default_region: backend.defaultRegion },
      };
    }),

    ListInstances: rpc("ListInstances", (req, ctx) => listPage(ctx, req)),

    CreateInstance: rpc("CreateInstance", async (req, ctx, call) => {
      const fromMetadata = call.metadata.get("idempotency-key")[0];
      const regionValue = checkRegion("region", req.region, false);
      const instance = await creator.create(ctx, {
        name: requireText("name", req.name, 255),
        type: requireText("type", req.type, 128),
        region: region(regionValue),
        zone: optionalText("zone", req.zone, 64),
        imageId: optionalText("image_id", req.image_id),
        tags: checkTags("tags", req.tags, backend.tagLimits, backend.provider),
        userData: checkUserData(req.user_data),
        vpcId: optionalText("vpc_id", req.vpc_id),
        subnetId: optionalText("subnet_id", req.subnet_id),
        securityGroups: (req.security_groups ?? []).map((g: string, i: number) => requireText(`security_groups[${i}]`, g)),
        publicIp: Boolean(req.public_ip),
        keyPairId: optionalText("key_pair_id", req.key_pair_id),
        keyPairName: req.key_pair_name ? checkKeyPairName("key_pair_name", req.key_pair_name) : undefined,
        rootVolumeSizeGb: checkVolumeSize(req.root_volume_size),
        rootVolumeType: optionalText("root_volume_type", req.root_volume_type, 64),
        idempotencyKey: checkIdempotencyKey(req.idempotency_key || (typeof fromMetadata === "string" ? fromMetadata : "")),
      }, Boolean(req.wait_until_running));
      return { instance: instanceToWire(instance, backend.provider) };
    }),

    DeleteInstance: rpc("DeleteInstance", action("deleteInstance")),
    StartInstance: rpc("StartInstance", action("startInstance")),
    RestartInstance: rpc("RestartInstance", async (req, ctx) => {
      const result = await backend.restartInstance(ctx, { ...instanceRef(req), force: Boolean(req.force) });
      return { success: true, message: result.message };
    }),
    StopInstance: rpc("StopInstance", async (req, ctx) => {
      const result = await backend.stopInstance(ctx, { ...instanceRef(req), force: Boolean(req.force) });
      return { success: true, message: result.message };
    }),

    GetInstanceStatus: rpc("GetInstanceStatus", async (req, ctx) => {
      const instance = await backend.getInstance(ctx, instanceRef(req));
      return { instance_id: instance.id, status: instance.status, last_updated: toTimestamp(new Date()), raw_status: instance.rawStatus };
    }),

    ListRegions: rpc("ListRegions", async (_req, ctx) => ({ regions: (await backend.listRegions(ctx, { zones: true })).map(regionToWire) })),

    GetCostEstimate: rpc("GetCostEstimate", async (req, ctx) => {
      const instanceType = requireText("instance_type", req.instance_type, 128);
      const regionName = region(checkRegion("region", req.region, false));
      const duration = parseDuration(req.duration ?? "");
      const quote = await backend.priceQuote(ctx, { instanceType, region: regionName });
      const round = (n: number) => roundToDecimals(n, 6);
      return {
        instance_type: instanceType,
        region: regionName,
        duration: duration.text,
        cost: round(quote.hourlyRate * duration.hours),
        currency: quote.currency,
        hourly_rate: round(quote.hourlyRate),
        price_source: quote.source,
        price_date: quote.date,
        breakdown: quote.breakdown.map((c) => ({
          name: c.name,
          hourly_rate: round(c.hourlyRate),
          cost: round(c.hourlyRate * duration.hours),
          detail: c.detail ?? "",
        })),
        hours: duration.hours,
      };
    }),

    HealthCheck: rpc("HealthCheck", async (_req, ctx) => {
      const report = await backend.healthCheck(ctx).catch((err: unknown) => ({
        healthy: false,
        message: err instanceof Error ? err.message : "health check failed",
        checks: {},
      }));
      return { healthy: report.healthy, message: report.message, timestamp: toTimestamp(new Date()), checks: report.checks };
    }),

    GetInstanceSSHConfig: rpc("GetInstanceSSHConfig", async (req, ctx) => {
      const t = await sshTarget(ctx, req);
      const c = await ssh.getConfig(ctx, t.instance, { keyPairName: t.keyPairName, userHint: t.userHint });
      return {
        ssh_config: {
          host: c.host,
          port: c.port,
          username: c.username,
          private_key: c.privateKey ?? "",
          key_pair_name: c.keyPairName ?? "",
          bastion_host: c.bastionHost ?? "",
          bastion_port: c.bastionPort ?? 0,
          bastion_username: c.bastionUsername ?? "",
          bastion_private_key: c.bastionPrivateKey ?? "",
        },
      };
    }),

    ExecuteInstanceCommand: rpc("ExecuteInstanceCommand", async (req, ctx) => {
      const command = requireText("command", req.command, 64 * 1024);
      const timeout = req.timeout_seconds ?? 0;
      if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMEOUT_SECONDS) {
        throw invalidArgument("timeout_seconds", `must be between 0 (default) and ${MAX_TIMEOUT_SECONDS}`);
      }
      const t = await sshTarget(ctx, req);
      const r = await ssh.execute(ctx, t.instance, { command, timeoutSeconds: timeout, keyPairName: t.keyPairName, userHint: t.userHint });
      return {
        stdout: r.stdout,
        stderr: r.stderr,
        exit_code: r.exitCode,
        success: r.exitCode === 0 && !r.timedOut && !r.signal,
        stdout_truncated: r.stdoutTruncated,
        stderr_truncated: r.stderrTruncated,
        signal: r.signal ?? "",
        timed_out: r.timedOut,
      };
    }),

    CreateInstanceSSHTunnel: rpc("CreateInstanceSSHTunnel", async (req, ctx) => {
      const localPort = req.local_port ?? 0;
      const remotePort = req.remote_port ?? 0;
      if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535) throw invalidArgument("local_port", "must be 0 (pick a free port) to 65535");
      if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) throw invalidArgument("remote_port", "must be 1 to 65535");
      const t = await sshTarget(ctx, req);
      const tunnel = await ssh.openTunnel(ctx, t.instance, { localPort, remotePort, keyPairName: t.keyPairName, userHint: t.userHint });
      return { tunnel_id: tunnel.tunnelId, local_endpoint: tunnel.localEndpoint, success: true, message: `forwarding ${tunnel.localEndpoint} to ${t.instance.id}:${remotePort}` };
    }),

    CloseInstanceSSHTunnel: rpc("CloseInstanceSSHTunnel", async (req, ctx) => {
      const tunnelId = requireText("tunnel_id", req.tunnel_id);
      await ssh.closeTunnel(ctx, tunnelId);
      return { success: true, message: `tunnel ${tunnelId} closed` };
    }),

    CreateKeyPair: rpc("CreateKeyPair", async (req, ctx) => {
      const keyType = (req.key_type ?? "") === "" ? "ed25519" : req.key_type;
      if (keyType !== "ed25519" && keyType !== "rsa") throw invalidArgument("key_type", `must be "ed25519" or "rsa"`);
      const created = await backend.createKeyPair(ctx, {
        name: checkKeyPairName("key_pair_name", req.key_pair_name),
        region: region(checkRegion("region", req.region, false)),
        tags: checkTags("tags", req.tags, backend.tagLimits, backend.provider),
        keyType,
      });
      // Lets the operator keep the key for the SSH RPCs (--ssh-keep-created-keys).
      await ssh.keyPairCreated?.(ctx, { name: created.keyPair.name, region: created.keyPair.region, privateKey: created.privateKey });
      return { key_pair: keyPairToWire(created.keyPair), private_key: created.privateKey };
    }),

    ImportKeyPair: rpc("ImportKeyPair", async (req, ctx) => {
      const keyPair = await backend.importKeyPair(ctx, {
        name: checkKeyPairName("key_pair_name", req.key_pair_name),
        region: region(checkRegion("region", req.region, false)),
        publicKey: requireText("public_key", req.public_key, 16 * 1024),
        tags: checkTags("tags", req.tags, backend.tagLimits, backend.provider),
      });
      return { key_pair: keyPairToWire(keyPair) };
    }),

    ListKeyPairs: rpc("ListKeyPairs", async (req, ctx) => {
      const keyPairs = await backend.listKeyPairs(ctx, {
        region: region(checkRegion("region", req.region, false)),
        filters: checkStringMap("filters", req.filters),
      });
      return { key_pairs: keyPairs.map(keyPairToWire) };
    }),

    DeleteKeyPair: rpc("DeleteKeyPair", async (req, ctx) => {
      const result = await backend.deleteKeyPair(ctx, {
        name: checkKeyPairName("key_pair_name", req.key_pair_name),
        region: region(checkRegion("region", req.region, false)),
      });
      return { success: true, message: result.message };
    }),
  };
}

