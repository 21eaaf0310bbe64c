// What the service layer needs from the SSH subsystem. The four SSH RPCs
// are the same for every cloud: the backend only supplies the Instance
// (addresses, image, tags) and an optional login-user hint.
import type { CallContext, Instance } from "../provider";

export interface SshConfig {
  host: string;
  port: number;
  username: string;
  privateKey?: string;
  keyPairName?: string;
  bastionHost?: string;
  bastionPort?: number;
  bastionUsername?: string;
  bastionPrivateKey?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  signal?: string;
  timedOut: boolean;
}

export interface TunnelInfo {
  tunnelId: string;
  localEndpoint: string;
}

export interface StreamTunnel {
  channel: import("node:stream").Duplex;
  close(): void;
  closed: Promise<void>;
}

export interface SshService {
  getConfig(ctx: CallContext, instance: Instance, req: { keyPairName?: string; userHint?: string }): Promise<SshConfig>;
  execute(
    ctx: CallContext,
    instance: Instance,
    req: { command: string; timeoutSeconds: number; keyPairName?: string; userHint?: string },
  ): Promise<ExecResult>;
  openTunnel(
    ctx: CallContext,
    instance: Instance,
    req: { localPort: number; remotePort: number; keyPairName?: string; userHint?: string },
  ): Promise<TunnelInfo>;
  closeTunnel(ctx: CallContext, tunnelId: string): Promise<void>;
  /**
   * One byte stream to 127.0.0.1:remotePort as the instance sees it, over
   * its own SSH connection (TunnelInstancePort). `close` ends the channel
   * and the connection; `closed` resolves when the connection is gone.
   */
  openStream?(ctx: CallContext, instance: Instance, req: { remotePort: number; keyPairName?: string; userHint?: string }): Promise<StreamTunnel>;
  /** Limits of TunnelInstancePort streams. */
  readonly streamLimits?: { perCaller: number; maxBytes: number; idleMs: number };
  /**
   * Told about every private key CreateKeyPair returned, so the operator
   * can choose to keep it (--ssh-keep-created-keys). Must not throw: the
   * key pair already exists in the cloud and the caller needs the key.
   */
  keyPairCreated?(ctx: CallContext, keyPair: { name: string; region: string; privateKey: string }): Promise<void>;
  /** Closes every tunnel and connection (shutdown). */
  close(): Promise<void>;
}
