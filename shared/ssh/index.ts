// SSH access for the four SSH RPCs, the same for every cloud: the backend
// supplies the Instance (addresses, tags, key pair) and a login-user hint;
// this module resolves the target, the key and the host key policy, and
// runs commands and tunnels over ssh2 (pure JavaScript: it works under Bun
// and inside the compiled binary, nothing loaded from disk).
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Settings } from "../config";
import { ProviderError, failedPrecondition, invalidArgument, unavailable } from "../errors";
import type { Logger } from "../log";
import type { CallContext, Instance } from "../provider";
import { forwardOut, openConnection, type Hop, type HostKeyPolicy, type SshConnection } from "./connection";
import { runCommand } from "./exec";
import { KeyStore, readPrivateKeyFile } from "./key-store";
import { KnownHostsFile } from "./known-hosts";
import { SSH_FLAGS, sshOptionsFromSettings, type SshOptions } from "./settings";
import { TunnelManager } from "./tunnels";
import type { SshConfig, SshService } from "./types";
import { userFromTags } from "./users";
import { quote } from "../quote";
import type { SshCommandOutcome, SshMetrics, SshSessionKind } from "../telemetry/ssh-metrics";

/** Tenants whose key directories are remembered (each is a path, rebuilt on demand). */
const MAX_TENANT_KEY_STORES = 1024;

export { SSH_FLAGS };
export type { SshService } from "./types";

/** How a command ended, for skyclust_ssh_commands_total. */
function commandOutcome(result: { exitCode: number; timedOut: boolean; signal?: string }): SshCommandOutcome {
  if (result.timedOut) return "timed_out";
  if (result.signal) return "signal";
  return result.exitCode === 0 ? "exit_zero" : "exit_nonzero";
}

/** Logged instead of the command text: enough to correlate, not to read it. */
export function commandFingerprint(command: string): { command_sha256: string; command_bytes: number } {
  return { command_sha256: createHash("sha256").update(command).digest("hex").slice(0, 16), command_bytes: Buffer.byteLength(command) };
}

interface Target {
  host: string;
  port: number;
  username: string;
  keyPairName?: string;
}

function resolveTarget(opts: SshOptions, instance: Instance, req: { keyPairName?: string; userHint?: string }): Target {
  const host = instance.publicIp || instance.privateIp;
  if (!host) throw failedPrecondition(`instance ${instance.id} has no IP address (status ${instance.status})`);
  const rawPort = instance.extra?.ssh_port;
  const port = rawPort ? Number(rawPort) : 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw failedPrecondition(`instance ${instance.id} reports an invalid ssh_port ${quote(rawPort)}`);
  const username = opts.userOverride ?? userFromTags(instance.tags) ?? req.userHint ?? "root";
  return { host, port, username, keyPairName: req.keyPairName ?? instance.keyPairName };
}

