// Per-call credentials for Proxmox VE: the PROXMOX_* variables that name an
// identity (a ticket login or an API token), its host and default node, and
// the pool its clones join. File paths (PROXMOX_CA_FILE, state and catalog
// files) and PROXMOX_INSECURE stay the operator's: a caller never makes the
// provider read a file or drop certificate checks.
import { join } from "node:path";
import type { TenantCredentialSpec } from "../../shared/tenancy/spec";
import { parsePveHost } from "./endpoint";
import { PROXMOX_TAG_LIMITS } from "./tag-limits";

export const proxmoxTenancy: TenantCredentialSpec = {
  keys: [
    "PROXMOX_HOST",
    "PROXMOX_USER",
    "PROXMOX_PASSWORD",
    "PROXMOX_REALM",
    "PROXMOX_TOKEN_ID",
    "PROXMOX_TOKEN_SECRET",
    "PROXMOX_FINGERPRINT",
    "PROXMOX_NODE",
    "PROXMOX_POOL",
  ],
  inherit: ["PROXMOX_HOST", "PROXMOX_FINGERPRINT", "PROXMOX_REALM", "PROXMOX_NODE"],
  secrets: ["PROXMOX_PASSWORD", "PROXMOX_TOKEN_SECRET"],
  identities: [
    ["PROXMOX_TOKEN_ID", "PROXMOX_TOKEN_SECRET"],
    ["PROXMOX_USER", "PROXMOX_PASSWORD"],
  ],
  endpoints: (creds) => (creds.PROXMOX_HOST ? [{ key: "PROXMOX_HOST", url: parsePveHost(creds.PROXMOX_HOST).baseUrl }] : []),
  // Proxmox has no public endpoint: a tenant's own host must be allowed by the operator.
  defaultAllowedEndpoints: [],
  async scope(settings, tenant) {
    // Key pairs live in the tenant's cluster (keystore.ts); a state directory
    // per tenant only matters for importing an earlier release's file.
    const { stateDirFromSettings } = await import("./factory");
    const dir = stateDirFromSettings(settings);
    if (dir) settings["pve-state-dir"] = join(dir, "tenants", tenant);
  },
  tagLimits: PROXMOX_TAG_LIMITS,
};
