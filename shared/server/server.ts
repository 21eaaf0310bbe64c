// Builds and runs one provider's gRPC server: CloudProviderService, health,
// reflection, keepalive policy, TLS/mTLS, graceful shutdown.
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { serviceDefinition } from "../grpc/descriptors";
import type { Logger } from "../log";
import type { AccessPolicy } from "./auth/access";
import { InflightCalls } from "./calls";
import { MAX_CONCURRENT_STREAMS, ReplyBudget, measuringReplies } from "./reply-budget";
import { createHealth } from "./health";
import { addReflection } from "./reflection";
import { buildProviderService, type ServiceOptions } from "./service";
import { tunnelStreamService } from "./tunnel-stream";
import { RegionsCache } from "./handlers/regions-cache";
import { watchService } from "./watch-service";
import { watchSettings, type WatchSettings } from "../watch/settings";
import type { ProviderMetrics } from "../telemetry/metrics";
import type { Tracing } from "../telemetry/tracing";
import type { TenantResolver } from "../tenancy/resolver";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  clientCaFile?: string;
}

export interface ServerOptions extends Omit<ServiceOptions, "serverCapabilities"> {
  host: string;
  port: number;
  reflection: boolean;
  tls?: TlsFiles;
  /** How long in-flight calls may run after SIGTERM before being cancelled. */
  shutdownGraceMs: number;
  log: Logger;
  access?: AccessPolicy;
  /** Prometheus instruments (--metrics-addr); absent = none kept. */
  metrics?: ProviderMetrics;
  /** OpenTelemetry traces; absent = off. */
  tracing?: Tracing;
  /** Per-call credentials (--per-call-credentials); absent = the process's own only. */
  tenancy?: TenantResolver;
  /** Closed after the drain (e.g. the metrics listener, so the last scrape sees the drained calls). */
  closeAfterDrain?: () => Promise<void>;
  /** WatchInstances timing and bounds (--watch-*); absent = the defaults. */
  watch?: WatchSettings;
}

/**
 * The platform's client pings every 10 s, also without active calls. The
 * server must tolerate that (a default policy answers such pings with
 * GOAWAY too_many_pings), and pings itself to detect dead peers.
 */
export const KEEPALIVE_OPTIONS: grpc.ServerOptions = {
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
  "grpc.http2.max_ping_strikes": 0,
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.max_receive_message_length": 8 * 1024 * 1024,
  // Bounds the replies one connection can leave unread (reply-budget.ts).
  "grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
};

function credentials(tls: TlsFiles | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const cert = readFileSync(tls.certFile);
  const key = readFileSync(tls.keyFile);
  const ca = tls.clientCaFile ? readFileSync(tls.clientCaFile) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], Boolean(ca));
}

export interface RunningServer {
  server: grpc.Server;
  port: number;
  address: string;
  /** Unread-reply accounting (tests and diagnostics). */
  replies: ReplyBudget;
  /** Stop accepting, report NOT_SERVING, drain in-flight calls within the grace period. */
  shutdown(reason: string): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log;
  const server = new grpc.Server(KEEPALIVE_OPTIONS);
  const inflight = new InflightCalls();
  const { health, setAll } = createHealth();

  const serverCapabilities: ServiceOptions["serverCapabilities"] = {
    reflection: String(opts.reflection),
    tls: opts.tls ? (opts.tls.clientCaFile ? "mtls" : "tls") : "plaintext",
  };
  const replies = new ReplyBudget();
  const deps = { log, inflight, access: opts.access, replies, metrics: opts.metrics, tracing: opts.tracing, tenancy: opts.tenancy };
  // One region cache for the service and the watches: a region list fetched by either serves both.
  const regions = new RegionsCache(opts.backend);
  const watches = watchService(deps, {
    backend: opts.backend,
    regions,
    settings: opts.watch ?? watchSettings({}),
    fanoutConcurrency: opts.fanoutConcurrency,
    regionBudgetMs: opts.fanoutRegionTimeoutMs ?? 10_000,
  });
  server.addService(measuringReplies(serviceDefinition()), {
    ...buildProviderService(deps, { ...opts, serverCapabilities, regions }),
    ...tunnelStreamService(deps, opts),
    ...watches.implementation,
  });
  health.addToServer(server);
  if (opts.reflection) addReflection(server);

  const creds = credentials(opts.tls);
  const hostPort = opts.host.includes(":") && !opts.host.startsWith("[") ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(hostPort, creds, (err, bound) => (err ? reject(bindError(hostPort, err)) : resolve(bound))),
  );
  const address = hostPort.replace(/:\d+$/, `:${port}`);

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    shuttingDown ??= (async () => {
      const started = Date.now();
      log.info("shutting down", { reason, in_flight: inflight.size, grace_ms: opts.shutdownGraceMs });
      setAll("NOT_SERVING");
      // Watches never end by themselves: end them now (UNAVAILABLE), so their
      // clients reconnect elsewhere with their resume tokens while we drain.
      watches.closeAll();
      // Stop listening and send GOAWAY on every connection: no new calls
      // are accepted, calls already running continue.
      server.tryShutdown(() => {});
      const drained = await Promise.race([
        inflight.idle().then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), opts.shutdownGraceMs)),
      ]);
      if (!drained) {
        log.warn("grace period over: cancelling calls still running", { in_flight: inflight.size });
        inflight.forceAbort.abort();
        await Promise.race([inflight.idle(), new Promise((r) => setTimeout(r, 1000))]);
      }
      await Promise.allSettled([opts.ssh.close(), opts.backend.close?.(), opts.closeAfterDrain?.()]);
      // Watch and reflection streams never end by themselves: cut them, but
      // first give the NOT_SERVING update a moment to reach watchers.
      await new Promise((r) => setTimeout(r, 100));
      server.forceShutdown();
      log.info("stopped", { drained, duration_ms: Date.now() - started });
    })();
    return shuttingDown;
  };

  return { server, port, address, replies, shutdown };
}

/** grpc-js reports a failed bind as "No address added out of total 1 resolved errors: [...]": say what it means. */
export function bindError(hostPort: string, err: Error): Error {
  const text = err.message;
  if (text.includes("EADDRINUSE")) return new Error(`${hostPort} is already in use (another provider or program listens there): choose another --port, or --port 0 for any free port`);
  if (text.includes("EACCES")) return new Error(`no permission to listen on ${hostPort} (ports below 1024 need privileges): choose another --port`);
  if (text.includes("EADDRNOTAVAIL")) return new Error(`${hostPort}: this machine has no such address: choose another --host`);
  return err;
}
