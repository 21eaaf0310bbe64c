// The boundary's error vocabulary. Backends and the service layer throw
// ProviderError; shared/server/grpc-errors.ts maps it to a gRPC status in
// exactly one place. Messages must never contain secrets (keys, passwords,
// tokens): they travel to callers and into logs.

export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "RESOURCE_EXHAUSTED"
  | "UNAVAILABLE"
  | "DEADLINE_EXCEEDED"
  | "CANCELLED"
  | "UNIMPLEMENTED"
  | "INTERNAL";

export interface ErrorDetails {
  /** For INVALID_ARGUMENT: the request field at fault, e.g. "instance_id" or "tags[Env]". */
  field?: string;
  /** The cloud's own error code or reason, e.g. "InvalidInstanceID.NotFound". */
  cloudCode?: string;
  /** The cloud's request id, kept for support tickets. */
  cloudRequestId?: string;
  /** The cloud asked us to slow down (429, a rate-limit reason): counted as "throttled". */
  throttled?: boolean;
  /** How long the cloud asked us to wait before trying again (Retry-After), in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class ProviderError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ProviderError";
  }
}

export const invalidArgument = (field: string, message: string, details: Omit<ErrorDetails, "field"> = {}) =>
  new ProviderError("INVALID_ARGUMENT", `${field}: ${message}`, { ...details, field });
export const notFound = (message: string, details?: ErrorDetails) => new ProviderError("NOT_FOUND", message, details);
export const alreadyExists = (message: string, details?: ErrorDetails) => new ProviderError("ALREADY_EXISTS", message, details);
export const failedPrecondition = (message: string, details?: ErrorDetails) =>
  new ProviderError("FAILED_PRECONDITION", message, details);
export const permissionDenied = (message: string, details?: ErrorDetails) =>
  new ProviderError("PERMISSION_DENIED", message, details);
export const unauthenticated = (message: string, details?: ErrorDetails) =>
  new ProviderError("UNAUTHENTICATED", message, details);
export const resourceExhausted = (message: string, details?: ErrorDetails) =>
  new ProviderError("RESOURCE_EXHAUSTED", message, details);
export const unavailable = (message: string, details?: ErrorDetails) => new ProviderError("UNAVAILABLE", message, details);
export const deadlineExceeded = (message: string, details?: ErrorDetails) =>
  new ProviderError("DEADLINE_EXCEEDED", message, details);
export const unimplemented = (message: string, details?: ErrorDetails) => new ProviderError("UNIMPLEMENTED", message, details);
export const internal = (message: string, details?: ErrorDetails) => new ProviderError("INTERNAL", message, details);

/** Throws CANCELLED / DEADLINE_EXCEEDED when the call's signal has fired. */
export function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  throw abortError(signal);
}

export function abortError(signal: AbortSignal): ProviderError {
  const reason = signal.reason;
  if (reason instanceof ProviderError) return reason;
  return deadlineExceeded("the call's deadline passed or it was cancelled before the cloud answered");
}
