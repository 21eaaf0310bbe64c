// The SSH flags and the checked options they turn into. Misconfiguration
// is a ConfigError at start (exit 2), not a surprise at the first call.
import { replicaIdFrom } from "./replica-id";
import { existsSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import { ConfigError, bool, num, str, type FlagSpec, type Settings } from "../config";

export const SSH_FLAGS: FlagSpec[] = [
  { name: "ssh-user", kind: "string", env: "SKYCLUST_SSH_USER", help: "SSH login user for every instance (overrides instance tag ssh-user and image defaults)" },
  { name: "ssh-key-dir", kind: "string", env: "SKYCLUST_SSH_KEY_DIR", help: "directory of private keys named <key pair name> or <key pair name>.pem (mode 0600)" },
  {
    name: "ssh-keep-created-keys",
    kind: "boolean",
    env: "SKYCLUST_SSH_KEEP_CREATED_KEYS",
    default: false,
    help: "write private keys made by CreateKeyPair into --ssh-key-dir (0600) so the SSH RPCs can use them",
  },
  {
    name: "ssh-expose-private-keys",
    kind: "boolean",
    env: "SKYCLUST_SSH_EXPOSE_PRIVATE_KEYS",
    default: false,
    help: "let GetInstanceSSHConfig return private keys from the key directory to callers",
  },
  { name: "ssh-known-hosts", kind: "string", env: "SKYCLUST_SSH_KNOWN_HOSTS", help: "OpenSSH known_hosts file host keys are checked against (required to connect)" },
  {
    name: "ssh-trust-on-first-use",
    kind: "boolean",
    env: "SKYCLUST_SSH_TRUST_ON_FIRST_USE",
    default: false,
    help: "accept the key of a host not yet in --ssh-known-hosts and record it there (a changed key is still refused)",
  },
  { name: "ssh-bastion", kind: "string", env: "SKYCLUST_SSH_BASTION", help: "HOST[:PORT] of a bastion (jump host) every SSH connection goes through" },
  { name: "ssh-bastion-user", kind: "string", env: "SKYCLUST_SSH_BASTION_USER", help: "login user on the bastion" },
  { name: "ssh-bastion-key", kind: "string", env: "SKYCLUST_SSH_BASTION_KEY", help: "bastion private key: a name in --ssh-key-dir or an absolute path (default: the instance's key)" },
  { name: "ssh-connect-timeout-seconds", kind: "number", env: "SKYCLUST_SSH_CONNECT_TIMEOUT_SECONDS", default: 15, help: "time allowed to connect and authenticate" },
  { name: "ssh-command-timeout-seconds", kind: "number", env: "SKYCLUST_SSH_COMMAND_TIMEOUT_SECONDS", default: 60, help: "ExecuteInstanceCommand timeout when timeout_seconds is 0" },
  { name: "ssh-command-timeout-max-seconds", kind: "number", env: "SKYCLUST_SSH_COMMAND_TIMEOUT_MAX_SECONDS", default: 600, help: "largest timeout_seconds accepted" },
  { name: "ssh-output-max-bytes", kind: "number", env: "SKYCLUST_SSH_OUTPUT_MAX_BYTES", default: 1024 * 1024, help: "stdout and stderr are each cut to this many bytes of UTF-8 in the reply (flagged as truncated; bytes that are not UTF-8 arrive as U+FFFD, 3 bytes each)" },
  { name: "ssh-tunnel-bind-address", kind: "string", env: "SKYCLUST_SSH_TUNNEL_BIND_ADDRESS", default: "127.0.0.1", help: "address tunnels listen on (anything but loopback exposes the instance port to the network)" },
  { name: "ssh-tunnel-max", kind: "number", env: "SKYCLUST_SSH_TUNNEL_MAX", default: 16, help: "open tunnels allowed at once" },
  { name: "replica-id", kind: "string", env: "SKYCLUST_REPLICA_ID", help: "this replica's name in tunnel ids (default: POD_NAME, else the hostname)" },
  { name: "ssh-stream-tunnels-per-caller", kind: "number", env: "SKYCLUST_SSH_STREAM_TUNNELS_PER_CALLER", default: 8, help: "TunnelInstancePort streams one caller may hold open at once" },
  { name: "ssh-stream-tunnel-max-bytes", kind: "number", env: "SKYCLUST_SSH_STREAM_TUNNEL_MAX_BYTES", default: 1024 * 1024 * 1024, help: "bytes (both directions together) one TunnelInstancePort stream may carry" },
  { name: "ssh-tunnel-idle-seconds", kind: "number", env: "SKYCLUST_SSH_TUNNEL_IDLE_SECONDS", default: 900, help: "a tunnel that carried no bytes for this long is closed" },
];

export interface BastionOptions {
  host: string;
  port: number;
  username: string;
  /** Key name in the key directory or an absolute path; undefined: the instance's key. */
  key?: string;
}

export interface SshOptions {
  userOverride?: string;
  keyDir?: string;
  keepCreatedKeys: boolean;
  exposePrivateKeys: boolean;
  knownHostsFile?: string;
  trustOnFirstUse: boolean;
  bastion?: BastionOptions;
  connectTimeoutMs: number;
  defaultCommandTimeoutSeconds: number;
  maxCommandTimeoutSeconds: number;
  outputMaxBytes: number;
  tunnelBindAddress: string;
  tunnelMax: number;
  tunnelIdleMs: number;
  replicaId: string;
  streamTunnelsPerCaller: number;
  streamTunnelMaxBytes: number;
}

function positiveInt(settings: Settings, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = num(settings, name) ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new ConfigError(`--${name}: expected a whole number from 1 to ${max}, got ${v}`);
  return v;
}

export function parseBastion(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(value.trim());
  const port = m?.[2] ? Number(m[2]) : 22;
  if (!m || port < 1 || port > 65535) throw new ConfigError(`--ssh-bastion: expected HOST or HOST:PORT, got "${value}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

export function sshOptionsFromSettings(settings: Settings): SshOptions {
  const keyDir = str(settings, "ssh-key-dir");
  if (keyDir !== undefined && !(existsSync(keyDir) && statSync(keyDir).isDirectory())) {
    throw new ConfigError(`--ssh-key-dir: ${keyDir} is not a directory`);
  }
  const keepCreatedKeys = bool(settings, "ssh-keep-created-keys") ?? false;
  if (keepCreatedKeys && !keyDir) throw new ConfigError("--ssh-keep-created-keys needs --ssh-key-dir (where the keys are written)");
  const knownHostsFile = str(settings, "ssh-known-hosts");
  const trustOnFirstUse = bool(settings, "ssh-trust-on-first-use") ?? false;
  if (trustOnFirstUse && !knownHostsFile) throw new ConfigError("--ssh-trust-on-first-use needs --ssh-known-hosts (where first-seen keys are recorded)");

  let bastion: BastionOptions | undefined;
  const bastionAddr = str(settings, "ssh-bastion");
  const bastionUser = str(settings, "ssh-bastion-user");
  const bastionKey = str(settings, "ssh-bastion-key");
  if (bastionAddr) {
    if (!bastionUser) throw new ConfigError("--ssh-bastion needs --ssh-bastion-user");
    if (bastionKey && bastionKey.includes("/") && !isAbsolute(bastionKey)) throw new ConfigError("--ssh-bastion-key: give a key name or an absolute path");
    bastion = { ...parseBastion(bastionAddr), username: bastionUser, key: bastionKey };
  } else if (bastionUser || bastionKey) {
    throw new ConfigError("--ssh-bastion-user and --ssh-bastion-key need --ssh-bastion");
  }

  const maxCommandTimeoutSeconds = positiveInt(settings, "ssh-command-timeout-max-seconds", 600, 3600);
  const defaultCommandTimeoutSeconds = positiveInt(settings, "ssh-command-timeout-seconds", 60, 3600);
  if (defaultCommandTimeoutSeconds > maxCommandTimeoutSeconds) {
    throw new ConfigError("--ssh-command-timeout-seconds must not exceed --ssh-command-timeout-max-seconds");
  }
  return {
    userOverride: str(settings, "ssh-user"),
    keyDir,
    keepCreatedKeys,
    exposePrivateKeys: bool(settings, "ssh-expose-private-keys") ?? false,
    knownHostsFile,
    trustOnFirstUse,
    bastion,
    connectTimeoutMs: positiveInt(settings, "ssh-connect-timeout-seconds", 15, 600) * 1000,
    defaultCommandTimeoutSeconds,
    maxCommandTimeoutSeconds,
    outputMaxBytes: positiveInt(settings, "ssh-output-max-bytes", 1024 * 1024, 64 * 1024 * 1024),
    tunnelBindAddress: str(settings, "ssh-tunnel-bind-address") ?? "127.0.0.1",
    tunnelMax: positiveInt(settings, "ssh-tunnel-max", 16, 10_000),
    tunnelIdleMs: positiveInt(settings, "ssh-tunnel-idle-seconds", 900, 7 * 24 * 3600) * 1000,
    replicaId: replicaIdFrom(str(settings, "replica-id")),
    streamTunnelsPerCaller: positiveInt(settings, "ssh-stream-tunnels-per-caller", 8, 10_000),
    streamTunnelMaxBytes: positiveInt(settings, "ssh-stream-tunnel-max-bytes", 1024 * 1024 * 1024, 2 ** 50),
  };
}
