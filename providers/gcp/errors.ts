// Compute Engine failures -> the boundary's error vocabulary, through the
// shared HTTP status table (shared/cloud/http-status.ts) with GCE's reason
// words as hints. Two sources:
// HTTP errors of an API call (GoogleError from the REST transport, with the
// HTTP status and the legacy `errors[].reason`), and errors inside a DONE
// operation (`error.errors[].code`, e.g. ZONE_RESOURCE_POOL_EXHAUSTED).
// The cloud's reason travels on as cloudCode and in the message, both
// scrubbed: an upstream (a proxy, an emulator) may echo the request, and its
// Authorization header holds the OAuth token.
import { scrubUpstream } from "../../shared/cloud/scrub";
import { httpError, transportError, type Blame, type CloudHint } from "../../shared/cloud/http-status";
import type { RetryVerdict } from "../../shared/cloud/retry";
import { ProviderError, abortError, internal, resourceExhausted, type ErrorCode } from "../../shared/errors";

interface GoogleLikeError extends Error {
  code?: number | string;
  httpStatusCode?: number;
  reason?: string;
}

const RATE_LIMIT_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"]);
const QUOTA_REASONS = new Set(["quotaExceeded", "dailyLimitExceeded"]);

/** The legacy `error.errors[0].reason` (GCE still sends it) or the ErrorInfo reason. */
export function googleReason(err: unknown): string | undefined {
  const e = err as GoogleLikeError;
  // gax keeps the HTTP body on the error under this registered symbol.
  const raw = (e as unknown as Record<symbol, unknown>)?.[Symbol.for("google-gax.rawHttpResponsePayload")];
  let body: any = raw;
  if (typeof raw === "string") {
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
  }
  const legacy = body?.error?.errors?.[0]?.reason;
  if (typeof legacy === "string" && legacy) return scrubUpstream(legacy, { maxBytes: 80 });
  return typeof e?.reason === "string" && e.reason ? scrubUpstream(e.reason, { maxBytes: 80 }) : undefined;
}

export function httpStatusOf(err: unknown): number | undefined {
  const s = (err as GoogleLikeError)?.httpStatusCode;
  return typeof s === "number" ? s : undefined;
}

