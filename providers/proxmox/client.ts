// A small typed client for the Proxmox VE JSON API (/api2/json). It owns
// authentication (ticket login or API token), unwraps {"data": ...}, turns
// PVE's status codes and reason phrases into ProviderErrors (through the
// shared status table, shared/cloud/http-status.ts), has the shared retry
// policy repeat what PVE did not act on ("can't lock file" answers, 429),
// and observes every request (skyclust_cloud_* metrics, spans).
// PVE's reason phrases and error bodies are upstream text: they pass the
// shared scrubber with the call's ticket, CSRF token, token secret or
// password before they reach an error (a proxy may echo the request).
//
// Why not the `proxmox-api` npm package: it is GPL-3.0 (this product ships
// binaries), it brings undici instead of Bun's fetch, its Proxy-based API
// gives no types for the handful of calls we make, and it cannot express a
// certificate pin. The API surface we need is ~15 endpoints; this is less
// code than adapting it.
import { abortableSleep } from "../../shared/abort";
import { retriedCloudCall } from "../../shared/cloud/call";
import { currentCall } from "../../shared/cloud/call-scope";
import { httpError, type Blame, type CloudHint } from "../../shared/cloud/http-status";
import { operationName } from "../../shared/cloud/operation-name";
import { parseRetryAfterMs, RetryPolicy, type RetryVerdict } from "../../shared/cloud/retry";
import { rememberSessionSecret, scrubUpstream } from "../../shared/cloud/scrub";
import { ProviderError, abortError, unauthenticated, unavailable } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import { reveal, secretVersion, type SecretValue } from "../../shared/secrets";
import { TlsVerificationError, type HttpTransport } from "./transport";

/** Secrets are live values when they come from a _FILE: read at each use. */
export type PveAuth =
  | { kind: "ticket"; username: string; password: SecretValue }
  | { kind: "token"; tokenId: string; secret: SecretValue };

export interface PveClientOptions {
  baseUrl: string;
  auth: PveAuth;
  transport: HttpTransport;
  log: Logger;
  /** Lock-conflict retries after the first attempt. */
  lockRetries?: number;
  /** First back-off before a lock retry; doubles each time. */
  lockRetryDelayMs?: number;
  now?: () => number;
}

type Params = Record<string, string | number | boolean | undefined>;

/** A PVE API error before it is mapped, kept for callers that decide themselves. */
export class PveApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly errors: Record<string, string> = {},
    /** Retry-After of a throttled answer, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(`Proxmox API ${status}: ${reason}`);
    this.name = "PveApiError";
  }
}

// PVE tickets live two hours; renew with a margin so a slow call never
// carries an expired ticket.
const TICKET_RENEW_MS = 100 * 60 * 1000;

// "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout": another
// task holds the VM's config lock and PVE did nothing; safe to retry.
const LOCK_MESSAGE = /can't lock file|trying to acquire lock/i;
export const isLockConflict = (message: string) => LOCK_MESSAGE.test(message);

/** Path words of the PVE API we call; any other segment (node, vmid, UPID) is an id in operation names. */
const ROUTE_WORDS = new Set([
  "nodes", "qemu", "lxc", "status", "current", "config", "cluster", "resources", "nextid", "tasks", "log", "clone",
  "start", "stop", "shutdown", "reboot", "reset", "resize", "firewall", "rules", "options", "groups", "agent",
  "network-get-interfaces", "interfaces", "version", "access", "ticket", "storage", "content", "pending",
]);

/** A guest's own path: its node and vmid came from the caller's instance id. */
const GUEST_PATH = /^\/nodes\/[^/]+\/(?:qemu|lxc)\/\d+(?:\/|$)/;

/** PVE's classifier for the shared retry policy: only answers PVE did not act on. */
export function pveRetryVerdict(err: unknown): RetryVerdict | undefined {
  if (!(err instanceof ProviderError)) return undefined;
  if (err.details.cloudCode === "lock") return { reason: "conflict", notExecuted: true };
  if (err.details.throttled) return { reason: "throttled", notExecuted: true, retryAfterMs: err.details.retryAfterMs };
  return undefined;
}

interface Ticket {
  ticket: string;
  csrf: string;
  obtainedAt: number;
  /** The password's version this ticket was bought with. */
  passwordVersion: number;
}

export class PveClient {
  private ticket?: Ticket;
  private login?: Promise<Ticket>;
  /** Ticket logins performed (health/diagnostics, tests). */
  loginCount = 0;
  private readonly now: () => number;
  private readonly policy: RetryPolicy;

  constructor(private readonly opts: PveClientOptions) {
    this.now = opts.now ?? Date.now;
    this.policy = new RetryPolicy({ maxAttempts: (opts.lockRetries ?? 4) + 1, baseDelayMs: opts.lockRetryDelayMs ?? 500 });
  }

  get authKind(): "ticket" | "token" {
    return this.opts.auth.kind;
  }

