// `<binary> tunnel`: what `kubectl port-forward` does for pods, for a port
// on an instance. Listens on a local port and carries each accepted TCP
// connection over its own TunnelInstancePort stream to the provider (any
// replica: nothing is held on the server between streams), so
// `ssh -p 2222 localhost` reaches the instance from the platform's machine.
// Flow control is the streams': a full gRPC send buffer pauses the socket,
// a full socket pauses the stream.
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { ConfigError, num, parseArgs, renderHelp, str, type FlagSpec } from "./config";
import { providerClientConstructor } from "./grpc/descriptors";

export const TUNNEL_FLAGS: FlagSpec[] = [
  { name: "addr", kind: "string", help: "provider address HOST:PORT (required; a Kubernetes Service name works: every replica can serve)" },
  { name: "instance", kind: "string", help: "instance id (required)" },
  { name: "region", kind: "string", default: "", help: "the instance's region (default: the provider's)" },
  { name: "remote-port", kind: "number", default: 22, help: "port on the instance (as 127.0.0.1 there)" },
  { name: "local-port", kind: "number", default: 0, help: "local port to listen on (0 = any free port, printed)" },
  { name: "local-host", kind: "string", default: "127.0.0.1", help: "local address to listen on" },
  { name: "key-pair", kind: "string", help: "key pair name for the SSH login (default: the instance's)" },
  { name: "token-file", kind: "string", env: "SKYCLUST_TUNNEL_TOKEN_FILE", help: 'file holding a bearer token with the "ssh" scope' },
  { name: "tls-ca", kind: "string", env: "SKYCLUST_TUNNEL_TLS_CA", help: "connect with TLS, trusting this CA file" },
  { name: "tls-cert", kind: "string", env: "SKYCLUST_TUNNEL_TLS_CERT", help: "client certificate for mTLS" },
  { name: "tls-key", kind: "string", env: "SKYCLUST_TUNNEL_TLS_KEY", help: "client key for mTLS" },
  { name: "tls-server-name", kind: "string", help: "expected server name in the certificate" },
  { name: "help", kind: "boolean", help: "show this help" },
];

export interface StreamTunnelTarget {
  instanceId: string;
  region?: string;
  remotePort: number;
  keyPairName?: string;
}

type Frame = { frame?: string; data?: Buffer; eof?: boolean; opened?: { message: string }; open?: Record<string, unknown> };

/**
 * Carries `socket` over one TunnelInstancePort stream of `client`.
 * Resolves when both directions are done; the socket is destroyed on error.
 */
export function carry(client: grpc.Client & Record<string, Function>, socket: Socket, target: StreamTunnelTarget, metadata = new grpc.Metadata()): Promise<void> {
  return new Promise((resolve) => {
    socket.pause();
    const stream = (client.TunnelInstancePort as (m: grpc.Metadata) => grpc.ClientDuplexStream<Frame, Frame>).call(client, metadata);
    let done = false;
    const end = (err?: Error) => {
      if (done) return;
      done = true;
      if (err) {
        socket.destroy();
        stream.cancel();
      }
      resolve();
    };
    stream.write({ open: { instance_id: target.instanceId, region: target.region ?? "", remote_port: target.remotePort, key_pair_name: target.keyPairName ?? "" } });
    stream.on("data", (frame: Frame) => {
      if (frame.frame === "opened") {
        // The channel is up: start reading the socket.
        socket.resume();
        return;
      }
      if (frame.frame === "eof") {
        socket.end();
        return;
      }
      if (frame.frame === "data" && frame.data && !socket.write(frame.data)) {
        stream.pause();
        socket.once("drain", () => stream.resume());
      }
    });
    stream.on("error", (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) process.stderr.write(`tunnel: ${grpc.status[err.code] ?? err.code}: ${err.details}\n`);
      end(err);
    });
    stream.on("end", () => {
      socket.end();
      end();
    });
    socket.on("data", (chunk: Buffer) => {
      if (!stream.write({ data: chunk })) {
        socket.pause();
        stream.once("drain", () => socket.resume());
      }
    });
    socket.on("end", () => stream.end());
    socket.on("error", (err) => end(err));
    socket.on("close", (hadError) => hadError && end(new Error("socket closed")));
  });
}

export interface TunnelClientOptions extends StreamTunnelTarget {
  addr: string;
  localHost: string;
  localPort: number;
  credentials: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  metadata: () => grpc.Metadata;
}

/** Listens locally; each accepted connection gets its own stream. */
export async function startTunnelClient(o: TunnelClientOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const Ctor = providerClientConstructor();
  const client = new Ctor(o.addr, o.credentials, o.channelOptions ?? {}) as unknown as grpc.Client & Record<string, Function>;
  // allowHalfOpen: a local client that sends its last bytes and half-closes
  // (as `ssh` and echo-style clients do) still gets the instance's answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => void carry(client, socket, o, o.metadata()));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.localPort, o.localHost, () => resolve());
  });
  return {
    server,
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        client.close();
      }),
  };
}

export async function runTunnel(binary: string, argv: string[]): Promise<number> {
  const { settings } = parseArgs(TUNNEL_FLAGS, argv, process.env);
  if (settings.help) {
    console.log(
      renderHelp(`${binary} tunnel: forward a local port to a port on an instance through the provider's gRPC connection`, [`${binary} tunnel --addr HOST:PORT --instance ID [--remote-port 22] [--local-port 2222]`], [{ heading: "Flags", flags: TUNNEL_FLAGS }]),
    );
    return 0;
  }
  const addr = str(settings, "addr");
  const instanceId = str(settings, "instance");
  if (!addr) throw new ConfigError("--addr HOST:PORT is required");
  if (!instanceId) throw new ConfigError("--instance ID is required");
  const remotePort = num(settings, "remote-port") ?? 22;
  const localPort = num(settings, "local-port") ?? 0;
  if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) throw new ConfigError("--remote-port must be 1 to 65535");
  if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535) throw new ConfigError("--local-port must be 0 to 65535");
  const ca = str(settings, "tls-ca");
  const serverName = str(settings, "tls-server-name");
  const credentials = ca
    ? grpc.credentials.createSsl(
        readFileSync(ca),
        str(settings, "tls-key") ? readFileSync(str(settings, "tls-key")!) : null,
        str(settings, "tls-cert") ? readFileSync(str(settings, "tls-cert")!) : null,
      )
    : grpc.credentials.createInsecure();
  const tokenFile = str(settings, "token-file");
  const metadata = () => {
    const m = new grpc.Metadata();
    // Read per connection: a rotated token file is used from the next one on.
    if (tokenFile) m.set("authorization", `Bearer ${readFileSync(tokenFile, "utf8").trim()}`);
    return m;
  };
  const running = await startTunnelClient({
    addr,
    instanceId,
    region: str(settings, "region") ?? "",
    remotePort,
    keyPairName: str(settings, "key-pair"),
    localHost: str(settings, "local-host") ?? "127.0.0.1",
    localPort,
    credentials,
    channelOptions: serverName ? { "grpc.ssl_target_name_override": serverName, "grpc.default_authority": serverName } : {},
    metadata,
  });
  console.log(`forwarding ${str(settings, "local-host") ?? "127.0.0.1"}:${running.port} -> ${instanceId}:${remotePort} through ${addr}`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await running.close();
  return 0;
}