// Which request field a 400 about `resource.<x>` is about, so INVALID_ARGUMENT
// names a field the caller sent.
const FIELD_HINTS: [RegExp, string][] = [
  [/resource\.machineType|machineTypes\//, "type"],
  [/resource\.disks|sourceImage|images\//, "image_id"],
  [/diskType|diskTypes\//, "root_volume_type"],
  [/diskSizeGb/, "root_volume_size"],
  [/resource\.labels/, "tags"],
  [/subnetwork/, "subnet_id"],
  [/network/, "vpc_id"],
  [/resource\.tags/, "security_groups"],
  [/resource\.name/, "name"],
  [/filter/, "filters"],
];

function fieldFor(message: string, fallback: string): string {
  for (const [re, field] of FIELD_HINTS) if (re.test(message)) return field;
  return fallback;
}

/** What GCE's reason word says that its HTTP status does not. */
function hintFor(status: number, reason: string | undefined): CloudHint | undefined {
  if (reason && RATE_LIMIT_REASONS.has(reason)) return "throttled";
  if (reason && QUOTA_REASONS.has(reason)) return "quota";
  if (status === 400 && reason === "resourceNotReady") return "wrong_state";
  if (status === 409) return reason === "alreadyExists" || !reason ? "already_exists" : "wrong_state";
  return undefined;
}

function byHttpStatus(status: number, reason: string | undefined, message: string, field: string, blame: Blame, cause?: unknown): ProviderError {
  return httpError({ status, service: "Compute Engine", message, reason, blame, field: fieldFor(message, field), hint: hintFor(status, reason), cause });
}

/**
 * Maps anything a client call threw. `signal` tells a caller's deadline or
 * cancellation apart from the cloud being slow; `field` is the request field
 * a 400 is blamed on when the message names none, and `blame` says whether
 * the caller supplied the request's inputs at all (shared/cloud/http-status.ts).
 */
export function mapGoogleError(err: unknown, signal: AbortSignal, field = "request", blame: Blame = "caller", deadline?: Date): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal.aborted) return abortError(signal);
  const e = err as GoogleLikeError;
  const status = httpStatusOf(err);
  const message = scrubUpstream(String(e?.message ?? "request failed"), { maxBytes: 400 });
  if (status !== undefined) return byHttpStatus(status, googleReason(err), message, field, blame, err);
  // No HTTP response: gax uses gRPC codes (4 deadline, 1 cancelled, 14 unavailable).
  // gax's own timeout is the caller's remaining deadline or our per-call ceiling:
  // DEADLINE_EXCEEDED only when it was the caller's.
  if (e?.code === 1) return abortError(signal);
  return transportError(signal, "Compute Engine", e?.code === 4 ? "the API did not answer in time" : `API unreachable: ${message}`, err, [], deadline);
}

/** GCE's classifier for the shared retry policy: outages and rate limiting (not quota). */
export function gceRetryVerdict(err: unknown): RetryVerdict | undefined {
  if (!(err instanceof ProviderError)) return undefined;
  if (err.code === "UNAVAILABLE") return { reason: "transient" };
  if (err.code === "RESOURCE_EXHAUSTED" && err.details.throttled) return { reason: "throttled" };
  return undefined;
}

// Operation error codes (upper case) -> boundary codes.
const OPERATION_CODES: Record<string, ErrorCode> = {
  QUOTA_EXCEEDED: "RESOURCE_EXHAUSTED",
  ZONE_RESOURCE_POOL_EXHAUSTED: "RESOURCE_EXHAUSTED",
  ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS: "RESOURCE_EXHAUSTED",
  RESOURCE_EXHAUSTED: "RESOURCE_EXHAUSTED",
  RATE_LIMIT_EXCEEDED: "RESOURCE_EXHAUSTED",
  RESOURCE_NOT_FOUND: "NOT_FOUND",
  NOT_FOUND: "NOT_FOUND",
  RESOURCE_ALREADY_EXISTS: "ALREADY_EXISTS",
  ALREADY_EXISTS: "ALREADY_EXISTS",
  INVALID_FIELD_VALUE: "INVALID_ARGUMENT",
  INVALID_USAGE: "INVALID_ARGUMENT",
  BAD_REQUEST: "INVALID_ARGUMENT",
  PERMISSIONS_ERROR: "PERMISSION_DENIED",
  PERMISSION_DENIED: "PERMISSION_DENIED",
  RESOURCE_NOT_READY: "FAILED_PRECONDITION",
  RESOURCE_IN_USE_BY_ANOTHER_RESOURCE: "FAILED_PRECONDITION",
  UNSUPPORTED_OPERATION: "FAILED_PRECONDITION",
  CONDITION_NOT_MET: "FAILED_PRECONDITION",
  SERVICE_UNAVAILABLE: "UNAVAILABLE",
};

export interface OperationLike {
  name?: string | null;
  operationType?: string | null;
  httpErrorStatusCode?: number | null;
  httpErrorMessage?: string | null;
  error?: { errors?: { code?: string | null; message?: string | null }[] | null } | null;
}

/** The error a DONE operation carries, or undefined when it succeeded. */
export function operationError(op: OperationLike, field = "request"): ProviderError | undefined {
  const first = op.error?.errors?.[0];
  if (!first) return undefined;
  const reason = scrubUpstream(first.code ?? "UNKNOWN", { maxBytes: 80 });
  const message = `Compute Engine ${op.operationType ?? "operation"} failed: ${scrubUpstream(first.message ?? reason, { maxBytes: 400 })} (${reason})`;
  const code = OPERATION_CODES[reason];
  const details = { cloudCode: reason };
  if (code === "INVALID_ARGUMENT") return new ProviderError(code, message, { ...details, field: fieldFor(first.message ?? "", field) });
  if (code === "RESOURCE_EXHAUSTED" && reason.startsWith("ZONE_RESOURCE_POOL")) {
    return resourceExhausted(`${message}; the zone has no capacity for this machine type now: retry later or pick another zone`, details);
  }
  if (code) return new ProviderError(code, message, details);
  // A failed operation ran what the caller asked for: its 4xx are the caller's.
  if (op.httpErrorStatusCode) return byHttpStatus(op.httpErrorStatusCode, reason, message, field, "caller");
  return internal(message, details);
}
