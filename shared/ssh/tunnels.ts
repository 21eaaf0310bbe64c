// Local port forwarding: a TCP listener on this machine whose connections
// are carried over one SSH connection to a port on the instance. Tunnels
// are counted (RESOURCE_EXHAUSTED past the limit), closed after an idle
// period with no bytes in either direction, when their SSH connection
// drops, on CloseInstanceSSHTunnel, and all at once on shutdown.
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { failedPrecondition, notFound, permissionDenied, resourceExhausted, unavailable } from "../errors";
import type { Logger } from "../log";
import { forwardOut, type SshConnection } from "./connection";
import { tunnelOwner } from "./replica-id";

export interface TunnelLimits {
  max: number;
  idleMs: number;
  bindAddress: string;
  /** Named in every tunnel id (replica-id.ts). */
  replicaId: string;
}

interface Tunnel {
  id: string;
  endpoint: string;
  instanceId: string;
  remotePort: number;
  /** The tenant that opened it (CallContext.tenant); only it may close it. */
  tenant?: string;
  server: Server;
  connection: SshConnection;
  sockets: Set<Socket>;
  lastActivity: number;
  idleTimer?: ReturnType<typeof setInterval>;
}

function formatEndpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function listen(server: Server, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

export class TunnelManager {
  private readonly tunnels = new Map<string, Tunnel>();
  /** Slots taken by tunnels still connecting, so the limit holds under concurrency. */
  private reserved = 0;
  private closing = false;

  constructor(
    private readonly limits: TunnelLimits,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.tunnels.size;
  }

  /** Takes a slot before the (slow) SSH connect; call release() if it fails. */
  reserve(): () => void {
    if (this.closing) throw unavailable("the server is shutting down");
    if (this.tunnels.size + this.reserved >= this.limits.max) {
      throw resourceExhausted(`at most ${this.limits.max} SSH tunnels may be open at once; close one with CloseInstanceSSHTunnel`);
    }
    this.reserved++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.reserved--;
      }
    };
  }

  /** Starts listening and forwarding; takes ownership of `connection`. */
  async open(connection: SshConnection, req: { instanceId: string; localPort: number; remotePort: number; tenant?: string }): Promise<{ tunnelId: string; localEndpoint: string }> {
    const id = `tun-${this.limits.replicaId}-${randomBytes(8).toString("hex")}`;
    const server = createServer();
    let port: number;
    try {
      port = await listen(server, this.limits.bindAddress, req.localPort);
    } catch (err) {
      connection.end();
      const code = (err as NodeJS.ErrnoException).code;
      const where = formatEndpoint(this.limits.bindAddress, req.localPort);
      if (code === "EADDRINUSE") throw failedPrecondition(`local_port ${req.localPort} is already in use on ${this.limits.bindAddress}`);
      if (code === "EACCES") throw permissionDenied(`this server may not listen on ${where}`);
      throw unavailable(`cannot listen on ${where}: ${code ?? (err as Error).message}`);
    }
    const tunnel: Tunnel = {
      id,
      endpoint: formatEndpoint(this.limits.bindAddress, port),
      instanceId: req.instanceId,
      remotePort: req.remotePort,
      tenant: req.tenant,
      server,
      connection,
      sockets: new Set(),
      lastActivity: Date.now(),
    };
    const touch = () => {
      tunnel.lastActivity = Date.now();
    };
    server.on("connection", (socket) => {
      touch();
      tunnel.sockets.add(socket);
      socket.on("close", () => tunnel.sockets.delete(socket));
      socket.on("error", () => socket.destroy());
      socket.pause();
      // The remote end is "localhost" as seen from the instance.
      forwardOut(connection.client, "127.0.0.1", req.remotePort).then(
        (channel) => {
          channel.on("data", touch);
          socket.on("data", touch);
          channel.on("error", () => socket.destroy());
          channel.on("close", () => socket.end());
          socket.on("close", () => channel.destroy());
          socket.pipe(channel).pipe(socket);
          socket.resume();
        },
        (err: Error) => {
          this.log.warn("ssh tunnel: the instance refused a forwarded connection", { tunnel_id: id, remote_port: req.remotePort, reason: err.message });
          socket.destroy();
        },
      );
    });
    server.on("error", (err) => {
      this.log.warn("ssh tunnel listener failed", { tunnel_id: id, reason: err.message });
      void this.closeTunnel(id, "listener error");
    });
    connection.closed.then(() => void this.closeTunnel(id, "ssh connection closed"));
    const check = Math.max(250, Math.min(this.limits.idleMs / 4, 30_000));
    tunnel.idleTimer = setInterval(() => {
      if (Date.now() - tunnel.lastActivity >= this.limits.idleMs) void this.closeTunnel(id, "idle timeout");
    }, check);
    tunnel.idleTimer.unref?.();
    this.tunnels.set(id, tunnel);
    this.log.info("ssh tunnel opened", { tunnel_id: id, local_endpoint: tunnel.endpoint, instance_id: req.instanceId, remote_port: req.remotePort });
    return { tunnelId: id, localEndpoint: tunnel.endpoint };
  }

  has(id: string): boolean {
    return this.tunnels.has(id);
  }

  /**
   * Closes one tunnel; NOT_FOUND for an id that is not open, or that another
   * tenant opened (its existence is not theirs to learn). An id naming
   * another replica is FAILED_PRECONDITION naming it: behind round_robin the
   * Close may reach another replica than the Create (the answer is the same
   * whether or not such a tunnel is open there, so it reveals nothing).
   */
  async close(id: string, tenant?: string): Promise<void> {
    if (!this.tunnels.has(id)) {
      const owner = tunnelOwner(id);
      if (owner && owner !== this.limits.replicaId) throw failedPrecondition(`tunnel ${id} belongs to replica ${owner}, not to this one (${this.limits.replicaId}); send the Close to ${owner}, or use TunnelInstancePort, which works through any replica`);
      throw notFound(`no open SSH tunnel with id ${JSON.stringify(id)}`);
    }
    if (this.tunnels.get(id)!.tenant !== tenant) throw notFound(`no open SSH tunnel with id ${JSON.stringify(id)}`);
    await this.closeTunnel(id, "closed by request");
  }

  private async closeTunnel(id: string, reason: string): Promise<void> {
    const t = this.tunnels.get(id);
    if (!t) return;
    this.tunnels.delete(id);
    if (t.idleTimer) clearInterval(t.idleTimer);
    for (const s of t.sockets) s.destroy();
    await new Promise<void>((resolve) => t.server.close(() => resolve()));
    t.connection.end();
    this.log.info("ssh tunnel closed", { tunnel_id: id, instance_id: t.instanceId, reason });
  }

  async closeAll(reason: string): Promise<void> {
    this.closing = true;
    await Promise.all([...this.tunnels.keys()].map((id) => this.closeTunnel(id, reason)));
  }
}
