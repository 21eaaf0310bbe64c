// The capability vocabulary of GetProviderInfo: one fixed list of boolean
// keys that every provider (and the sandbox) reports, plus a few documented
// string extras with the same keys everywhere. Callers (and the conformance
// suite) decide from these keys what to expect of a provider, e.g.
// UNIMPLEMENTED or an ignored field, instead of parsing prose that drifted
// between clouds. The wire type is map<string,string>, so flags travel as
// "true"/"false". Keys are only ever added (contract v1 is additive).

/** Boolean capabilities, in the order GetProviderInfo documents them (README "Capabilities"). */
export const CAPABILITY_FLAGS = [
  // Instances
  "create_instance", // CreateInstance
  "wait_until_running", // CreateInstance honours wait_until_running
  "idempotent_create", // CreateInstance honours idempotency_key (and the idempotency-key header)
  "delete_instance", // DeleteInstance
  "start_stop", // StartInstance and StopInstance
  "stop_force", // StopInstance force=true powers off at once (false: force is accepted but stops like a normal stop)
  "restart", // RestartInstance
  "restart_force", // RestartInstance force=true is a hard reset (false: force is accepted but reboots like a normal restart)
  // Listing and regions
  "multi_region_listing", // ListInstances region "*"
  "list_all_regions_native", // region "*" is one cloud listing, not a fan-out over regions
  "region_zones", // ListRegions lists zones and CreateInstance accepts zone
  "filters_portable", // ListInstances filters status, name, type, tag:KEY
  "filters_native", // ListInstances passes the cloud's own filter names through
  // CreateInstance options that are applied (false: accepted and ignored)
  "public_ip",
  "root_volume", // root_volume_size / root_volume_type
  "security_groups",
  "network_placement", // vpc_id / subnet_id
  "user_data",
  // Key pairs
  "key_pairs", // ListKeyPairs and DeleteKeyPair
  "key_pairs_create", // CreateKeyPair
  "key_pairs_import", // ImportKeyPair
  "key_pair_tags", // key pairs keep their tags (false: a request with tags is UNIMPLEMENTED)
  // Prices
  "cost_estimates", // GetCostEstimate answers with a price (false: FAILED_PRECONDITION, e.g. no rate card)
  // SSH
  "ssh_config", // GetInstanceSSHConfig
  "ssh_exec", // ExecuteInstanceCommand
  "ssh_tunnels", // CreateInstanceSSHTunnel and CloseInstanceSSHTunnel
] as const;

export type CapabilityFlag = (typeof CAPABILITY_FLAGS)[number];

/**
 * What every backend does because the CloudBackend interface and the shared
 * layer require it (each RPC has a backend method; "*", portable filters and
 * SSH are served by the shared layer). A backend spreads these and declares
 * the rest itself, overriding one only where its cloud really differs.
 */
export const COMMON_CAPABILITIES = {
  create_instance: true,
  wait_until_running: true,
  idempotent_create: true,
  delete_instance: true,
  start_stop: true,
  restart: true,
  multi_region_listing: true,
  region_zones: true,
  filters_portable: true,
  key_pairs: true,
  key_pairs_create: true,
  key_pairs_import: true,
  ssh_config: true,
  ssh_exec: true,
  ssh_tunnels: true,
} as const satisfies Partial<Record<CapabilityFlag, boolean>>;

/** String capabilities every backend reports (documented values in README "Capabilities"). */
export const CAPABILITY_EXTRAS = [
  "idempotency_mechanism", // how the cloud side de-duplicates a create
  "key_pair_storage", // where key pairs live
  "price_source", // catalog, rate-card, demo-rate-card or none
] as const;

export type CapabilityExtra = (typeof CAPABILITY_EXTRAS)[number];

/** String capabilities the shared server adds for every provider. */
export const SERVER_CAPABILITY_KEYS = ["mode", "default_region", "reflection", "tls"] as const;

export type PriceSource = "catalog" | "rate-card" | "demo-rate-card" | "none";

/** What a backend reports: TypeScript makes a missing or unknown key a compile error. */
export interface Capabilities {
  flags: Record<CapabilityFlag, boolean>;
  extras: Record<CapabilityExtra, string> & { price_source: PriceSource };
  /**
   * Provider-specific facts for people (endpoint kind, auth kind, API
   * version, ...): informational, different per provider, never a key of
   * the vocabulary above (those win if one collides).
   */
  details?: Record<string, string>;
}

const RESERVED = new Set<string>([...CAPABILITY_FLAGS, ...CAPABILITY_EXTRAS, ...SERVER_CAPABILITY_KEYS]);

/** True for a key a backend's details may not use. */
export function isVocabularyKey(key: string): boolean {
  return RESERVED.has(key);
}

/** The wire form (map<string,string>): details first, so the vocabulary always wins. */
export function capabilitiesToWire(c: Capabilities): Record<string, string> {
  const wire: Record<string, string> = {};
  for (const [key, value] of Object.entries(c.details ?? {})) if (!RESERVED.has(key)) wire[key] = value;
  for (const key of CAPABILITY_FLAGS) wire[key] = c.flags[key] ? "true" : "false";
  for (const key of CAPABILITY_EXTRAS) wire[key] = c.extras[key];
  return wire;
}
