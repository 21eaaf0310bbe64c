// The Compute Engine clients (REST transport) and the one way this backend
// calls them: with the caller's deadline as the gax timeout, cancelled when
// ctx.signal fires, errors mapped, and safe calls (reads, and writes that
// carry a requestId) repeated on outages and rate limiting by the shared
// retry policy.
// Each client from its own module, not the package index: the index also
// loads v1beta, v1small and build/protos/protos.js (21 MB of generated
// static code the REST clients never use), all of which the bundler would
// otherwise put into the binary (scripts/BENCHMARKS.md, "What each bundle
// holds").
import { DisksClient } from "@google-cloud/compute/build/src/v1/disks_client";
import { GlobalOperationsClient } from "@google-cloud/compute/build/src/v1/global_operations_client";
import { InstancesClient } from "@google-cloud/compute/build/src/v1/instances_client";
import { ProjectsClient } from "@google-cloud/compute/build/src/v1/projects_client";
import { RegionsClient } from "@google-cloud/compute/build/src/v1/regions_client";
import { ZoneOperationsClient } from "@google-cloud/compute/build/src/v1/zone_operations_client";
import type { GoogleAuth } from "google-auth-library";
import type { GceMethod, GceService } from "./gce-methods";
import { throwIfAborted } from "../../shared/errors";
import type { CallContext } from "../../shared/provider";
import type { Endpoint } from "./credentials";
import { gceRetryVerdict, mapGoogleError } from "./errors";
import type { Blame } from "../../shared/cloud/http-status";
import { retriedCloudCall } from "../../shared/cloud/call";
import { RetryPolicy } from "../../shared/cloud/retry";

/** Per-call ceiling when the caller set no deadline (an operation wait can take ~2 min server-side). */
const DEFAULT_TIMEOUT_MS = 60_000;
export const WAIT_TIMEOUT_MS = 150_000;

/**
 * A client narrowed to the methods the build keeps descriptors for
 * (gce-methods.ts). The aggregated lists have no typed method (only an
 * iterator, which the provider does not use): they are called through
 * innerApiCalls.
 */
type Used<Client, S extends GceService> = Pick<Client, Extract<GceMethod<S> | "initialize", keyof Client>>;

export interface GceClients {
  instances: Used<InstancesClient, "Instances">;
  disks: Used<DisksClient, "Disks">;
  zoneOperations: Used<ZoneOperationsClient, "ZoneOperations">;
  globalOperations: Used<GlobalOperationsClient, "GlobalOperations">;
  regions: Used<RegionsClient, "Regions">;
  projects: Used<ProjectsClient, "Projects">;
}

export function createClients(auth: GoogleAuth, endpoint?: Endpoint): GceClients {
  // `protocol` is read by gax's REST transport (http for a local endpoint);
  // the generated ClientOptions type does not list it.
  const opts = { auth, fallback: true } as ConstructorParameters<typeof InstancesClient>[0] & Record<string, unknown>;
  if (endpoint) Object.assign(opts, { apiEndpoint: endpoint.host, port: endpoint.port, protocol: endpoint.protocol });
  // Each client is built on its first use: building one hashes and parses
  // the package's protos.json (~3.6 MB; gax caches the parsed root by a hash
  // of its JSON text, so every client pays the stringify and the hash). Built
  // at start, the six made a real-mode start take seconds and ~150 MB more.
  const made: Partial<GceClients> = {};
  const lazy = <K extends keyof GceClients>(key: K, make: () => GceClients[K]) => ({
    get: () => (made[key] ??= make()),
    enumerable: true,
  });
  return Object.defineProperties({} as GceClients, {
    instances: lazy("instances", () => new InstancesClient({ ...opts })),
    disks: lazy("disks", () => new DisksClient({ ...opts })),
    zoneOperations: lazy("zoneOperations", () => new ZoneOperationsClient({ ...opts })),
    globalOperations: lazy("globalOperations", () => new GlobalOperationsClient({ ...opts })),
    regions: lazy("regions", () => new RegionsClient({ ...opts })),
    projects: lazy("projects", () => new ProjectsClient({ ...opts })),
  });
}

export interface GaxCallOptions {
  timeout: number;
  /** null: gax's own retries are off; gceCall decides what is safe to repeat. */
  retry: null;
  autoPaginate?: boolean;
}

type Cancellable<T> = Promise<T> & { cancel?: () => void };

export interface CallSpec {
  /** Safe to repeat: a read, or a write carrying a requestId. */
  safe: boolean;
  /** Request field a 400 is blamed on. */
  field?: string;
  /**
   * Whether the caller supplied the request's inputs ("caller": a 400 is
   * INVALID_ARGUMENT, a 404 NOT_FOUND) or the provider built it from its own
   * settings ("provider": FAILED_PRECONDITION); shared/cloud/http-status.ts.
   */
  blame: Blame;
  /** Per-attempt ceiling without a caller deadline. */
  timeoutMs?: number;
}

// The shared signal-aware sleep, re-exported for operations.ts and backend.ts.
import { abortableSleep } from "../../shared/abort";
export { abortableSleep };

function remainingMs(ctx: CallContext, ceiling: number): number {
  if (!ctx.deadline) return ceiling;
  return Math.max(1, Math.min(ceiling, ctx.deadline.getTime() - Date.now()));
}

async function attempt<T>(ctx: CallContext, spec: CallSpec, run: (o: GaxCallOptions) => Cancellable<T>): Promise<T> {
  throwIfAborted(ctx.signal);
  const promise = run({ timeout: remainingMs(ctx, spec.timeoutMs ?? DEFAULT_TIMEOUT_MS), retry: null });
  promise.catch(() => {}); // settled below or abandoned on abort; never unhandled
  let onAbort = () => {};
  // Race the abort: once ctx.signal fires nothing here keeps waiting, and the
  // HTTP request is cancelled.
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      promise.cancel?.();
      reject(ctx.signal.reason);
    };
    ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

/** GCE's budget under the shared policy: three attempts, 250 ms doubling, full jitter. */
export const GCE_RETRY = new RetryPolicy({ maxAttempts: 3, baseDelayMs: 250 });

/**
 * Calls the API once, or up to three times with backoff when `spec.safe`
 * (shared/cloud/retry.ts decides; gceRetryVerdict says which errors count);
 * observed as one cloud request (metrics, trace span) with its attempts.
 * The region label stays empty: this boundary does not see the location.
 */
export function gceCall<T>(ctx: CallContext, what: string, spec: CallSpec, run: (o: GaxCallOptions) => Cancellable<T>): Promise<T> {
  const retry = {
    signal: ctx.signal,
    deadline: ctx.deadline,
    idempotent: spec.safe,
    classify: gceRetryVerdict,
    onRetry: (r: { attempt: number; reason: string }) => ctx.log.debug("retrying Compute Engine call", { call: what, attempt: r.attempt, reason: r.reason }),
  };
  return retriedCloudCall(ctx, { provider: "gcp", operation: what, region: "" }, GCE_RETRY, retry, async () => {
    try {
      return await attempt(ctx, spec, run);
    } catch (err) {
      throw mapGoogleError(err, ctx.signal, spec.field, spec.blame, ctx.deadline);
    }
  });
}
