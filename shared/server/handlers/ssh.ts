// GetInstanceSSHConfig, ExecuteInstanceCommand and the SSH tunnels: each
// looks the instance up through the backend, then hands it to the SSH
// service with the key pair and login-user hint.
import { invalidArgument } from "../../errors";
import type { CallContext, Instance } from "../../provider";
import { defaultLoginUser } from "../../ssh/users";
import { checkKeyPairName, requireText } from "../validation";
import { instanceRef, rpc, type HandlerEnv, type HandlerGroup } from "./env";

const MAX_TIMEOUT_SECONDS = 3600;

interface SshTarget {
  instance: Instance;
  keyPairName: string | undefined;
  userHint: string | undefined;
}

type SshRpc = "GetInstanceSSHConfig" | "ExecuteInstanceCommand" | "CreateInstanceSSHTunnel" | "CloseInstanceSSHTunnel";

export function sshHandlers(env: HandlerEnv): HandlerGroup<SshRpc> {
  const { backend, ssh } = env;

  const sshTarget = async (ctx: CallContext, req: { instance_id: string; region: string; key_pair_name: string }): Promise<SshTarget> => {
    const instance = await backend.getInstance(ctx, await instanceRef(env, req, ctx));
    const keyPairName = req.key_pair_name ? checkKeyPairName("key_pair_name", req.key_pair_name) : undefined;
    // Without a backend hint: the image family or the cloud's usual user.
    return { instance, keyPairName, userHint: backend.sshUserHint?.(instance) ?? defaultLoginUser(backend.loginUsers, instance) };
  };

  return {
    GetInstanceSSHConfig: rpc(env, "GetInstanceSSHConfig", async (req, ctx) => {
      const t = await sshTarget(ctx, req);
      const c = await ssh.getConfig(ctx, t.instance, { keyPairName: t.keyPairName, userHint: t.userHint });
      return {
        ssh_config: {
          host: c.host,
          port: c.port,
          username: c.username,
          private_key: c.privateKey ?? "",
          key_pair_name: c.keyPairName ?? "",
          bastion_host: c.bastionHost ?? "",
          bastion_port: c.bastionPort ?? 0,
          bastion_username: c.bastionUsername ?? "",
          bastion_private_key: c.bastionPrivateKey ?? "",
        },
      };
    }),

    ExecuteInstanceCommand: rpc(env, "ExecuteInstanceCommand", async (req, ctx) => {
      const command = requireText("command", req.command, 64 * 1024);
      const timeout = req.timeout_seconds ?? 0;
      if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMEOUT_SECONDS) {
        throw invalidArgument("timeout_seconds", `must be between 0 (default) and ${MAX_TIMEOUT_SECONDS}`);
      }
      const t = await sshTarget(ctx, req);
      const r = await ssh.execute(ctx, t.instance, { command, timeoutSeconds: timeout, keyPairName: t.keyPairName, userHint: t.userHint });
      return {
        stdout: r.stdout,
        stderr: r.stderr,
        exit_code: r.exitCode,
        success: r.exitCode === 0 && !r.timedOut && !r.signal,
        stdout_truncated: r.stdoutTruncated,
        stderr_truncated: r.stderrTruncated,
        signal: r.signal ?? "",
        timed_out: r.timedOut,
      };
    }),

    CreateInstanceSSHTunnel: rpc(env, "CreateInstanceSSHTunnel", async (req, ctx) => {
      const localPort = req.local_port ?? 0;
      const remotePort = req.remote_port ?? 0;
      if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535) throw invalidArgument("local_port", "must be 0 (pick a free port) to 65535");
      if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) throw invalidArgument("remote_port", "must be 1 to 65535");
      const t = await sshTarget(ctx, req);
      const tunnel = await ssh.openTunnel(ctx, t.instance, { localPort, remotePort, keyPairName: t.keyPairName, userHint: t.userHint });
      return { tunnel_id: tunnel.tunnelId, local_endpoint: tunnel.localEndpoint, success: true, message: `forwarding ${tunnel.localEndpoint} to ${t.instance.id}:${remotePort}` };
    }),

    CloseInstanceSSHTunnel: rpc(env, "CloseInstanceSSHTunnel", async (req, ctx) => {
      const tunnelId = requireText("tunnel_id", req.tunnel_id);
      await ssh.closeTunnel(ctx, tunnelId);
      return { success: true, message: `tunnel ${tunnelId} closed` };
    }),
  };
}
