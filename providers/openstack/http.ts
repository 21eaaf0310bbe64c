// The one place OpenStack HTTP calls go through: JSON in and out, the
// caller's AbortSignal on every request, retries by the shared policy
// (shared/cloud/retry.ts; this file only says which answers count:
// throttling 429/413 + Retry-After, 5xx and dropped connections of safe
// calls), every request observed (skyclust_cloud_* metrics, spans), and
// every error body (Keystone, Nova, Glance shapes) turned into a
// ProviderError by the shared status table (shared/cloud/http-status.ts)
// that keeps the x-openstack-request-id. Request headers and bodies never reach an
// error or a log line: they carry tokens and passwords. Upstream text (an
// error body, a reason phrase, a connection error) passes the shared
// scrubber with the request's own token and secrets before it is quoted,
// since a proxy or a debug-mode service may echo the request back.
import { retriedCloudCall } from "../../shared/cloud/call";
import { currentCall } from "../../shared/cloud/call-scope";
import { httpError, transportError, type Blame, type CloudHint } from "../../shared/cloud/http-status";
import { operationName } from "../../shared/cloud/operation-name";
import { parseRetryAfterMs, RetryPolicy, type RetryVerdict } from "../../shared/cloud/retry";
import { scrubUpstream } from "../../shared/cloud/scrub";
import { abortError, ProviderError } from "../../shared/errors";
import type { Logger } from "../../shared/log";

export interface TransportOptions {
  /** PEM text of extra CAs (OS_CACERT). */
  ca?: string;
  insecure?: boolean;
  /** Retries after the first attempt: throttled calls, and safe calls failing with 5xx or a dropped connection. */
  maxRetries?: number;
  /** Longest Retry-After honoured; longer asks give up at once. */
  maxRetryAfterMs?: number;
  /** Ceiling of the first back-off (doubles each retry, full jitter). */
  retryDelayMs?: number;
  /** One HTTP exchange gives up after this long even when the caller set no deadline. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal: AbortSignal;
  log?: Logger;
  /** Names the service in messages: "nova", "keystone", "glance". */
  service: string;
  /** The request field a 400 blames (INVALID_ARGUMENT needs one). */
  badRequestField?: string;
  /** Retry 5xx/connection failures too (reads, or requests known to be safe). */
  idempotent?: boolean;
  /**
   * Who supplied the request's inputs: "caller" (default; a 400 is
   * INVALID_ARGUMENT, a 404 NOT_FOUND) or "provider" (token requests,
   * version discovery, health probes: FAILED_PRECONDITION).
   */
  blame?: Blame;
  /** The region the request goes to, for metrics ("" when none). */
  region?: string;
  /** Secret values the body carries (a password): removed from any upstream text quoted in an error. */
  secrets?: (string | undefined)[];
}

// Headers whose values are credentials (X-Auth-Token above all).
const SECRET_HEADER = /token|authorization|cookie|secret|password/i;

/** What this request carries that must never be quoted back. */
const requestSecrets = (opts: RequestOptions): (string | undefined)[] => [
  ...Object.entries(opts.headers ?? {}).filter(([k]) => SECRET_HEADER.test(k)).map(([, v]) => v),
  ...(opts.secrets ?? []),
];

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  body: T;
  requestId?: string;
}

/** An OpenStack error with its HTTP facts, before mapping to a gRPC code. */
export interface CloudErrorInfo {
  status: number;
  message: string;
  /** Nova's error key ("itemNotFound", "conflictingRequest") or Keystone's title. */
  kind?: string;
  requestId?: string;
  retryAfterSeconds?: number;
}

/** Path words of the OpenStack APIs we call; any other segment is an id in operation names. */
const ROUTE_WORDS = new Set([
  "v2", "v2.0", "v2.1", "v3", "identity", "compute", "image", "network", "auth", "tokens", "projects", "regions",
  "servers", "detail", "action", "os-instance-actions", "os-keypairs", "flavors", "images", "networks", "subnets", "ports",
  "floatingips", "security-groups", "os-availability-zone", "os-interface", "ips", "metadata", "tags", "limits", "versions", "extensions",
]);

