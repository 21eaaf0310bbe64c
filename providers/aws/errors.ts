// EC2 errors -> the boundary's error vocabulary, in one place. The AWS error
// code and request id stay in the message (support asks for the request id).
// AWS's own messages name resources, not credentials, but --endpoint may
// point at anything (a proxy, an emulator) that echoes the request with its
// X-Amz-Security-Token, so every upstream string passes the shared scrubber.
import { httpError } from "../../shared/cloud/http-status";
import { scrubUpstream } from "../../shared/cloud/scrub";
import {
  ProviderError,
  abortError,
  alreadyExists,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  permissionDenied,
  resourceExhausted,
  unauthenticated,
  unavailable,
  type ErrorCode,
} from "../../shared/errors";

/** How an EC2 error code maps, checked in order (exact names first, then patterns). */
const EXACT: Record<string, ErrorCode> = {
  IncorrectInstanceState: "FAILED_PRECONDITION",
  IncorrectState: "FAILED_PRECONDITION",
  InvalidInstanceState: "FAILED_PRECONDITION",
  UnsupportedOperation: "FAILED_PRECONDITION",
  OperationNotPermitted: "FAILED_PRECONDITION",
  DependencyViolation: "FAILED_PRECONDITION",
  IdempotentParameterMismatch: "ALREADY_EXISTS",

  UnauthorizedOperation: "PERMISSION_DENIED",
  AccessDenied: "PERMISSION_DENIED",
  AccessDeniedException: "PERMISSION_DENIED",
  OptInRequired: "PERMISSION_DENIED",
  Blocked: "PERMISSION_DENIED",
  PendingVerification: "PERMISSION_DENIED",

  AuthFailure: "UNAUTHENTICATED",
  InvalidClientTokenId: "UNAUTHENTICATED",
  SignatureDoesNotMatch: "UNAUTHENTICATED",
  ExpiredToken: "UNAUTHENTICATED",
  ExpiredTokenException: "UNAUTHENTICATED",
  RequestExpired: "UNAUTHENTICATED",
  InvalidAccessKeyId: "UNAUTHENTICATED",
  UnrecognizedClientException: "UNAUTHENTICATED",

  // Reached only after the SDK's own backoff and retries gave up.
  RequestLimitExceeded: "RESOURCE_EXHAUSTED",
  Throttling: "RESOURCE_EXHAUSTED",
  ThrottlingException: "RESOURCE_EXHAUSTED",
  InstanceLimitExceeded: "RESOURCE_EXHAUSTED",
  VcpuLimitExceeded: "RESOURCE_EXHAUSTED",
  InsufficientInstanceCapacity: "RESOURCE_EXHAUSTED",
  InsufficientCapacity: "RESOURCE_EXHAUSTED",
  InsufficientFreeAddressesInSubnet: "RESOURCE_EXHAUSTED",
  AddressLimitExceeded: "RESOURCE_EXHAUSTED",
  ResourceLimitExceeded: "RESOURCE_EXHAUSTED",
  MaxSpotInstanceCountExceeded: "RESOURCE_EXHAUSTED",

  InternalError: "UNAVAILABLE",
  InternalFailure: "UNAVAILABLE",
  ServiceUnavailable: "UNAVAILABLE",
  Unavailable: "UNAVAILABLE",
  RequestTimeout: "UNAVAILABLE",

  InvalidParameterValue: "INVALID_ARGUMENT",
  InvalidParameterCombination: "INVALID_ARGUMENT",
  InvalidParameter: "INVALID_ARGUMENT",
  MissingParameter: "INVALID_ARGUMENT",
  InvalidFilter: "INVALID_ARGUMENT",
  InvalidInstanceType: "INVALID_ARGUMENT",
  InvalidBlockDeviceMapping: "INVALID_ARGUMENT",
  InvalidKey: "INVALID_ARGUMENT",
  InvalidPaginationToken: "INVALID_ARGUMENT",
  InvalidNextToken: "INVALID_ARGUMENT",
  ValidationError: "INVALID_ARGUMENT",
};

function codeFor(awsCode: string): ErrorCode | undefined {
  if (EXACT[awsCode]) return EXACT[awsCode];
  if (awsCode.endsWith(".NotFound")) return "NOT_FOUND";
  if (awsCode.endsWith(".Duplicate")) return "ALREADY_EXISTS";
  if (awsCode.endsWith(".Malformed") || awsCode.endsWith(".Format") || awsCode.endsWith(".Unsupported")) return "INVALID_ARGUMENT";
  if (awsCode.endsWith("LimitExceeded")) return "RESOURCE_EXHAUSTED";
  return undefined;
}

