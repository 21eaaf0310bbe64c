// An authenticated session: finds the service's endpoint in the token's
// catalog, sends the token, and when a service answers 401 (the token was
// revoked or expired early) renews it once and repeats the call.
import type { Logger } from "../../shared/log";
import { findEndpoint, type Identity, type Token } from "./identity";
import { httpInfo, type HttpResponse, type RequestOptions, type Transport } from "./http";

export interface ServiceCall extends Omit<RequestOptions, "service" | "log"> {
  /** Extra query parameters; arrays repeat the key. */
  query?: Record<string, string | number | string[] | undefined>;
}

export class Session {
  constructor(
    readonly identity: Identity,
    readonly http: Transport,
    readonly iface: string,
    readonly log?: Logger,
  ) {}

  async endpoint(type: string, region: string, signal: AbortSignal): Promise<string> {
    const token = await this.identity.current(signal);
    return findEndpoint(token.catalog, type, region, this.iface);
  }

  /**
   * Calls `path` (relative to the service endpoint, or an absolute URL such
   * as a servers_links "next" href) of service `type` in `region`.
   */
  async call<T = any>(type: string, region: string, path: string, call: ServiceCall, service = type): Promise<HttpResponse<T>> {
    let token = await this.identity.current(call.signal);
    const send = (t: Token) => {
      const url = buildUrl(/^https?:\/\//.test(path) ? path : findEndpoint(t.catalog, type, region, this.iface) + path, call.query);
      return this.http.request<T>(url, { ...call, service, log: this.log, region: call.region ?? region, headers: { ...call.headers, "X-Auth-Token": t.value } });
    };
    try {
      return await send(token);
    } catch (err) {
      if (httpInfo(err)?.status !== 401) throw err;
      this.log?.info("openstack rejected the token; renewing it once", { service });
      token = await this.identity.renewAfterRejection(token, call.signal);
      return send(token);
    }
  }
}

export function buildUrl(base: string, query?: ServiceCall["query"]): string {
  if (!query) return base;
  const url = new URL(base);
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item);
    else url.searchParams.set(k, String(v));
  }
  return url.toString();
}