export function requestIdOf(headers: Headers): string | undefined {
  return headers.get("x-openstack-request-id") ?? headers.get("x-compute-request-id") ?? undefined;
}

/** Retry-After as seconds (delta-seconds or an HTTP date), or Nova's body retryAfter. */
export function parseRetryAfter(header: string | null, bodyValue?: unknown): number | undefined {
  const raw = header ?? (bodyValue === undefined || bodyValue === null ? null : String(bodyValue));
  const ms = parseRetryAfterMs(raw);
  return ms === undefined ? undefined : ms / 1000;
}

/** Pulls the message out of the error shapes OpenStack services send. */
export function parseErrorBody(text: string): { message?: string; kind?: string; retryAfter?: unknown } {
  const trimmed = text.trim();
  if (!trimmed) return {};
  try {
    const doc = JSON.parse(trimmed);
    if (doc && typeof doc === "object") {
      // Keystone: {"error": {"code", "message", "title"}}
      if (doc.error && typeof doc.error === "object") return { message: doc.error.message, kind: doc.error.title };
      // Neutron: {"NeutronError": {"type", "message"}}
      if (doc.NeutronError) return { message: doc.NeutronError.message, kind: doc.NeutronError.type };
      // Nova: {"itemNotFound": {"code": 404, "message": "..."}} (one key)
      const [kind, inner] = Object.entries(doc)[0] ?? [];
      if (inner && typeof inner === "object" && "message" in (inner as object)) {
        const i = inner as Record<string, unknown>;
        return { message: String(i.message), kind, retryAfter: i.retryAfter };
      }
      if (typeof doc.message === "string") return { message: doc.message };
    }
  } catch {
    // Glance and proxies answer plain text or HTML.
  }
  const plain = trimmed.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
  return { message: plain.slice(0, 300) };
}

/** What Nova's and Keystone's answers say that their status does not. */
function hintFor(info: CloudErrorInfo): CloudHint | undefined {
  if (info.status === 403 && /quota/i.test(info.message)) return "quota";
  // 413 is Nova's legacy "over limit": throttling when it says when to come back, a quota otherwise.
  if (info.status === 413) return info.retryAfterSeconds !== undefined ? "throttled" : "quota";
  return undefined;
}

/** Maps an OpenStack HTTP error to the boundary's vocabulary (shared/cloud/http-status.ts). */
export function toProviderError(info: CloudErrorInfo, service: string, badRequestField = "request", blame: Blame = "caller"): ProviderError {
  const error = httpError({
    status: info.status,
    service,
    message: info.message,
    reason: info.kind,
    requestId: info.requestId,
    retryAfterMs: info.retryAfterSeconds === undefined ? undefined : info.retryAfterSeconds * 1000,
    blame,
    field: badRequestField,
    hint: hintFor(info),
  });
  (error as ProviderError & { http?: CloudErrorInfo }).http = info;
  return error;
}

/** OpenStack's classifier for the shared retry policy. */
export function openstackRetryVerdict(err: unknown): RetryVerdict | undefined {
  const info = httpInfo(err);
  if (info) {
    // A throttled request was not carried out: repeating it is safe for any method.
    if (info.status === 429 || (info.status === 413 && info.retryAfterSeconds !== undefined)) {
      return { reason: "throttled", notExecuted: true, retryAfterMs: info.retryAfterSeconds === undefined ? undefined : info.retryAfterSeconds * 1000 };
    }
    return info.status >= 500 ? { reason: "transient" } : undefined;
  }
  // A dropped or refused connection (not our own request timeout: a stuck
  // endpoint would hold the caller several times as long).
  return err instanceof ProviderError && err.details.cloudCode === "UNREACHABLE" ? { reason: "transient" } : undefined;
}