  get<T>(path: string, params: Params, signal: AbortSignal): Promise<T> {
    return this.call<T>("GET", path, params, signal);
  }
  post<T>(path: string, params: Params, signal: AbortSignal): Promise<T> {
    return this.call<T>("POST", path, params, signal);
  }
  put<T>(path: string, params: Params, signal: AbortSignal): Promise<T> {
    return this.call<T>("PUT", path, params, signal);
  }
  delete<T>(path: string, params: Params, signal: AbortSignal): Promise<T> {
    return this.call<T>("DELETE", path, params, signal);
  }

  /**
   * One API call, retried by the shared policy while PVE refuses without
   * acting (a lock held by another task, throttling) and observed as one
   * cloud request; returns the unwrapped `data`.
   */
  async call<T>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, params: Params, signal: AbortSignal): Promise<T> {
    const scope = currentCall();
    const retry = {
      signal,
      deadline: scope?.deadline,
      idempotent: method === "GET",
      classify: pveRetryVerdict,
      onRetry: (r: { attempt: number; reason: string; delayMs: number }) => this.opts.log.debug("proxmox refused without acting, retrying", { method, path, attempt: r.attempt, reason: r.reason, wait_ms: r.delayMs }),
    };
    const info = { provider: "proxmox", operation: operationName(method, path, ROUTE_WORDS), region: /^\/nodes\/([^/]+)/.exec(path)?.[1] ?? "" };
    // Guest paths carry the caller's instance id; the rest (nodes, cluster
    // resources, version) is built from the provider's own settings.
    const blame: Blame = GUEST_PATH.test(path) ? "caller" : "provider";
    return retriedCloudCall(scope ?? {}, info, this.policy, retry, async () => {
      try {
        return await this.callOnce<T>(method, path, params, signal);
      } catch (err) {
        throw mapPveError(err, signal, blame);
      }
    });
  }

  private async callOnce<T>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, params: Params, signal: AbortSignal): Promise<T> {
    let { res, ticket } = await this.send(method, path, params, signal);
    if (res.status === 401 && this.opts.auth.kind === "ticket") {
      // The ticket expired early or the cluster restarted: log in again once.
      // Re-sending is safe even for writes: PVE executed nothing on a 401.
      // Calls that fail together share one login: only the first one drops
      // the ticket they all used.
      if (this.ticket === ticket) {
        this.opts.log.info("proxmox ticket rejected, logging in again", { path });
        this.ticket = undefined;
      }
      ({ res } = await this.send(method, path, params, signal));
    }
    try {
      return unwrap<T>(res.status, res.statusText, res.body, this.callSecrets(ticket));
    } catch (err) {
      if (err instanceof PveApiError && res.retryAfter !== undefined) throw new PveApiError(err.status, err.reason, err.errors, parseRetryAfterMs(res.retryAfter));
      throw err;
    }
  }

  /** The credential values a call may carry (and an echo may quote back). */
  private callSecrets(ticket?: Ticket): string[] {
    const auth = this.opts.auth;
    if (auth.kind === "token") return [reveal(auth.secret)];
    const t = ticket ?? this.ticket;
    return [reveal(auth.password), ...(t ? [t.ticket, t.csrf] : [])];
  }

  private async send(method: "GET" | "POST" | "PUT" | "DELETE", path: string, params: Params, signal: AbortSignal) {
    const headers: Record<string, string> = { accept: "application/json" };
    const auth = this.opts.auth;
    let ticket: Ticket | undefined;
    if (auth.kind === "token") {
      headers.authorization = `PVEAPIToken=${auth.tokenId}=${reveal(auth.secret)}`;
    } else {
      ticket = await this.currentTicket(signal);
      headers.cookie = `PVEAuthCookie=${encodeURIComponent(ticket.ticket)}`;
      if (method !== "GET") headers.csrfpreventiontoken = ticket.csrf;
    }
    const form = encodeForm(params);
    const inBody = method === "POST" || method === "PUT";
    const url = `${this.opts.baseUrl}${path}${!inBody && form ? `?${form}` : ""}`;
    if (inBody) headers["content-type"] = "application/x-www-form-urlencoded";
    return { res: await this.transport(method, url, headers, inBody ? form : undefined, signal), ticket };
  }

  private async transport(method: "GET" | "POST" | "PUT" | "DELETE", url: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal) {
    try {
      return await this.opts.transport.send({ method, url, headers, body, signal });
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      if (err instanceof TlsVerificationError) {
        throw unavailable(`TLS verification of the Proxmox API failed (${err.reason}): ${scrubUpstream(err.message, { maxBytes: 200, also: this.callSecrets() })}; trust the cluster CA with PROXMOX_CA_FILE or pin the certificate with PROXMOX_FINGERPRINT`, { cloudCode: err.reason });
      }
      const code = String((err as { code?: string }).code ?? (err as Error).name ?? "error");
      throw unavailable(`cannot reach the Proxmox API (${code})`, { cloudCode: code });
    }
  }

  private async currentTicket(signal: AbortSignal): Promise<Ticket> {
    const auth = this.opts.auth;
    if (this.ticket && auth.kind === "ticket" && secretVersion(auth.password) !== this.ticket.passwordVersion) {
      // The password was rotated: log in with the new one now rather than
      // when the old ticket expires (PVE keeps old tickets valid). Calls that
      // already sent the old ticket finish with it.
      this.opts.log.info("credentials changed: logging in to Proxmox again", {});
      this.ticket = undefined;
    }
    if (this.ticket && this.now() - this.ticket.obtainedAt < TICKET_RENEW_MS) return this.ticket;
    if (!this.login) {
      this.login = this.doLogin(signal).finally(() => (this.login = undefined));
    }
    return this.login;
  }

  private async doLogin(signal: AbortSignal): Promise<Ticket> {
    const auth = this.opts.auth;
    if (auth.kind !== "ticket") throw new Error("login without a password");
    const passwordVersion = secretVersion(auth.password);
    const res = await this.transport(
      "POST",
      `${this.opts.baseUrl}/access/ticket`,
      { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      encodeForm({ username: auth.username, password: reveal(auth.password) }),
      signal,
    );
    this.loginCount++;
    if (res.status === 401 || res.status === 403) {
      throw unauthenticated(`Proxmox rejected the login of ${auth.username} (check PROXMOX_USER, PROXMOX_REALM and PROXMOX_PASSWORD)`, { cloudCode: String(res.status) });
    }
    const data = unwrap<{ ticket?: string; CSRFPreventionToken?: string }>(res.status, res.statusText, res.body, [reveal(auth.password)]);
    if (!data?.ticket || !data.CSRFPreventionToken) throw unavailable("the Proxmox login answer held no ticket");
    // Credentials of this process from now on: gone from every error and log line.
    rememberSessionSecret(data.ticket);
    rememberSessionSecret(data.CSRFPreventionToken);
    this.ticket = { ticket: data.ticket, csrf: data.CSRFPreventionToken, obtainedAt: this.now(), passwordVersion };
    this.opts.log.debug("proxmox ticket obtained", { user: auth.username });
    return this.ticket;
  }
}

