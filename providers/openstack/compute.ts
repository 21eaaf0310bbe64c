// Nova (compute API v2.1): microversion discovery per endpoint, the highest
// version both sides support sent on every call, and typed calls for the
// servers, flavors, key pairs and availability zones this provider uses.
import type { Session, ServiceCall } from "./session";

/** The newest microversion whose behaviour this client knows. */
export const MAX_KNOWN_MICROVERSION = "2.100";
export const MIN_MICROVERSION = "2.1";

/** Microversions whose features the backend switches on. */
export const FEATURES = {
  /** tags on servers, tags/tags-any filters */
  serverTags: "2.26",
  /** networks: "none" | "auto" required on create */
  networksNone: "2.37",
  /** the server shows its flavor (original_name, vcpus, ram) instead of an id */
  embeddedFlavor: "2.47",
  /** tags given at create */
  createTags: "2.52",
  /** block device volume_type */
  volumeType: "2.67",
  /** key pair type field */
  keypairType: "2.2",
  /** key pair list paging */
  keypairPaging: "2.35",
  /** Nova no longer generates key pairs: public_key is required */
  keypairImportOnly: "2.92",
} as const;

export type Microversion = { major: number; minor: number };

export function parseMicroversion(v: string): Microversion | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

export function compareMicroversions(a: string, b: string): number {
  const x = parseMicroversion(a)!;
  const y = parseMicroversion(b)!;
  return x.major - y.major || x.minor - y.minor;
}

/**
 * The highest microversion within both [server min, server max] and what
 * this client knows, or undefined when the server has no microversions
 * (a legacy v2.0 endpoint) or its range lies above ours.
 */
export function negotiateMicroversion(serverMin: string, serverMax: string): string | undefined {
  if (!parseMicroversion(serverMax)) return undefined;
  const max = compareMicroversions(serverMax, MAX_KNOWN_MICROVERSION) < 0 ? serverMax : MAX_KNOWN_MICROVERSION;
  const min = parseMicroversion(serverMin) ? serverMin : MIN_MICROVERSION;
  return compareMicroversions(max, min) < 0 ? undefined : max;
}

interface VersionDoc {
  id?: string;
  status?: string;
  version?: string;
  min_version?: string;
  links?: { href: string; rel: string }[];
}

/** Picks the version entry describing `endpoint` from GET / or GET endpoint answers. */
export function versionFromDiscovery(body: any, endpoint: string): VersionDoc | undefined {
  if (body?.version && typeof body.version === "object") return body.version;
  const list: VersionDoc[] = Array.isArray(body?.versions) ? body.versions : [];
  const path = new URL(endpoint).pathname.replace(/\/+$/, "");
  // Whole path segments: "/v2.1" is not under "/v2".
  const under = (href: string) => {
    const base = new URL(href).pathname.replace(/\/+$/, "");
    return path === base || path.startsWith(base + "/");
  };
  const byLink = list.find((v) => v.links?.some((l) => l.rel === "self" && under(l.href)));
  return byLink ?? list.find((v) => v.status === "CURRENT");
}

export interface NovaServer {
  id: string;
  name: string;
  status: string;
  created?: string;
  updated?: string;
  flavor: { id?: string; original_name?: string; vcpus?: number; ram?: number; disk?: number };
  image: { id?: string } | "" | null;
  addresses?: Record<string, { addr: string; version: number; "OS-EXT-IPS:type"?: string }[]>;
  metadata?: Record<string, string>;
  tags?: string[];
  key_name?: string | null;
  accessIPv4?: string;
  accessIPv6?: string;
  hostId?: string;
  locked?: boolean;
  fault?: { message?: string; code?: number };
  "OS-EXT-AZ:availability_zone"?: string;
  "OS-EXT-STS:task_state"?: string | null;
  "OS-EXT-STS:vm_state"?: string;
  "OS-EXT-STS:power_state"?: number;
  [key: string]: unknown;
}

export interface NovaFlavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  "OS-FLV-EXT-DATA:ephemeral"?: number;
}

export interface NovaKeypair {
  name: string;
  fingerprint: string;
  public_key?: string;
  type?: string;
  user_id?: string;
  created_at?: string;
  id?: number;
  private_key?: string;
}

export interface ServerPage {
  servers: NovaServer[];
  /**
   * The marker of the next page when Nova's servers_links says more follow.
   * Only the marker is taken from the link: its host is often an internal
   * name behind a proxy, so pages are always asked of the catalog endpoint.
   */
  nextMarker?: string;
}

const FLAVOR_CACHE_MS = 5 * 60_000;

export class Compute {
  private readonly versions = new Map<string, Promise<string | undefined>>();
  private readonly flavors = new Map<string, { at: number; list: Promise<NovaFlavor[]> }>();

  constructor(private readonly session: Session) {}

  /** The microversion used with `region`'s endpoint (discovered once, then cached). */
  async microversion(region: string, signal: AbortSignal): Promise<string | undefined> {
    const endpoint = await this.session.endpoint("compute", region, signal);
    let known = this.versions.get(endpoint);
    if (!known) {
      known = this.discover(region, endpoint, signal);
      this.versions.set(endpoint, known);
      // A failed discovery is retried by the next call, not cached.
      known.catch(() => this.versions.delete(endpoint));
    }
    return known;
  }

  async supports(region: string, feature: keyof typeof FEATURES, signal: AbortSignal): Promise<boolean> {
    const v = await this.microversion(region, signal);
    return v !== undefined && compareMicroversions(v, FEATURES[feature]) >= 0;
  }

