// Opens an authenticated ssh2 connection to an instance, optionally through
// a bastion (the second hop rides a direct-tcpip channel of the first), with
// the host key of every hop checked against known_hosts. Failures become
// the provider's error vocabulary here, in one place:
//   refused/unreachable/reset      -> UNAVAILABLE
//   connect or handshake too slow  -> DEADLINE_EXCEEDED
//   the key was not accepted       -> PERMISSION_DENIED
//   unknown or changed host key    -> FAILED_PRECONDITION
import type { Client, ConnectConfig } from "ssh2";
import type { Duplex } from "node:stream";
import {
  ProviderError,
  abortError,
  deadlineExceeded,
  failedPrecondition,
  permissionDenied,
  unavailable,
} from "../errors";
import { KnownHostsFile, keyBlobType, knownHostName, knownKeyTypes, verifyHostKey } from "./known-hosts";
import { loadSsh2 } from "./ssh2-module";
import { quote } from "../quote";

export interface Hop {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** "instance" or "bastion": used in error messages. */
  role: string;
}

export interface HostKeyPolicy {
  knownHosts?: KnownHostsFile;
  trustOnFirstUse: boolean;
  /** Told when trust on first use recorded a key (for the log). The check
   *  and the append run in one synchronous step, so two first connections
   *  in this process cannot record two different keys. */
  onRecorded?: (host: string, port: number, keyType: string) => void;
}

export interface ConnectOptions {
  target: Hop;
  bastion?: Hop;
  hostKeys: HostKeyPolicy;
  connectTimeoutMs: number;
  signal: AbortSignal;
}

/** A live connection; end() closes every hop. */
export interface SshConnection {
  client: Client;
  end(): void;
  /** Resolves when the connection to the instance (or any hop) is gone. */
  closed: Promise<void>;
}

// ssh2 names host key algorithms by signature; known_hosts by key type.
function hostKeyAlgorithms(keyTypes: string[]): string[] {
  return keyTypes.flatMap((t) => (t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t]));
}

async function connectOnce(hop: Hop, policy: HostKeyPolicy, timeoutMs: number, signal: AbortSignal, sock?: Duplex): Promise<Client> {
  const where = knownHostName(hop.host, hop.port);
  const { Client } = await loadSsh2();
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyProblem: ProviderError | undefined;
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      clearTimeout(timer);
      if (err) {
        client.end();
        client.destroy();
        reject(err);
      } else resolve(client);
    };
    const onAbort = () => finish(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    // Our own timer covers the TCP connect too (ssh2's readyTimeout starts
    // only once the socket is up in some paths).
    const timer = setTimeout(() => finish(deadlineExceeded(`SSH connection to ${hop.role} ${where} did not complete within ${timeoutMs} ms`)), timeoutMs);

    const verifier = (key: Buffer): boolean => {
      if (!policy.knownHosts) {
        hostKeyProblem = failedPrecondition(
          "host key verification needs a known_hosts file: set --ssh-known-hosts (SKYCLUST_SSH_KNOWN_HOSTS), optionally with --ssh-trust-on-first-use",
        );
        return false;
      }
      const verdict = verifyHostKey(policy.knownHosts.entries(), hop.host, hop.port, key);
      if (verdict.kind === "match") return true;
      if (verdict.kind === "revoked") {
        hostKeyProblem = failedPrecondition(`the host key of ${hop.role} ${where} is marked @revoked in known_hosts`);
        return false;
      }
      if (verdict.kind === "changed") {
        hostKeyProblem = failedPrecondition(
          `HOST KEY CHANGED for ${hop.role} ${where}: it presented a ${keyBlobType(key)} key that does not match known_hosts (${verdict.knownTypes.join(", ")}); refusing to connect. If the change is expected, remove the old entry from ${policy.knownHosts.path}`,
        );
        return false;
      }
      if (!policy.trustOnFirstUse) {
        hostKeyProblem = failedPrecondition(
          `the host key of ${hop.role} ${where} is not in ${policy.knownHosts.path}; add it (ssh-keyscan) or enable --ssh-trust-on-first-use`,
        );
        return false;
      }
      policy.knownHosts.record(hop.host, hop.port, key);
      policy.onRecorded?.(hop.host, hop.port, keyBlobType(key));
      return true;
    };

    client.on("ready", () => finish());
    client.on("error", (err: Error & { level?: string; code?: string }) => finish(hostKeyProblem ?? mapConnectError(err, hop, where)));
    client.on("close", () => finish(hostKeyProblem ?? unavailable(`SSH connection to ${hop.role} ${where} closed during the handshake`)));

    const preferred = policy.knownHosts ? hostKeyAlgorithms(knownKeyTypes(policy.knownHosts.entries(), hop.host, hop.port)) : [];
    const config: ConnectConfig = {
      username: hop.username,
      privateKey: hop.privateKey,
      readyTimeout: timeoutMs,
      hostVerifier: verifier,
      // Never fall back to the agent or keyboard prompts of the server's user.
      agent: undefined,
      tryKeyboard: false,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      ...(preferred.length > 0 ? { algorithms: { serverHostKey: { prepend: preferred } as never } } : {}),
      ...(sock ? { sock: sock as never } : { host: hop.host, port: hop.port }),
    };
    try {
      client.connect(config);
    } catch (err) {
      finish(mapConnectError(err as Error, hop, where));
    }
  });
}

function mapConnectError(err: Error & { level?: string; code?: string }, hop: Hop, where: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const code = err.code ?? "";
  if (err.level === "client-authentication") {
    return permissionDenied(`${hop.role} ${where} did not accept the private key for user ${quote(hop.username)}`);
  }
  if (err.level === "client-timeout" || code === "ETIMEDOUT") {
    return deadlineExceeded(`SSH connection to ${hop.role} ${where} timed out`);
  }
  if (["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "EPIPE"].includes(code) || err.level === "client-socket") {
    return unavailable(`cannot reach ${hop.role} ${where} over SSH (${code || err.message})`);
  }
  if (err.level === "protocol" || err.level === "handshake") {
    return unavailable(`SSH handshake with ${hop.role} ${where} failed: ${err.message}`);
  }
  return unavailable(`SSH connection to ${hop.role} ${where} failed: ${err.message}`);
}

/** direct-tcpip from a connected client to host:port, as a promise. */
export function forwardOut(client: Client, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut("127.0.0.1", 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

export async function openConnection(opts: ConnectOptions): Promise<SshConnection> {
  const { target, bastion, hostKeys, connectTimeoutMs, signal } = opts;
  let jump: Client | undefined;
  let sock: Duplex | undefined;
  if (bastion) {
    jump = await connectOnce(bastion, hostKeys, connectTimeoutMs, signal);
    try {
      sock = await forwardOut(jump, target.host, target.port);
    } catch (err) {
      jump.end();
      throw unavailable(`bastion ${knownHostName(bastion.host, bastion.port)} could not open a connection to ${knownHostName(target.host, target.port)}: ${(err as Error).message}`);
    }
  }
  let client: Client;
  try {
    client = await connectOnce(target, hostKeys, connectTimeoutMs, signal, sock);
  } catch (err) {
    jump?.end();
    throw err;
  }
  const closed = new Promise<void>((resolve) => {
    client.once("close", () => resolve());
    jump?.once("close", () => resolve());
  });
  // A hop dying after the handshake must not crash the process; "close" follows.
  client.on("error", () => {});
  jump?.on("error", () => {});
  closed.then(() => {
    client.end();
    jump?.end();
  });
  return {
    client,
    closed,
    end() {
      client.end();
      jump?.end();
    },
  };
}
