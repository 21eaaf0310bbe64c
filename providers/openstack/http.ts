// The one place OpenStack HTTP calls go through: JSON in and out, the
// caller's AbortSignal on every request, throttling (413/429 + Retry-After)
// backed off within bounds, safe retries of reads on 5xx, and every error
// body (Keystone, Nova, Glance shapes) turned into a ProviderError that keeps
// the x-openstack-request-id. Request headers and bodies never reach an
// error or a log line: they carry tokens and passwords. Upstream text (an
// error body, a reason phrase, a connection error) passes the shared
// scrubber with the request's own token and secrets before it is quoted,
// since a proxy or a debug-mode service may echo the request back.
import { scrubUpstream } from "../../shared/cloud/scrub";
import { abortableSleep } from "../../shared/abort";
import {
  abortError,
  invalidArgument,
  notFound,
  permissionDenied,
  ProviderError,
  resourceExhausted,
  unauthenticated,
  unavailable,
  failedPrecondition,
} from "../../shared/errors";
import type { Logger } from "../../shared/log";

export interface TransportOptions {
  /** PEM text of extra CAs (OS_CACERT). */
  ca?: string;
  insecure?: boolean;
  /** Throttled calls are retried this many times before RESOURCE_EXHAUSTED. */
  maxThrottleRetries?: number;
  /** Longest single wait for Retry-After; longer asks give up at once. */
  maxThrottleWaitMs?: number;
  /** Reads failing with 5xx or a dropped connection are retried this often. */
  maxReadRetries?: number;
  /** Base delay between read retries (doubles each time). */
  readRetryDelayMs?: number;
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

const sleep = abortableSleep;

export function requestIdOf(headers: Headers): string | undefined {
  return headers.get("x-openstack-request-id") ?? headers.get("x-compute-request-id") ?? undefined;
}

/** Retry-After as seconds (delta-seconds or an HTTP date), or Nova's body retryAfter. */
export function parseRetryAfter(header: string | null, bodyValue?: unknown): number | undefined {
  const raw = header ?? (bodyValue === undefined || bodyValue === null ? null : String(bodyValue));
  if (raw === null || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (Number.isFinite(n)) return Math.max(0, n);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
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

/** Maps an OpenStack HTTP error to the boundary's vocabulary. */
export function toProviderError(info: CloudErrorInfo, service: string, badRequestField = "request"): ProviderError {
  const rid = info.requestId ? ` (request id ${info.requestId})` : "";
  const text = `${service}: ${info.message || `HTTP ${info.status}`}${rid}`;
  const details = { cloudCode: info.kind ?? String(info.status), cloudRequestId: info.requestId };
  switch (true) {
    case info.status === 400:
      return invalidArgument(badRequestField, text, details);
    case info.status === 401:
      return unauthenticated(text, details);
    case info.status === 403 && /quota/i.test(info.message):
      return resourceExhausted(text, details);
    case info.status === 403:
      return permissionDenied(text, details);
    case info.status === 404:
      return notFound(text, details);
    case info.status === 409:
      return failedPrecondition(text, details);
    case info.status === 413 || info.status === 429: {
      const after = info.retryAfterSeconds !== undefined ? `; the cloud asked to retry after ${Math.ceil(info.retryAfterSeconds)} s` : "";
      return resourceExhausted(`${text}${after}`, details);
    }
    case info.status >= 500:
      return unavailable(text, details);
    default:
      return new ProviderError("INTERNAL", text, details);
  }
}

/** Small JSON-over-fetch client shared by the identity, compute and image modules. */
export class Transport {
  private readonly fetchImpl: typeof fetch;
  constructor(private readonly opts: TransportOptions = {}) {
    this.fetchImpl = opts.fetch ?? fetch;
  }

  async request<T = any>(url: string, opts: RequestOptions): Promise<HttpResponse<T>> {
    const method = opts.method ?? "GET";
    const idempotent = opts.idempotent ?? (method === "GET" || method === "HEAD");
    const maxThrottle = this.opts.maxThrottleRetries ?? 3;
    const maxThrottleWait = this.opts.maxThrottleWaitMs ?? 10_000;
    const maxRead = this.opts.maxReadRetries ?? 2;
    const readDelay = this.opts.readRetryDelayMs ?? 500;
    let throttled = 0;
    let failedReads = 0;
    for (;;) {
      if (opts.signal.aborted) throw abortError(opts.signal);
      let res: Response;
      let text: string;
      const timeoutMs = this.opts.requestTimeoutMs ?? 60_000;
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        res = await this.send(url, method, { ...opts, signal: AbortSignal.any([opts.signal, timeout]) });
        text = await res.text();
      } catch (err) {
        if (opts.signal.aborted) throw abortError(opts.signal);
        if (timeout.aborted) {
          // Not retried: a stuck endpoint would hold the caller several times as long.
          throw unavailable(`${opts.service}: ${new URL(url).origin} did not answer ${method} ${new URL(url).pathname} within ${timeoutMs / 1000} s`);
        }
        if (idempotent && failedReads < maxRead) {
          await sleep(readDelay * 2 ** failedReads++, opts.signal);
          continue;
        }
        // The fetch error names the host and the reason; scrubbed all the same.
        const reason = scrubUpstream((err as Error).message, { maxBytes: 300, also: requestSecrets(opts) });
        throw unavailable(`${opts.service}: cannot reach ${new URL(url).origin}: ${reason}`, { cause: err });
      }
      const requestId = requestIdOf(res.headers);
      opts.log?.debug("openstack call", { service: opts.service, method, path: new URL(url).pathname, status: res.status, cloud_request_id: requestId });
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
      if ((res.status === 429 || res.status === 413) && info.retryAfterSeconds !== undefined && throttled < maxThrottle) {
        // A throttled request was not carried out, so repeating it is safe
        // for any method. Wait what the cloud asks (within bounds and the
        // caller's deadline), then try again.
        const waitMs = Math.max(info.retryAfterSeconds * 1000, 100 * 2 ** throttled);
        if (waitMs <= maxThrottleWait) {
          throttled++;
          opts.log?.warn("openstack throttled the call; backing off", { service: opts.service, wait_ms: waitMs, attempt: throttled, cloud_request_id: requestId });
          await sleep(waitMs, opts.signal);
          continue;
        }
      }
      if (res.status >= 500 && idempotent && failedReads < maxRead) {
        await sleep(readDelay * 2 ** failedReads++, opts.signal);
        continue;
      }
      const error = toProviderError(info, opts.service, opts.badRequestField);
      (error as ProviderError & { http?: CloudErrorInfo }).http = info;
      throw error;
    }
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