  private async discover(region: string, endpoint: string, signal: AbortSignal): Promise<string | undefined> {
    let doc: VersionDoc | undefined;
    try {
      doc = versionFromDiscovery((await this.session.call("compute", region, "/", { signal, blame: "provider" }, "nova")).body, endpoint);
    } catch {
      // Endpoints with a project id in the path do not answer; the root does.
    }
    if (!doc?.version) {
      const root = new URL(endpoint).origin + "/";
      doc = versionFromDiscovery((await this.session.call("compute", region, root, { signal, blame: "provider" }, "nova")).body, endpoint);
    }
    return negotiateMicroversion(doc?.min_version ?? "", doc?.version ?? "");
  }

  /** Every Nova call: the negotiated microversion in both header spellings. */
  async call<T = any>(region: string, path: string, call: ServiceCall) {
    const v = await this.microversion(region, call.signal);
    const headers = v ? { "OpenStack-API-Version": `compute ${v}`, "X-OpenStack-Nova-API-Version": v, ...call.headers } : call.headers;
    return this.session.call<T>("compute", region, path, { ...call, headers }, "nova");
  }

  async listServers(region: string, query: Record<string, string | number | string[] | undefined>, signal: AbortSignal): Promise<ServerPage> {
    const res = await this.call<{ servers: NovaServer[]; servers_links?: { href: string; rel: string }[] }>(region, "/servers/detail", { signal, query });
    const servers = res.body?.servers ?? [];
    const next = res.body?.servers_links?.find((l) => l.rel === "next")?.href;
    if (!next || servers.length === 0) return { servers };
    let marker: string | null = null;
    try {
      marker = new URL(next, "http://x").searchParams.get("marker");
    } catch {
      // An unparsable link still means "more follow".
    }
    return { servers, nextMarker: marker ?? servers[servers.length - 1]!.id };
  }

  async getServer(region: string, id: string, signal: AbortSignal): Promise<NovaServer> {
    return (await this.call<{ server: NovaServer }>(region, `/servers/${encodeURIComponent(id)}`, { signal })).body.server;
  }

  async createServer(region: string, server: object, signal: AbortSignal, badRequestField = "request"): Promise<{ id: string }> {
    return (await this.call<{ server: { id: string } }>(region, "/servers", { method: "POST", body: { server }, signal, badRequestField })).body.server;
  }

  async deleteServer(region: string, id: string, signal: AbortSignal): Promise<void> {
    await this.call(region, `/servers/${encodeURIComponent(id)}`, { method: "DELETE", signal });
  }

  async serverAction(region: string, id: string, action: object, signal: AbortSignal): Promise<void> {
    await this.call(region, `/servers/${encodeURIComponent(id)}/action`, { method: "POST", body: action, signal });
  }

  /** Flavors the project can use, cached for a few minutes per region. */
  async listFlavors(region: string, signal: AbortSignal): Promise<NovaFlavor[]> {
    const cached = this.flavors.get(region);
    if (cached && Date.now() - cached.at < FLAVOR_CACHE_MS) return cached.list;
    const list = this.call<{ flavors: NovaFlavor[] }>(region, "/flavors/detail", { signal }).then((r) => r.body?.flavors ?? []);
    this.flavors.set(region, { at: Date.now(), list });
    list.catch(() => this.flavors.delete(region));
    return list;
  }

  async getFlavor(region: string, id: string, signal: AbortSignal): Promise<NovaFlavor> {
    return (await this.call<{ flavor: NovaFlavor }>(region, `/flavors/${encodeURIComponent(id)}`, { signal })).body.flavor;
  }

  async listKeypairs(region: string, signal: AbortSignal): Promise<NovaKeypair[]> {
    const paged = await this.supports(region, "keypairPaging", signal);
    const out: NovaKeypair[] = [];
    let marker: string | undefined;
    for (;;) {
      const res = await this.call<{ keypairs: { keypair: NovaKeypair }[] }>(region, "/os-keypairs", { signal, query: paged ? { limit: 100, marker } : undefined });
      const page = (res.body?.keypairs ?? []).map((k) => k.keypair);
      out.push(...page);
      if (!paged || page.length < 100) return out;
      marker = page[page.length - 1]!.name;
    }
  }

  async getKeypair(region: string, name: string, signal: AbortSignal): Promise<NovaKeypair> {
    return (await this.call<{ keypair: NovaKeypair }>(region, `/os-keypairs/${encodeURIComponent(name)}`, { signal })).body.keypair;
  }

  async createKeypair(region: string, keypair: object, signal: AbortSignal): Promise<NovaKeypair> {
    return (await this.call<{ keypair: NovaKeypair }>(region, "/os-keypairs", { method: "POST", body: { keypair }, signal, badRequestField: "public_key" })).body.keypair;
  }

  async deleteKeypair(region: string, name: string, signal: AbortSignal): Promise<void> {
    await this.call(region, `/os-keypairs/${encodeURIComponent(name)}`, { method: "DELETE", signal });
  }

  /** Availability zone names that are up in `region`. */
  async availabilityZones(region: string, signal: AbortSignal): Promise<string[]> {
    const res = await this.call<{ availabilityZoneInfo: { zoneName: string; zoneState?: { available: boolean } }[] }>(region, "/os-availability-zone", { signal });
    return (res.body?.availabilityZoneInfo ?? []).filter((z) => z.zoneState?.available !== false).map((z) => z.zoneName);
  }
}
