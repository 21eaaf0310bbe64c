// SSH access for the four SSH RPCs. Host, port and user come from the
// instance; execution and tunnels need the SSH client subsystem.
import type { FlagSpec, Settings } from "../config";
import { str } from "../config";
import { unimplemented } from "../errors";
import type { Logger } from "../log";
import type { SshService } from "./types";

export const SSH_FLAGS: FlagSpec[] = [
  { name: "ssh-user", kind: "string", env: "SKYCLUST_SSH_USER", help: "SSH login user for every instance (overrides image defaults)" },
];

export function createSshService(settings: Settings, _log: Logger): SshService {
  const userOverride = str(settings, "ssh-user");
  return {
    async getConfig(_ctx, instance, req) {
      const host = instance.publicIp || instance.privateIp;
      if (!host) throw unimplemented(`instance ${instance.id} has no IP address yet`);
      const port = Number(instance.extra?.ssh_port ?? 22);
      return { host, port, username: userOverride ?? instance.tags["ssh-user"] ?? req.userHint ?? "root", keyPairName: req.keyPairName ?? instance.keyPairName };
    },
    async execute() {
      throw unimplemented("ExecuteInstanceCommand is not available in this build");
    },
    async openTunnel() {
      throw unimplemented("CreateInstanceSSHTunnel is not available in this build");
    },
    async closeTunnel() {
      throw unimplemented("CloseInstanceSSHTunnel is not available in this build");
    },
    async close() {},
  };
}
