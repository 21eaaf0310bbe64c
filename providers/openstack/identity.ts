// Keystone v3: password or application-credential auth, a token cache that
// renews before expires_at (and once when a service answers 401), with all
// concurrent callers sharing one renewal, and endpoint lookup in the token's
// service catalog by type, region and interface.
import { abortError, invalidArgument, ProviderError, unauthenticated } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import { rememberSessionSecret } from "../../shared/cloud/scrub";
import { reveal, secretVersion, type SecretValue } from "../../shared/secrets";
import type { AuthMethod, OpenStackConfig } from "./cloud-config";
import { httpInfo, type Transport } from "./http";
import { quote } from "../../shared/quote";

export interface CatalogEndpoint {
  url: string;
  interface: string;
  region?: string;
  region_id?: string;
  id?: string;
}

export interface CatalogService {
  type: string;
  name?: string;
  id?: string;
  endpoints: CatalogEndpoint[];
}

export interface Token {
  /** The X-Subject-Token value. Never logged, never in an error. */
  value: string;
  expiresAt: Date;
  issuedAt?: Date;
  /**
   * expires_at on this machine's clock: issue time here plus the lifetime
   * Keystone granted, so a skewed local clock neither renews on every call
   * nor uses a dead token.
   */
  localExpiresAtMs: number;
  catalog: CatalogService[];
  projectId?: string;
  projectName?: string;
  userId?: string;
  userName?: string;
  roles: string[];
}

export interface IdentityOptions {
  /** Renew this long before expires_at (default 5 min, at most half the lifetime). */
  renewBeforeMs?: number;
  /** Upper bound of one auth request, independent of any one caller. */
  authTimeoutMs?: number;
  now?: () => number;
  log?: Logger;
}

/** The body of POST /v3/auth/tokens. Holds the secret: never log it. */
export function authRequestBody(auth: AuthMethod): object {
  if (auth.kind === "application_credential") {
    // An application credential is bound to its project: no scope allowed.
    return { auth: { identity: { methods: ["application_credential"], application_credential: { id: auth.id, secret: reveal(auth.secret) } } } };
  }
  const domain = (id?: string, name?: string) => (id ? { id } : { name });
  const user = auth.userId
    ? { id: auth.userId, password: reveal(auth.password) }
    : { name: auth.username, domain: domain(auth.userDomainId, auth.userDomainName), password: reveal(auth.password) };
  const project = auth.projectId ? { id: auth.projectId } : { name: auth.projectName, domain: domain(auth.projectDomainId, auth.projectDomainName) };
  return { auth: { identity: { methods: ["password"], password: { user } }, scope: { project } } };
}

function tokensUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, "");
  // Users often give the bare Keystone root; the API lives under /v3.
  return /\/v3$/.test(base) ? `${base}/auth/tokens` : `${base}/v3/auth/tokens`;
}

export function identityBaseUrl(authUrl: string): string {
  return tokensUrl(authUrl).replace(/\/auth\/tokens$/, "");
}

const authSecret = (auth: AuthMethod): SecretValue => (auth.kind === "password" ? auth.password : auth.secret);

export class Identity {
  private token?: Token;
  /** The secret's version the cached token was bought with. */
  private tokenSecretVersion = 0;
  private renewal?: Promise<Token>;
  private readonly now: () => number;

