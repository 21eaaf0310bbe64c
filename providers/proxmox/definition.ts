// The Proxmox VE provider: flags, credentials and the backend factory.
import { str, type Settings } from "../../shared/config";
import type { ProviderDefinition } from "../../shared/definition";
import { RATE_CARD_FLAGS } from "../../shared/pricing";
import { proxmoxSandboxProfile } from "./sandbox-profile";
import { proxmoxIdentity } from "./provider-id";
import { proxmoxTenancy } from "./tenancy";

export const proxmoxProvider: ProviderDefinition = {
  ...proxmoxIdentity,
  flags: [
    { name: "pve-host", kind: "string", env: "PROXMOX_HOST", help: "host, host:port or https URL of the API (port 8006 by default)" },
    { name: "pve-user", kind: "string", env: "PROXMOX_USER", help: 'user name, "root" or "root@pam" (realm from --pve-realm when absent)' },
    { name: "pve-password", kind: "string", env: "PROXMOX_PASSWORD", secret: true, help: "password for ticket login" },
    { name: "pve-realm", kind: "string", env: "PROXMOX_REALM", default: "pve", help: "authentication realm (pve, pam, ...)" },
    { name: "pve-token-id", kind: "string", env: "PROXMOX_TOKEN_ID", help: 'API token id, "USER@REALM!NAME" or "NAME" with --pve-user (instead of a password)' },
    { name: "pve-token-secret", kind: "string", env: "PROXMOX_TOKEN_SECRET", secret: true, help: "API token secret (UUID)" },
    { name: "pve-ca-file", kind: "string", env: "PROXMOX_CA_FILE", help: "trust this CA (PEM), e.g. a copy of /etc/pve/pve-root-ca.pem" },
    { name: "pve-fingerprint", kind: "string", env: "PROXMOX_FINGERPRINT", help: "pin the API certificate by its SHA-256 fingerprint (AA:BB:... as the PVE GUI shows it)" },
    { name: "pve-insecure", kind: "boolean", env: "PROXMOX_INSECURE", default: false, help: "do NOT verify the API certificate (logs a warning; for labs only)" },
    { name: "region", kind: "string", env: "PROXMOX_NODE", help: 'default region: a node name, or "cluster" for every node (the default; sandbox: pve1)' },
    { name: "pve-state-dir", kind: "string", env: "PROXMOX_STATE_DIR", help: "directory for the key pair store (default $XDG_STATE_HOME or ~/.local/state, /skyclust-proxmox)" },
    { name: "pve-size-catalog", kind: "string", env: "PROXMOX_SIZE_CATALOG", help: 'JSON file of sizes: {"small": {"vcpus": 1, "memoryGiB": 1, "diskGiB": 10}, ...}' },
    { name: "pve-clone-mode", kind: "string", env: "PROXMOX_CLONE_MODE", default: "linked", help: "clone templates as linked (fast, shares the base disk) or full copies" },
    { name: "pve-pool", kind: "string", env: "PROXMOX_POOL", help: "resource pool every clone joins (scope a token to its pool to keep tenants apart)" },
    { name: "pve-storage", kind: "string", env: "PROXMOX_STORAGE", help: "target storage for full clones (default: the template's)" },
    { name: "pve-ipconfig", kind: "string", env: "PROXMOX_IPCONFIG", default: "ip=dhcp", help: "cloud-init ipconfig0 when a request names no subnet_id" },
    { name: "pve-ci-user", kind: "string", env: "PROXMOX_CI_USER", help: "cloud-init user set on every clone (also the SSH login hint)" },
    { name: "pve-task-poll-ms", kind: "number", env: "PROXMOX_TASK_POLL_MS", default: 500, help: "first delay between task status polls (grows to 3 s)" },
    { name: "pve-lock-retries", kind: "number", env: "PROXMOX_LOCK_RETRIES", default: 4, help: "retries of a call that hit \"can't lock file\"" },
    { name: "pve-lock-retry-ms", kind: "number", env: "PROXMOX_LOCK_RETRY_MS", default: 500, help: "first back-off before a lock retry (doubles)" },
    { name: "pve-agent-timeout-ms", kind: "number", env: "PROXMOX_AGENT_TIMEOUT_MS", default: 3000, help: "time budget of one guest-agent IP query" },
    ...RATE_CARD_FLAGS,
  ],
  helpFooter: [
    "Proxmox credentials: PROXMOX_HOST plus either PROXMOX_USER + PROXMOX_PASSWORD (ticket login)",
    "or PROXMOX_TOKEN_ID + PROXMOX_TOKEN_SECRET (API token); the secrets also as PROXMOX_PASSWORD_FILE /",
    "PROXMOX_TOKEN_SECRET_FILE, re-read when they change. TLS is verified: use PROXMOX_CA_FILE",
    "or PROXMOX_FINGERPRINT for the self-signed certificate Proxmox ships.",
  ].join("\n"),
  missingCredentials(settings: Settings) {
    const missing: string[] = [];
    if (!str(settings, "pve-host")) missing.push("PROXMOX_HOST");
    const token = str(settings, "pve-token-id") || str(settings, "pve-token-secret");
    if (token) {
      if (!str(settings, "pve-token-id")) missing.push("PROXMOX_TOKEN_ID");
      if (!str(settings, "pve-token-secret")) missing.push("PROXMOX_TOKEN_SECRET");
      if (str(settings, "pve-token-id") && !str(settings, "pve-token-id")!.includes("!") && !str(settings, "pve-user")) missing.push("PROXMOX_USER");
    } else {
      if (!str(settings, "pve-user")) missing.push("PROXMOX_USER");
      if (!str(settings, "pve-password")) missing.push("PROXMOX_PASSWORD (or PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET)");
    }
    return missing;
  },
  tenancy: proxmoxTenancy,
  sandboxProfile: (settings) => proxmoxSandboxProfile(str(settings, "region") ?? "pve1"),
  async createCloudBackend(settings, log, secrets) {
    const { createProxmoxBackend } = await import("./factory");
    return createProxmoxBackend(settings, log, secrets);
  },
};
