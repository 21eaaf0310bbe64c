// The one table from a cloud's HTTP answer to the boundary's error codes,
// for every backend that speaks HTTP (GCE's REST transport, OpenStack,
// Proxmox; EC2's SDK errors fall back to it by status).
//
// The rule the table adds to plain status mapping: a 4xx is the caller's
// fault only when the caller supplied what was refused. GetProviderInfo,
// ListRegions, a health probe, a token request or a version discovery are
// built from the provider's own settings (project, endpoint, default
// region), so a 400 or 404 there says the provider is misconfigured or the
// cloud misbehaves, not that the request was bad: the call site says which
// it is with `blame`, and "provider" turns INVALID_ARGUMENT and NOT_FOUND
// into FAILED_PRECONDITION.
//
//   status            blame "caller"        blame "provider"
//   400, 422          INVALID_ARGUMENT      FAILED_PRECONDITION
//   401               UNAUTHENTICATED (the provider's credentials, never the caller's)
//   403               PERMISSION_DENIED
//   404, 410          NOT_FOUND             FAILED_PRECONDITION
//   409               FAILED_PRECONDITION (ALREADY_EXISTS when the cloud says so and the caller named it)
//   412               FAILED_PRECONDITION
//   408               UNAVAILABLE (the cloud's own timeout, not the caller's deadline)
//   429               RESOURCE_EXHAUSTED
//   501               UNIMPLEMENTED
//   other 5xx         UNAVAILABLE
//   anything else     INTERNAL
//
// A cloud whose status alone is ambiguous adds a hint from its body (GCE's
// 403 rateLimitExceeded is throttling; Nova's 403 "Quota exceeded" is
// RESOURCE_EXHAUSTED; PVE answers 500 for a guest in the wrong state). No
// connection or no answer is UNAVAILABLE; DEADLINE_EXCEEDED only when the
// caller's own deadline passed (transportError). Upstream text passes
// shared/cloud/scrub.ts here, bounded, whatever the call site did before.
import { ProviderError, abortError, type ErrorCode } from "../errors";
import { scrubUpstream } from "./scrub";

/** Who supplied the inputs of the refused request. */
export type Blame = "caller" | "provider";

/** The cloud's own reading of an answer, when the status alone is ambiguous. */
export type CloudHint =
  /** "slow down" (rate limiting), whatever the status. */
  | "throttled"
  /** A quota or capacity limit: retrying soon will not help. */
  | "quota"
  /** The thing to create exists already. */
  | "already_exists"
  /** The thing named does not exist. */
  | "not_found"
  /** Wrong state for this call (not running, not ready, a template). */
  | "wrong_state"
  /** The cloud is busy with the resource (a lock held by another task). */
  | "busy"
  /** The cloud cannot do this at all. */
  | "unimplemented"
  /** The cloud reports a failure of its own that is neither outage nor bad input. */
  | "failed";

export interface HttpErrorFacts {
  status: number;
  /** Names the cloud or service in the message: "Compute Engine", "nova", "Proxmox". */
  service: string;
  /** Upstream text (an error body's message, a reason phrase): scrubbed here. */
  message: string;
  blame: Blame;
  /** The request field INVALID_ARGUMENT names (blame "caller"); default "request". */
  field?: string;
  hint?: CloudHint;
  /** The cloud's reason word ("notFound", "itemNotFound"): kept as cloudCode and shown. */
  reason?: string;
  requestId?: string;
  /** What the cloud asked to wait, for the message. */
  retryAfterMs?: number;
  /** Per-call secrets to remove from the upstream text (the token the request carried). */
  also?: readonly (string | undefined)[];
  cause?: unknown;
}

