// The Proxmox VE provider: flags, credentials and the backend factory.
import { str, type Settings } from "../../shared/config";
import type { ProviderDefinition } from "../../shared/definition";
import { proxmoxSandboxProfile } from "./sandbox-profile";

export const proxmoxProvider: ProviderDefinition = {
  name: "proxmox",
  displayName: "Proxmox VE",
  defaultPort: 50054,
  flags: [
    { name: "pve-host", kind: "string", env: "PROXMOX_HOST", help: "host, host:port or https URL of the API" },
    { name: "pve-user", kind: "string", env: "PROXMOX_USER", help: "user name (without realm)" },
    { name: "pve-password", kind: "string", env: "PROXMOX_PASSWORD", secret: true, help: "password" },
    { name: "pve-realm", kind: "string", env: "PROXMOX_REALM", default: "pve", help: "authentication realm" },
    { name: "region", kind: "string", env: "PROXMOX_NODE", default: "pve1", help: "default node (sandbox)" },
  ],
  missingCredentials(settings: Settings) {
    const missing: string[] = [];
    if (!str(settings, "pve-host")) missing.push("PROXMOX_HOST");
    if (!str(settings, "pve-user")) missing.push("PROXMOX_USER");
    if (!str(settings, "pve-password")) missing.push("PROXMOX_PASSWORD");
    return missing;
  },
  sandboxProfile: (settings) => proxmoxSandboxProfile(str(settings, "region") ?? "pve1"),
  async createCloudBackend() {
    throw new Error("the real Proxmox VE backend is not part of this build yet; use --sandbox");
  },
};