function encodeForm(params: Params): string {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    out.append(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  return out.toString();
}

function unwrap<T>(status: number, statusText: string, body: string, secrets: string[]): T {
  let parsed: { data?: T; errors?: Record<string, string>; message?: string } | undefined;
  try {
    parsed = body ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  if (status >= 200 && status < 300) {
    if (!parsed || typeof parsed !== "object" || !("data" in parsed)) throw unavailable(`the Proxmox API answered ${status} without a JSON {"data": ...} body`);
    return parsed.data as T;
  }
  const clean = (text: string, maxBytes: number) => scrubUpstream(text, { maxBytes, also: secrets });
  const errors: Record<string, string> = {};
  if (parsed?.errors && typeof parsed.errors === "object") {
    // At most 20 parameters quoted: a hostile body cannot make the reason (or the work) large.
    for (const [k, v] of Object.entries(parsed.errors).slice(0, 20)) errors[clean(k, 64)] = clean(String(v).trim(), 200);
  }
  const detail = Object.entries(errors).map(([k, v]) => `${k}: ${v}`).join("; ");
  const phrase = clean(statusText || (typeof parsed?.message === "string" ? parsed.message : ""), 300);
  const reason = clean([phrase, detail].filter(Boolean).join(" - ") || `HTTP ${status}`, 400);
  throw new PveApiError(status, reason, errors);
}

/** What PVE's reason phrase says that its status does not (PVE answers 500 for most refusals). */
function hintFor(status: number, reason: string): CloudHint | undefined {
  if (status === 404 || /does not exist|no such (vm|container|node|task)|not found/i.test(reason)) return "not_found";
  if (LOCK_MESSAGE.test(reason)) return "busy";
  if (status === 595 || status === 596) return "busy";
  if (/not running|already running|is running|is a template/i.test(reason)) return "wrong_state";
  // PVE's 400 is "parameter verification failed" about its own parameters, which the
  // backend built: never a field of the caller's request, whoever is blamed.
  if (status === 400) return "wrong_state";
  if (status === 500) return "failed";
  return undefined;
}

/** PVE status codes and messages -> the boundary's error vocabulary (shared/cloud/http-status.ts). */
export function mapPveError(err: unknown, signal?: AbortSignal, blame: Blame = "caller"): unknown {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) return abortError(signal);
  if (!(err instanceof PveApiError)) return err;
  const { status, reason } = err;
  const error = httpError({ status, service: "Proxmox", message: reason, blame, hint: hintFor(status, reason), retryAfterMs: err.retryAfterMs });
  // The lock is what the retry policy looks for (pveRetryVerdict).
  if (LOCK_MESSAGE.test(reason)) return new ProviderError(error.code, `${error.message}; the guest is locked by another task: retry later`, { ...error.details, cloudCode: "lock" });
  return error;
}

/** Kept under this name for tasks.ts. */
export const sleep = abortableSleep;