  constructor(
    private readonly config: OpenStackConfig,
    private readonly http: Transport,
    private readonly opts: IdentityOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** A valid token, from the cache when it is not near expiry. */
  async current(signal: AbortSignal): Promise<Token> {
    const token = this.token;
    if (token && secretVersion(authSecret(this.config.auth)) !== this.tokenSecretVersion) {
      // The password or application credential was rotated: the old token
      // stays valid in Keystone, but the next call must prove the new secret
      // works (and stop using one the operator meant to retire). Calls that
      // already hold the old token finish with it.
      this.opts.log?.info("credentials changed: requesting a new keystone token", {});
      this.token = undefined;
      return this.renew(signal);
    }
    if (token && !this.nearExpiry(token)) return token;
    return this.renew(signal);
  }

  /**
   * Drops `stale` (the token a service just rejected with 401) and returns a
   * fresh one. Callers that saw the same stale token share one renewal; a
   * token someone else already renewed is returned as is.
   */
  async renewAfterRejection(stale: Token, signal: AbortSignal): Promise<Token> {
    if (this.token && this.token !== stale) return this.token;
    this.token = undefined;
    return this.renew(signal);
  }

  /** The cached token, if any, without renewing it. */
  cached(): Token | undefined {
    return this.token;
  }

  private nearExpiry(token: Token): boolean {
    const lifetime = token.issuedAt ? token.expiresAt.getTime() - token.issuedAt.getTime() : Infinity;
    const margin = Math.min(this.opts.renewBeforeMs ?? 5 * 60_000, lifetime / 2);
    return this.now() >= token.localExpiresAtMs - margin;
  }

  private renew(signal: AbortSignal): Promise<Token> {
    if (!this.renewal) {
      // One renewal for everyone: it runs on its own timeout so a caller that
      // gives up does not cancel it for the callers still waiting.
      this.renewal = this.authenticate(AbortSignal.timeout(this.opts.authTimeoutMs ?? 30_000))
        .then(({ token, secretVersionUsed }) => {
          this.tokenSecretVersion = secretVersionUsed;
          return (this.token = token);
        })
        .finally(() => (this.renewal = undefined));
    }
    const shared = this.renewal;
    if (signal.aborted) return Promise.reject(abortError(signal));
    return new Promise<Token>((resolve, reject) => {
      const onAbort = () => reject(abortError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      shared.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  private async authenticate(signal: AbortSignal): Promise<{ token: Token; secretVersionUsed: number }> {
    const secretVersionUsed = secretVersion(authSecret(this.config.auth));
    let res;
    try {
      res = await this.http.request(tokensUrl(this.config.authUrl), {
        method: "POST",
        body: authRequestBody(this.config.auth),
        signal,
        log: this.opts.log,
        service: "keystone",
        // Built from the configured credentials, not from any caller's input.
        blame: "provider",
        // Asking for a token has no side effect worth protecting.
        idempotent: true,
        // An echoing upstream must not hand the password back (clouds.yaml values are not settings the process remembers).
        secrets: [reveal(authSecret(this.config.auth))],
      });
    } catch (err) {
      const info = httpInfo(err);
      if (info?.status === 401) {
        // Keystone says only "requires authentication"; say what was tried.
        const how = this.config.auth.kind === "password" ? "the user name/password and project" : "the application credential";
        throw unauthenticated(`keystone rejected ${how} from the configured credentials${info.requestId ? ` (request id ${info.requestId})` : ""}`, {
          cloudRequestId: info.requestId,
          cloudCode: "401",
        });
      }
      // info.message was scrubbed by the transport (with this request's password).
      if (info?.status === 400) throw new ProviderError("UNAUTHENTICATED", `keystone refused the auth request: ${info.message}`, { cloudRequestId: info.requestId });
      throw err;
    }
    const value = res.headers.get("x-subject-token");
    // From now on the token is a credential of this process: gone from every error and log line.
    rememberSessionSecret(value ?? undefined);
    const t = res.body?.token;
    if (!value || !t) throw unauthenticated("keystone answered without a token (no X-Subject-Token header)");
    const requestedAt = this.now();
    const parsedExpiry = new Date(t.expires_at);
    const expiresAt = Number.isNaN(parsedExpiry.getTime()) ? new Date(requestedAt + 3600_000) : parsedExpiry;
    const issuedAt = t.issued_at && !Number.isNaN(new Date(t.issued_at).getTime()) ? new Date(t.issued_at) : undefined;
    const token: Token = {
      value,
      expiresAt,
      issuedAt,
      localExpiresAtMs: issuedAt ? requestedAt + (expiresAt.getTime() - issuedAt.getTime()) : expiresAt.getTime(),
      catalog: Array.isArray(t.catalog) ? t.catalog : [],
      projectId: t.project?.id,
      projectName: t.project?.name,
      userId: t.user?.id,
      userName: t.user?.name,
      roles: (t.roles ?? []).map((r: { name: string }) => r.name),
    };
    this.opts.log?.debug("keystone token issued", { expires_at: token.expiresAt.toISOString(), project: token.projectName ?? token.projectId, request_id: res.requestId });
    return { token, secretVersionUsed };
  }
}

/** Regions that offer `type` on `iface` in the catalog. */
export function catalogRegions(catalog: CatalogService[], type: string, iface: string): string[] {
  const regions = new Set<string>();
  for (const s of catalog) {
    if (s.type !== type) continue;
    for (const e of s.endpoints) if (e.interface === iface) regions.add(e.region_id ?? e.region ?? "");
  }
  regions.delete("");
  return [...regions].sort();
}

/** The endpoint URL of service `type` in `region` on interface `iface`. */
export function findEndpoint(catalog: CatalogService[], type: string, region: string, iface: string): string {
  const endpoints = catalog.filter((s) => s.type === type).flatMap((s) => s.endpoints);
  if (endpoints.length === 0) throw new ProviderError("FAILED_PRECONDITION", `the service catalog has no ${quote(type)} service`);
  const match = endpoints.find((e) => e.interface === iface && (e.region_id === region || e.region === region));
  if (match) return match.url.replace(/\/+$/, "");
  const offered = catalogRegions(catalog, type, iface);
  if (offered.length === 0) throw new ProviderError("FAILED_PRECONDITION", `the ${quote(type)} service has no ${iface} endpoint in the catalog`);
  throw invalidArgument("region", `no ${iface} ${quote(type)} endpoint in region ${quote(region)} (the catalog offers: ${offered.join(", ")})`);
}