/** The code for an HTTP status, by who supplied the refused inputs and the cloud's hint. */
export function codeForHttpStatus(status: number, blame: Blame, hint?: CloudHint): ErrorCode {
  const mine = (code: ErrorCode): ErrorCode => (blame === "caller" ? code : "FAILED_PRECONDITION");
  switch (hint) {
    case "throttled":
    case "quota":
      return "RESOURCE_EXHAUSTED";
    case "already_exists":
      return mine("ALREADY_EXISTS");
    case "not_found":
      return mine("NOT_FOUND");
    case "wrong_state":
      return "FAILED_PRECONDITION";
    case "busy":
      return "UNAVAILABLE";
    case "unimplemented":
      return "UNIMPLEMENTED";
    case "failed":
      return "INTERNAL";
  }
  if (status === 400 || status === 422) return mine("INVALID_ARGUMENT");
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 403) return "PERMISSION_DENIED";
  if (status === 404 || status === 410) return mine("NOT_FOUND");
  if (status === 409 || status === 412) return "FAILED_PRECONDITION";
  if (status === 408) return "UNAVAILABLE";
  if (status === 429) return "RESOURCE_EXHAUSTED";
  if (status === 501) return "UNIMPLEMENTED";
  if (status >= 500 && status <= 599) return "UNAVAILABLE";
  return "INTERNAL";
}

/** Upstream text as quoted in messages: scrubbed, then bounded. */
const clean = (text: string, maxBytes: number, also?: readonly (string | undefined)[]) => scrubUpstream(text, { maxBytes, also });

/** A ProviderError for a cloud's HTTP error answer, by the table above. */
export function httpError(f: HttpErrorFacts): ProviderError {
  const code = codeForHttpStatus(f.status, f.blame, f.hint);
  const reason = f.reason ? clean(f.reason, 80, f.also) : undefined;
  const text = clean(f.message || `HTTP ${f.status}`, 400, f.also);
  const requestId = f.requestId ? clean(f.requestId, 128, f.also) : undefined;
  let message = `${f.service}: ${text}`;
  // The cloud's reason word when it gave one, else the status: a message always says which answer it was.
  if (reason && !text.includes(reason)) message += ` (${reason})`;
  else if (!reason && !text.includes(`HTTP ${f.status}`)) message += ` (HTTP ${f.status})`;
  if (requestId) message += ` (request id ${requestId})`;
  if (code === "UNAUTHENTICATED") message = `${f.service} rejected the provider's credentials (check the provider's configuration): ${text}${reason ? ` (${reason})` : ""}`;
  if (code === "RESOURCE_EXHAUSTED" && f.retryAfterMs !== undefined) message += `; the cloud asked to retry after ${Math.ceil(f.retryAfterMs / 1000)} s`;
  const misconfigured = f.blame === "provider" && f.status >= 400 && f.status < 500 && ![401, 403, 408, 409, 412, 429].includes(f.status) && code === "FAILED_PRECONDITION";
  if (misconfigured) message += `; HTTP ${f.status} on a request built from the provider's own settings, not from the call's input`;
  const details = {
    cloudCode: reason ?? String(f.status),
    cloudRequestId: requestId,
    throttled: f.hint === "throttled" || f.status === 429 || undefined,
    retryAfterMs: f.retryAfterMs,
    cause: f.cause,
  };
  if (code === "INVALID_ARGUMENT") {
    const field = f.field ?? "request";
    return new ProviderError(code, `${field}: ${message}`, { ...details, field });
  }
  return new ProviderError(code, message, details);
}

/**
 * A request that got no HTTP answer: the caller's deadline or cancellation
 * (the signal fired) keeps its own code; anything else (refused
 * connection, TLS failure, the cloud not answering within our own request
 * timeout) is UNAVAILABLE, never DEADLINE_EXCEEDED.
 */
export function transportError(
  signal: AbortSignal,
  service: string,
  what: string,
  cause?: unknown,
  also?: readonly (string | undefined)[],
  deadline?: Date,
): ProviderError {
  if (signal.aborted) return abortError(signal);
  // A client whose own timer is the caller's remaining time can fire a hair before the signal does.
  if (deadline && Date.now() >= deadline.getTime()) return new ProviderError("DEADLINE_EXCEEDED", `${service}: the call's deadline passed before the cloud answered`, { cause });
  return new ProviderError("UNAVAILABLE", `${service}: ${clean(what, 400, also)}`, { cloudCode: "UNREACHABLE", cause });
}