/** Small JSON-over-fetch client shared by the identity, compute and image modules. */
export class Transport {
  private readonly fetchImpl: typeof fetch;
  private readonly policy: RetryPolicy;
  constructor(private readonly opts: TransportOptions = {}) {
    this.fetchImpl = opts.fetch ?? fetch;
    this.policy = new RetryPolicy({ maxAttempts: (opts.maxRetries ?? 3) + 1, baseDelayMs: opts.retryDelayMs ?? 500, maxRetryAfterMs: opts.maxRetryAfterMs ?? 10_000 });
  }

  /** One request, retried by the shared policy and observed as one cloud call. */
  request<T = any>(url: string, opts: RequestOptions): Promise<HttpResponse<T>> {
    const method = opts.method ?? "GET";
    const call = currentCall();
    const operation = `${opts.service}.${operationName(method, new URL(url).pathname, ROUTE_WORDS)}`;
    const retry = {
      signal: opts.signal,
      deadline: call?.deadline,
      idempotent: opts.idempotent ?? (method === "GET" || method === "HEAD"),
      classify: openstackRetryVerdict,
      onRetry: (r: { attempt: number; reason: string; delayMs: number; error: unknown }) => {
        const fields = { service: opts.service, wait_ms: r.delayMs, attempt: r.attempt, cloud_request_id: httpInfo(r.error)?.requestId };
        if (r.reason === "throttled") opts.log?.warn("openstack throttled the call; backing off", fields);
        else opts.log?.debug("openstack call failed; retrying", fields);
      },
    };
    return retriedCloudCall(call ?? {}, { provider: "openstack", operation, region: opts.region ?? "" }, this.policy, retry, () => this.once<T>(url, method, opts));
  }

  /** One HTTP exchange: the answer, or the mapped error carrying its HTTP facts. */
  private async once<T>(url: string, method: string, opts: RequestOptions): Promise<HttpResponse<T>> {
    let res: Response;
    let text: string;
    const timeoutMs = this.opts.requestTimeoutMs ?? 60_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const { origin, pathname } = new URL(url);
    try {
      res = await this.send(url, method, { ...opts, signal: AbortSignal.any([opts.signal, timeout]) });
      text = await res.text();
    } catch (err) {
      if (opts.signal.aborted) throw abortError(opts.signal);
      if (timeout.aborted) {
        throw new ProviderError("UNAVAILABLE", `${opts.service}: ${origin} did not answer ${method} ${pathname} within ${timeoutMs / 1000} s`, { cloudCode: "TIMEOUT" });
      }
      // The fetch error names the host and the reason; scrubbed all the same.
      throw transportError(opts.signal, opts.service, `cannot reach ${origin}: ${(err as Error).message}`, err, requestSecrets(opts));
    }
    const requestId = requestIdOf(res.headers);
    opts.log?.debug("openstack call", { service: opts.service, method, path: pathname, status: res.status, cloud_request_id: requestId });
    if (res.ok) {
      let body: any = undefined;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      return { status: res.status, headers: res.headers, body, requestId };
    }
    const parsed = parseErrorBody(text);
    const info: CloudErrorInfo = {
      status: res.status,
      message: scrubUpstream(String(parsed.message ?? res.statusText), { maxBytes: 300, also: requestSecrets(opts) }),
      kind: parsed.kind === undefined ? undefined : scrubUpstream(String(parsed.kind), { maxBytes: 80, also: requestSecrets(opts) }),
      requestId,
      retryAfterSeconds: parseRetryAfter(res.headers.get("retry-after"), parsed.retryAfter),
    };
    throw toProviderError(info, opts.service, opts.badRequestField, opts.blame);
  }

  private send(url: string, method: string, opts: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    const tls = this.opts.ca || this.opts.insecure ? { tls: { ca: this.opts.ca, rejectUnauthorized: !this.opts.insecure } } : {};
    return this.fetchImpl(url, { method, headers, body, signal: opts.signal, ...tls } as RequestInit);
  }
}

/** The HTTP facts of an error thrown by Transport.request, if it was an HTTP error. */
export function httpInfo(err: unknown): CloudErrorInfo | undefined {
  return err instanceof ProviderError ? (err as ProviderError & { http?: CloudErrorInfo }).http : undefined;
}
