// Builds the Proxmox backend from settings (flags/environment). Loaded
// lazily by definition.ts, so --help and --sandbox never read certificates,
// state files or catalogs.
import { healthTimeoutMs } from "../../shared/cloud/health-probe";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError, bool, num, str, type Settings } from "../../shared/config";
import type { Logger } from "../../shared/log";
import type { Secrets } from "../../shared/secrets";
import { loadRateCard } from "../../shared/pricing";
import { CLUSTER_REGION, ProxmoxBackend } from "./backend";
import { PveClient, type PveAuth } from "./client";
import { parsePveHost } from "./endpoint";
import { KeyPairStore } from "./keystore";
import { readLegacyKeyPairs } from "./legacy-keystore";
import { DEFAULT_SIZES, SizeCatalog } from "./sizes";
import { createTransport } from "./transport";

/** "root" + realm "pam" -> "root@pam"; a user that names its realm is kept. */
export function qualifiedUser(user: string, realm: string): string {
  return user.includes("@") ? user : `${user}@${realm}`;
}

/** `secrets` (when given) supplies live values, so a rotated PROXMOX_*_FILE is used on the next call. */
export function authFromSettings(settings: Settings, secrets?: Secrets): PveAuth {
  const realm = str(settings, "pve-realm") ?? "pve";
  const user = str(settings, "pve-user");
  const tokenId = str(settings, "pve-token-id");
  const tokenSecret = str(settings, "pve-token-secret");
  if (tokenId || tokenSecret) {
    if (!tokenId || !tokenSecret) throw new ConfigError("PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET go together");
    const secret = secrets?.get("pve-token-secret") ?? tokenSecret;
    if (tokenId.includes("!")) return { kind: "token", tokenId, secret };
    if (!user) throw new ConfigError('PROXMOX_TOKEN_ID without "USER@REALM!" needs PROXMOX_USER');
    return { kind: "token", tokenId: `${qualifiedUser(user, realm)}!${tokenId}`, secret };
  }
  const password = str(settings, "pve-password");
  if (!user || !password) throw new ConfigError("set PROXMOX_USER and PROXMOX_PASSWORD, or PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET");
  return { kind: "ticket", username: qualifiedUser(user, realm), password: secrets?.get("pve-password") ?? password };
}

/** Undefined when no directory can be named: then there is no earlier key pair file to import. */
export function stateDirFromSettings(settings: Settings, env: Record<string, string | undefined> = process.env): string | undefined {
  const explicit = str(settings, "pve-state-dir");
  if (explicit) return explicit;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, "skyclust-proxmox");
  const home = env.HOME || homedir();
  if (!home) return undefined;
  return join(home, ".local", "state", "skyclust-proxmox");
}

export async function createProxmoxBackend(settings: Settings, log: Logger, secrets?: Secrets): Promise<ProxmoxBackend> {
  const endpoint = parsePveHost(str(settings, "pve-host") ?? "");
  const transport = createTransport({ caFile: str(settings, "pve-ca-file"), fingerprint: str(settings, "pve-fingerprint"), insecure: bool(settings, "pve-insecure") });
  if (transport.tlsMode === "insecure") {
    log.warn("PROXMOX_INSECURE is set: the Proxmox API certificate is NOT verified; anyone on the network path can read the credentials. Use PROXMOX_CA_FILE or PROXMOX_FINGERPRINT instead.", { host: endpoint.host });
  }
  const auth = authFromSettings(settings, secrets);
  const client = new PveClient({
    baseUrl: endpoint.baseUrl,
    auth,
    transport,
    log,
    lockRetries: num(settings, "pve-lock-retries") ?? 4,
    lockRetryDelayMs: num(settings, "pve-lock-retry-ms") ?? 500,
  });
  const catalogFile = str(settings, "pve-size-catalog");
  const sizes = catalogFile ? SizeCatalog.fromFile(catalogFile) : new SizeCatalog(DEFAULT_SIZES);
  const cloneMode = str(settings, "pve-clone-mode") ?? "linked";
  if (cloneMode !== "linked" && cloneMode !== "full") throw new ConfigError(`PROXMOX_CLONE_MODE: expected linked or full, got "${cloneMode}"`);
  // Key pairs live in the cluster (keystore.ts); the state directory only
  // matters when it still holds an earlier release's keypairs.json to import.
  const stateDir = stateDirFromSettings(settings);
  const keyStore = new KeyPairStore(client, CLUSTER_REGION, log, stateDir ? readLegacyKeyPairs(stateDir) : [], str(settings, "pve-pool"));
  const pollMs = Math.max(10, num(settings, "pve-task-poll-ms") ?? 500);
  const backend = new ProxmoxBackend({
    client,
    log,
    sizes,
    keyStore,
    rateCard: loadRateCard(settings),
    defaultRegion: str(settings, "region") ?? CLUSTER_REGION,
    cloneMode,
    storage: str(settings, "pve-storage"),
    pool: str(settings, "pve-pool"),
    ipConfig: str(settings, "pve-ipconfig") ?? "ip=dhcp",
    ciUser: str(settings, "pve-ci-user"),
    taskPolling: { intervalMs: pollMs, maxIntervalMs: Math.max(pollMs, 3000) },
    agentTimeoutMs: num(settings, "pve-agent-timeout-ms") ?? 3000,
    cloneRetries: 3,
    healthTimeoutMs: healthTimeoutMs(settings),
    tlsMode: transport.tlsMode,
    endpoint: `${endpoint.host}:${endpoint.port}`,
  });
  log.info("proxmox backend ready", { endpoint: `${endpoint.host}:${endpoint.port}`, auth: auth.kind, tls: transport.tlsMode, state_dir: stateDir, default_region: backend.defaultRegion });
  return backend;
}
