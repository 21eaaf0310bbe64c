// Many tenants, one provider: the flags, and the assembly of the pieces
// (document checks, endpoint allow-list, fingerprints, backend cache, the
// routing backend the service layer sees, the per-call resolver).
import { ConfigError, num, str, type FlagSpec, type Settings } from "../config";
import type { Logger } from "../log";
import type { CloudBackend } from "../provider";
import type { ProviderMetrics } from "../telemetry/metrics";
import { BackendCache } from "./backend-cache";
import { EndpointPolicy, parseEndpointPatterns, type OwnAddress } from "./endpoint-policy";
import { TenantFingerprints } from "./fingerprint";
import { TenantResolver, type TenantBuild } from "./resolver";
import { RoutingBackend } from "./routing-backend";
import type { TenantCredentialSpec } from "./spec";

export { TenantResolver } from "./resolver";
export type { TenantCredentialSpec } from "./spec";

export const TENANCY_FLAGS: FlagSpec[] = [
  {
    name: "per-call-credentials",
    kind: "boolean",
    env: "SKYCLUST_PER_CALL_CREDENTIALS",
    default: false,
    help: 'accept cloud credentials per call in metadata "x-skyclust-credentials" (TLS or loopback only)',
  },
  {
    name: "allowed-endpoints",
    kind: "string",
    env: "SKYCLUST_ALLOWED_ENDPOINTS",
    help: "endpoints per-call credentials may name: SCHEME://HOST[:PORT] or HOST[:PORT] with * wildcards, or CIDR ranges, comma-separated (default: the cloud's public endpoints)",
  },
  { name: "tenant-cache-size", kind: "number", env: "SKYCLUST_TENANT_CACHE_SIZE", default: 256, help: "tenants whose cloud clients are kept (least recently used go first)" },
  { name: "tenant-cache-idle-seconds", kind: "number", env: "SKYCLUST_TENANT_CACHE_IDLE_SECONDS", default: 900, help: "a tenant's cloud clients are closed after this long unused" },
];


export interface Tenancy {
  backend: RoutingBackend;
  resolver: TenantResolver;
  cache: BackendCache;
  /** Tells the endpoint policy where this provider listens, once it does. */
  listening(address: OwnAddress): void;
}

export function createTenancy(opts: {
  provider: string;
  mode: "sandbox" | "cloud";
  spec: TenantCredentialSpec;
  settings: Settings;
  own?: CloudBackend;
  defaultRegion: string;
  log: Logger;
  metrics?: ProviderMetrics;
  build(b: TenantBuild): Promise<CloudBackend>;
}): Tenancy {
  const max = num(opts.settings, "tenant-cache-size") ?? 256;
  const idleSeconds = num(opts.settings, "tenant-cache-idle-seconds") ?? 900;
  if (!Number.isInteger(max) || max < 1 || max > 100_000) throw new ConfigError("--tenant-cache-size: expected 1 to 100000");
  if (!(idleSeconds > 0)) throw new ConfigError("--tenant-cache-idle-seconds: expected a positive number");
  let patterns;
  try {
    patterns = parseEndpointPatterns(str(opts.settings, "allowed-endpoints") ?? opts.spec.defaultAllowedEndpoints.join(","));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  let own: OwnAddress | undefined;
  const cache = new BackendCache({ max, idleMs: idleSeconds * 1000, events: opts.metrics?.tenantCache() });
  const backend = new RoutingBackend(opts.provider, opts.mode, { defaultRegion: opts.defaultRegion, tagLimits: opts.spec.tagLimits }, opts.own, () => cache.closeAll());
  const resolver = new TenantResolver({
    spec: opts.spec,
    tls: Boolean(str(opts.settings, "tls-cert")),
    own: opts.own,
    cache,
    policy: new EndpointPolicy(patterns, () => own),
    fingerprints: new TenantFingerprints(),
    log: opts.log,
    build: opts.build,
  });
  return { backend, resolver, cache, listening: (a) => (own = a) };
}