export function createSshService(settings: Settings, log: Logger, metrics?: SshMetrics): SshService {
  const opts = sshOptionsFromSettings(settings);
  if (!/^(127\.|::1$|localhost$)/.test(opts.tunnelBindAddress)) {
    log.warn("ssh tunnels listen on a non-loopback address: anyone who can reach it reaches the instance port", { bind_address: opts.tunnelBindAddress });
  }
  if (opts.exposePrivateKeys) log.warn("GetInstanceSSHConfig returns private keys to callers (--ssh-expose-private-keys)");
  const keys = new KeyStore({ dir: opts.keyDir });
  // Each tenant (per-call credentials) has its own key directory under the
  // operator's, so one tenant can never log in with a key another created.
  const tenantKeys = new Map<string, KeyStore>();
  const keysFor = (ctx: CallContext): KeyStore => {
    if (!ctx.tenant) return keys;
    let store = tenantKeys.get(ctx.tenant);
    if (!store) {
      store = new KeyStore({ dir: opts.keyDir ? join(opts.keyDir, "tenants", ctx.tenant) : undefined });
      if (tenantKeys.size >= MAX_TENANT_KEY_STORES) tenantKeys.delete(tenantKeys.keys().next().value!);
      tenantKeys.set(ctx.tenant, store);
    }
    return store;
  };
  const hostKeys: HostKeyPolicy = {
    knownHosts: opts.knownHostsFile ? new KnownHostsFile(opts.knownHostsFile) : undefined,
    trustOnFirstUse: opts.trustOnFirstUse,
    onRecorded: (host, port, keyType) => log.warn("ssh: trusted a host key on first use", { host, port, key_type: keyType, known_hosts: opts.knownHostsFile }),
  };
  const tunnels = new TunnelManager({ max: opts.tunnelMax, idleMs: opts.tunnelIdleMs, bindAddress: opts.tunnelBindAddress, replicaId: opts.replicaId }, log);
  metrics?.countTunnelsWith(() => tunnels.size);
  const live = new Set<SshConnection>();
  let closing = false;

  const bastionKey = async (instanceKey: string): Promise<string> => {
    const k = opts.bastion?.key;
    if (!k) return instanceKey;
    return isAbsolute(k) ? readPrivateKeyFile(k, "the bastion") : (await keys.resolve(k)).pem;
  };

  async function connect(
    ctx: CallContext,
    kind: SshSessionKind,
    instance: Instance,
    req: { keyPairName?: string; userHint?: string },
  ): Promise<{ conn: SshConnection; target: Target }> {
    if (closing) throw unavailable("the server is shutting down");
    if (instance.status !== "running") throw failedPrecondition(`instance ${instance.id} is ${instance.status}; SSH needs it running`);
    const target = resolveTarget(opts, instance, req);
    const key = await keysFor(ctx).resolve(target.keyPairName);
    const hop: Hop = { host: target.host, port: target.port, username: target.username, privateKey: key.pem, role: "instance" };
    const bastion: Hop | undefined = opts.bastion
      ? { host: opts.bastion.host, port: opts.bastion.port, username: opts.bastion.username, privateKey: await bastionKey(key.pem), role: "bastion" }
      : undefined;
    let conn: SshConnection;
    try {
      conn = await openConnection({ target: hop, bastion, hostKeys, connectTimeoutMs: opts.connectTimeoutMs, signal: ctx.signal });
    } catch (err) {
      // A refused host key or login is an operator's problem; anything else is the network's.
      const refused = err instanceof ProviderError && (err.code === "PERMISSION_DENIED" || err.code === "FAILED_PRECONDITION");
      metrics?.session(kind, refused ? "refused" : "error");
      throw err;
    }
    metrics?.session(kind, "ok");
    live.add(conn);
    conn.closed.then(() => live.delete(conn));
    return { conn, target };
  }

  return {
    async getConfig(ctx, instance, req): Promise<SshConfig> {
      const target = resolveTarget(opts, instance, req);
      const config: SshConfig = { host: target.host, port: target.port, username: target.username, keyPairName: target.keyPairName };
      if (opts.bastion) {
        config.bastionHost = opts.bastion.host;
        config.bastionPort = opts.bastion.port;
        config.bastionUsername = opts.bastion.username;
      }
      if (opts.exposePrivateKeys) {
        // Only keys the operator placed (or let us keep); none is invented.
        const path = target.keyPairName ? keysFor(ctx).find(target.keyPairName) : undefined;
        if (path) config.privateKey = (await keysFor(ctx).resolve(target.keyPairName)).pem;
        if (opts.bastion?.key) config.bastionPrivateKey = await bastionKey("");
        else if (opts.bastion && config.privateKey) config.bastionPrivateKey = config.privateKey;
      }
      return config;
    },

    async execute(ctx, instance, req) {
      const timeoutSeconds = req.timeoutSeconds === 0 ? opts.defaultCommandTimeoutSeconds : req.timeoutSeconds;
      if (timeoutSeconds > opts.maxCommandTimeoutSeconds) {
        throw invalidArgument("timeout_seconds", `must be at most ${opts.maxCommandTimeoutSeconds} on this server (0 means ${opts.defaultCommandTimeoutSeconds})`);
      }
      const { conn, target } = await connect(ctx, "exec", instance, req);
      const fields = { instance_id: instance.id, host: target.host, port: target.port, user: target.username, timeout_seconds: timeoutSeconds, ...commandFingerprint(req.command) };
      ctx.log.info("ssh: running command", fields);
      try {
        const result = await runCommand(conn.client, { command: req.command, timeoutMs: timeoutSeconds * 1000, outputMaxBytes: opts.outputMaxBytes, signal: ctx.signal }).catch(
          (err: unknown) => {
            metrics?.command("error");
            throw err;
          },
        );
        metrics?.command(commandOutcome(result));
        ctx.log.info("ssh: command finished", {
          ...fields,
          exit_code: result.exitCode,
          signal: result.signal,
          timed_out: result.timedOut,
          stdout_bytes: Buffer.byteLength(result.stdout),
          stderr_bytes: Buffer.byteLength(result.stderr),
          truncated: result.stdoutTruncated || result.stderrTruncated,
        });
        return result;
      } finally {
        conn.end();
      }
    },

    async openTunnel(ctx, instance, req) {
      const release = tunnels.reserve();
      try {
        const { conn } = await connect(ctx, "tunnel", instance, req);
        return await tunnels.open(conn, { instanceId: instance.id, localPort: req.localPort, remotePort: req.remotePort, tenant: ctx.tenant });
      } finally {
        release();
      }
    },

    async closeTunnel(ctx, tunnelId) {
      await tunnels.close(tunnelId, ctx.tenant);
    },

    async openStream(ctx, instance, req) {
      const { conn } = await connect(ctx, "tunnel", instance, req);
      try {
        // The remote end is "localhost" as seen from the instance, as for listener tunnels.
        const channel = await forwardOut(conn.client, "127.0.0.1", req.remotePort);
        return { channel, close: () => (channel.destroy(), conn.end()), closed: conn.closed };
      } catch (err) {
        conn.end();
        throw unavailable(`the instance refused a connection to its port ${req.remotePort}: ${(err as Error).message.slice(0, 200)}`);
      }
    },

    streamLimits: { perCaller: opts.streamTunnelsPerCaller, maxBytes: opts.streamTunnelMaxBytes, idleMs: opts.tunnelIdleMs },

    async keyPairCreated(ctx, keyPair) {
      if (!opts.keepCreatedKeys) return;
      try {
        const store = keysFor(ctx);
        if (ctx.tenant && store.dir) mkdirSync(store.dir, { recursive: true, mode: 0o700 });
        const kept = store.keep(keyPair.name, keyPair.privateKey);
        if (kept.path) ctx.log.info("ssh: kept the created private key", { key_pair_name: keyPair.name, region: keyPair.region, path: kept.path });
        else ctx.log.warn("ssh: did not keep the created private key", { key_pair_name: keyPair.name, region: keyPair.region, reason: kept.skipped });
      } catch (err) {
        ctx.log.error("ssh: could not write the created private key", { key_pair_name: keyPair.name, reason: (err as Error).message });
      }
    },

    async close() {
      closing = true;
      await tunnels.closeAll("server shutdown");
      for (const conn of live) conn.end();
    },
  };
}