/**
 * Which request field an EC2 error code prefix points at, per operation, so
 * INVALID_ARGUMENT names the field the caller sent (e.g. InvalidAMIID.* ->
 * image_id on CreateInstance).
 */
export type FieldHints = Record<string, string>;

export interface MapContext {
  /** What the provider was doing, e.g. "RunInstances in us-east-1". */
  operation: string;
  signal?: AbortSignal;
  fields?: FieldHints;
  /** Field used for INVALID_ARGUMENT when no hint matches. */
  defaultField?: string;
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ConnectionRefused"]);

interface AwsLikeError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $fault?: "client" | "server";
  $metadata?: { requestId?: string; httpStatusCode?: number };
  RequestID?: string;
  RequestId?: string;
}

function fieldFor(awsCode: string, ctx: MapContext): string {
  for (const [prefix, field] of Object.entries(ctx.fields ?? {})) {
    if (awsCode === prefix || awsCode.startsWith(`${prefix}.`)) return field;
  }
  return ctx.defaultField ?? "request";
}

/** Turns anything the EC2 client threw into a ProviderError. ProviderErrors pass through. */
export function mapAwsError(err: unknown, ctx: MapContext): ProviderError {
  if (err instanceof ProviderError) return err;
  if (ctx.signal?.aborted) return abortError(ctx.signal);
  const e = (err ?? {}) as AwsLikeError;
  const name = e.name ?? "";
  if (name === "AbortError") return abortError(ctx.signal ?? AbortSignal.abort());

  // Only service exceptions (they carry $fault) have an EC2 error code; the
  // SDK also attaches $metadata to network errors such as TimeoutError.
  const rawCode = e.Code ?? (e.$fault && name && name !== "Error" ? name : "");
  const awsCode = rawCode ? scrubUpstream(rawCode, { maxBytes: 80 }) : "";
  const rawRequestId = e.$metadata?.requestId ?? e.RequestID ?? e.RequestId;
  const requestId = rawRequestId ? scrubUpstream(String(rawRequestId), { maxBytes: 80 }) : undefined;
  const awsMessage = scrubUpstream((e.message ?? "").trim(), { maxBytes: 400 });
  const suffix = awsCode ? ` (EC2 ${awsCode}${requestId ? `, request id ${requestId}` : ""})` : requestId ? ` (request id ${requestId})` : "";
  const details = { cloudCode: awsCode || undefined, cloudRequestId: requestId, cause: err };
  const text = `${ctx.operation}: ${awsMessage || "EC2 error"}${suffix}`;

  if (name === "CredentialsProviderError" || (name === "ProviderError" && /credential/i.test(awsMessage))) {
    return unauthenticated(`${ctx.operation}: no usable AWS credentials (${awsMessage})`, details);
  }
  if (!awsCode) {
    if ((e.code && NETWORK_CODES.has(e.code)) || name === "TimeoutError" || /socket hang up|ECONNREFUSED|connect|network/i.test(awsMessage)) {
      return unavailable(`${ctx.operation}: the EC2 endpoint could not be reached (${e.code ?? name ?? "network error"})`, details);
    }
    // No EC2 error code, only an HTTP status (a proxy's page, a body the
    // SDK could not read): the shared table decides, and nothing the caller
    // sent can be blamed for a body nobody could read.
    const status = e.$metadata?.httpStatusCode;
    if (status !== undefined && status >= 300) {
      return httpError({ status, service: ctx.operation, message: `EC2 answered HTTP ${status} with a body the SDK could not read${suffix}`, blame: "provider", cause: err });
    }
    return internal(`${ctx.operation}: unexpected error from the EC2 client`, details);
  }

  switch (codeFor(awsCode)) {
    case "NOT_FOUND":
      return notFound(text, details);
    case "ALREADY_EXISTS":
      return alreadyExists(text, details);
    case "INVALID_ARGUMENT":
      return invalidArgument(fieldFor(awsCode, ctx), `${awsMessage || "rejected by EC2"}${suffix}`, details);
    case "FAILED_PRECONDITION":
      return failedPrecondition(text, details);
    case "PERMISSION_DENIED":
      return permissionDenied(text, details);
    case "UNAUTHENTICATED":
      return unauthenticated(text, details);
    case "RESOURCE_EXHAUSTED":
      return resourceExhausted(text, details);
    case "UNAVAILABLE":
      return unavailable(text, details);
    default:
      // An EC2 code this table does not know: a server fault is an outage,
      // a client fault is most likely a request EC2 did not accept.
      if (e.$fault === "server") return unavailable(text, details);
      return new ProviderError("FAILED_PRECONDITION", text, details);
  }
}
