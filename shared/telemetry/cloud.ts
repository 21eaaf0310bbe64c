// One request to the cloud API, observed: counted and timed by provider,
// operation, region and outcome (skyclust_cloud_requests_total and
// skyclust_cloud_request_seconds), retries and throttled answers counted
// (from shared/cloud/retry.ts's stats, or the SDK's attempts), and a child span of the RPC's span when tracing is on. Backends call
// observeCloudCall around each cloud request; with telemetry off it is a
// plain call.
import { ProviderError, type ErrorCode } from "../errors";
import type { CallContext } from "../provider";
import type { CloudOutcome } from "./metrics";
import type { RetryStats } from "../cloud/retry";

const OUTCOMES: Partial<Record<ErrorCode, CloudOutcome>> = {
  NOT_FOUND: "not_found",
  INVALID_ARGUMENT: "client_error",
  ALREADY_EXISTS: "client_error",
  FAILED_PRECONDITION: "client_error",
  PERMISSION_DENIED: "client_error",
  UNAUTHENTICATED: "client_error",
  RESOURCE_EXHAUSTED: "client_error",
  UNAVAILABLE: "unavailable",
  DEADLINE_EXCEEDED: "timeout",
  CANCELLED: "cancelled",
  INTERNAL: "server_error",
};

/** The clouds' own words for "slow down" (EC2, GCE, OpenStack/Proxmox over HTTP 429). */
const THROTTLED = /throttl|RequestLimitExceeded|TooManyRequests|rateLimitExceeded|RATE_LIMIT_EXCEEDED|^429$/i;

/** A bounded outcome for an error a backend threw (already mapped to a ProviderError, usually). */
export function cloudOutcome(err: unknown): CloudOutcome {
  if (!(err instanceof ProviderError)) return "error";
  if (err.details.throttled || (err.details.cloudCode && THROTTLED.test(err.details.cloudCode))) return "throttled";
  return OUTCOMES[err.code] ?? "error";
}

export interface CloudCallInfo {
  provider: string;
  operation: string;
  region: string;
}

/**
 * Runs `send` as one cloud request. `attempts` reads how many HTTP attempts
 * the SDK made (retries = attempts - 1) from the result or the error.
 * `send` should throw the mapped ProviderError: the outcome is read from it.
 */
export async function observeCloudCall<T>(
  ctx: Pick<CallContext, "telemetry">,
  info: CloudCallInfo,
  send: () => Promise<T>,
  opts: { attempts?: (resultOrError: unknown) => number | undefined; stats?: RetryStats } = {},
): Promise<T> {
  const telemetry = ctx.telemetry;
  const attemptsOf = (v: unknown) => opts.attempts?.(v) ?? opts.stats?.attempts;
  if (!telemetry?.metrics && !telemetry?.startCloudSpan) return send();
  const span = telemetry.startCloudSpan?.(`${info.provider}/${info.operation}`, { "cloud.provider": info.provider, "cloud.region": info.region, "rpc.method": info.operation });
  const started = performance.now();
  try {
    const result = await send();
    const attempts = attemptsOf(result);
    telemetry.metrics?.cloudRequest({ ...info, outcome: "ok" }, (performance.now() - started) / 1000, attempts, opts.stats?.throttled);
    span?.end({ ok: true, outcome: "ok", attempts });
    return result;
  } catch (err) {
    const attempts = attemptsOf(err);
    const outcome = cloudOutcome(err);
    telemetry.metrics?.cloudRequest({ ...info, outcome }, (performance.now() - started) / 1000, attempts, opts.stats?.throttled);
    span?.end({ ok: false, outcome, attempts, errorCode: err instanceof ProviderError ? err.code : undefined });
    throw err;
  }
}

/**
 * Attempts from AWS SDK v3's `$metadata.attempts` (on the output, on the
 * error, or on the error a ProviderError wraps as its cause).
 */
export function sdkMetadataAttempts(resultOrError: unknown): number | undefined {
  const read = (v: unknown) => (v as { $metadata?: { attempts?: unknown } } | null)?.$metadata?.attempts;
  const direct = read(resultOrError);
  const found = direct ?? (resultOrError instanceof Error ? read(resultOrError.cause) : undefined);
  return typeof found === "number" && Number.isInteger(found) && found > 0 ? found : undefined;
}
