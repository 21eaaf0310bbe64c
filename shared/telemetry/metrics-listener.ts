// The plain-HTTP listener for Prometheus (GET /metrics), on its own address,
// apart from the gRPC port: scrapers speak HTTP/1.1, and a separate port lets
// the network policy open it to the monitoring system only. Opened only when
// --metrics-addr is set. Nothing here reads a request body, so a hostile
// client costs one small response at most.
import { createServer, type Server } from "node:http";
import type { ProviderMetrics } from "./metrics";

export interface MetricsListener {
  /** HOST:PORT actually bound (port 0 resolved). */
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function listenForMetrics(metrics: ProviderMetrics, host: string, port: number): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(path === "/metrics" ? 405 : 404, { "content-type": "text/plain" }).end(path === "/metrics" ? "use GET\n" : "not found: try /metrics\n");
      return;
    }
    metrics.exposition().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  // Slow or idle scrapers must not hold sockets forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 30_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === "EADDRINUSE" ? `--metrics-addr ${host}:${port} is already in use: choose another port` : `--metrics-addr ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    address: `${shown}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
