// `<binary> healthcheck`: asks grpc.health.v1.Health/Check and exits 0 only
// for SERVING. Distroless images have no shell and no grpc_health_probe, so
// the binary checks itself (Dockerfile HEALTHCHECK, compose, Kubernetes exec).
//
// Container engines run it every few seconds, so it loads nothing but the
// runtime's own HTTP/2 client: one unary gRPC call is a POST with a 5-byte
// length prefix and a grpc-status trailer, written here by hand rather than
// loading @grpc/grpc-js (channel, resolver, load balancer) for it.
//
// The usual case, cleartext, first goes over a raw socket
// (grpc/h2c-health-probe.ts): node:http2 is loaded only for TLS, and to
// name the error when the fast path finds no SERVING-or-not answer.
import { readFileSync } from "node:fs";
import type { ClientHttp2Session, IncomingHttpHeaders } from "node:http2";
import { parseArgs, renderHelp, str, num, type FlagSpec } from "./config";
import { probeHealthH2c } from "./grpc/h2c-health-probe";
import { decodeServingStatus, encodeHealthCheckRequest } from "./healthcheck-codec";

export { decodeServingStatus, encodeHealthCheckRequest } from "./healthcheck-codec";

export const HEALTHCHECK_FLAGS: FlagSpec[] = [
  { name: "addr", kind: "string", help: "server address HOST:PORT (default 127.0.0.1 and SKYCLUST_PORT or the provider's port)" },
  { name: "service", kind: "string", default: "", help: 'service name to check ("" = whole server)' },
  { name: "timeout-ms", kind: "number", default: 3000, help: "give up after this many milliseconds" },
  { name: "tls-ca", kind: "string", env: "SKYCLUST_HEALTHCHECK_TLS_CA", help: "connect with TLS, trusting this CA file" },
  { name: "tls-cert", kind: "string", env: "SKYCLUST_HEALTHCHECK_TLS_CERT", help: "client certificate for mTLS" },
  { name: "tls-key", kind: "string", env: "SKYCLUST_HEALTHCHECK_TLS_KEY", help: "client key for mTLS" },
  { name: "tls-server-name", kind: "string", help: "expected server name in the certificate" },
  { name: "help", kind: "boolean", help: "show this help" },
];

export async function runHealthcheck(binary: string, defaultPort: number, argv: string[]): Promise<number> {
  const { settings } = parseArgs(HEALTHCHECK_FLAGS, argv, process.env);
  if (settings.help) {
    console.log(renderHelp(`${binary} healthcheck: exit 0 when the server reports SERVING`, [`${binary} healthcheck [flags]`], [{ heading: "Flags", flags: HEALTHCHECK_FLAGS }]));
    return 0;
  }
  const ca = str(settings, "tls-ca");
  // With TLS the default is "localhost": a TLS server name cannot be an IP.
  // The server's own port variable, so a container that moves the port
  // with SKYCLUST_PORT needs no extra healthcheck flags.
  const envPort = Number(process.env.SKYCLUST_PORT);
  const port = Number.isInteger(envPort) && envPort > 0 && envPort < 65536 ? envPort : defaultPort;
  const addr = str(settings, "addr") ?? `${ca ? "localhost" : "127.0.0.1"}:${port}`;
  const serverName = str(settings, "tls-server-name");
  const service = str(settings, "service") ?? "";
  const timeoutMs = num(settings, "timeout-ms") ?? 3000;
  const started = Date.now();
  const hostPort = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(addr);
  const fast = !ca && hostPort ? await probeHealthH2c(hostPort[1]!, Number(hostPort[2]), service, timeoutMs) : undefined;
  const status = fast ?? await checkHealth({
    addr,
    service,
    timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
    tls: ca
      ? {
          ca: readFileSync(ca),
          cert: str(settings, "tls-cert") ? readFileSync(str(settings, "tls-cert")!) : undefined,
          key: str(settings, "tls-key") ? readFileSync(str(settings, "tls-key")!) : undefined,
          serverName,
        }
      : undefined,
  });
  console.log(`${addr}: ${status}`);
  return status === "SERVING" ? 0 : 1;
}

export interface HealthCheckTarget {
  addr: string;
  service: string;
  timeoutMs: number;
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer; serverName?: string };
}

/** gRPC status codes by number (the names grpc-js would print). */
const GRPC_CODES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

/** One grpc.health.v1.Health/Check over HTTP/2: the serving status, or "error: CODE: what went wrong". */
export async function checkHealth(target: HealthCheckTarget): Promise<string> {
  const { connect } = await import("node:http2");
  return new Promise((resolve) => {
    let session: ClientHttp2Session | undefined;
    let settled = false;
    const finish = (status: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session?.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => finish("error: DEADLINE_EXCEEDED: no answer before the timeout (--timeout-ms)"), target.timeoutMs);
    const authority = `${target.tls ? "https" : "http"}://${target.addr}`;
    try {
      session = target.tls
        ? connect(authority, { ca: target.tls.ca, cert: target.tls.cert, key: target.tls.key, servername: target.tls.serverName })
        : connect(authority);
    } catch (err) {
      return finish(`error: UNAVAILABLE: ${String((err as Error).message).slice(0, 300)}`);
    }
    session.on("error", (err: NodeJS.ErrnoException) => finish(`error: UNAVAILABLE: ${describeConnectError(err)}`));
    const body = encodeHealthCheckRequest({ service: target.service });
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1); // byte 0: not compressed
    body.copy(frame, 5);
    const req = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    req.on("response", (h) => (headers = h));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", (err: NodeJS.ErrnoException) => finish(`error: UNAVAILABLE: ${describeConnectError(err)}`));
    // A trailers-only answer carries grpc-status in the headers.
    const done = (trailers: IncomingHttpHeaders) => {
      const code = Number(trailers["grpc-status"] ?? headers["grpc-status"]);
      if (!Number.isInteger(code)) return finish(`error: UNKNOWN: no grpc-status in the answer (HTTP ${headers[":status"] ?? "?"})`);
      if (code !== 0) {
        const message = decodeURIComponent(String(trailers["grpc-message"] ?? headers["grpc-message"] ?? "")).slice(0, 300);
        return finish(`error: ${GRPC_CODES[code] ?? `code ${code}`}: ${message}`);
      }
      const reply = Buffer.concat(chunks);
      if (reply.length < 5 || reply.readUInt32BE(1) !== reply.length - 5) return finish("error: INTERNAL: malformed reply");
      try {
        finish(decodeServingStatus(reply.subarray(5)));
      } catch (err) {
        finish(`error: INTERNAL: ${(err as Error).message}`);
      }
    };
    req.on("trailers", done);
    req.on("end", () => done({}));
    req.end(frame);
  });
}

function describeConnectError(err: NodeJS.ErrnoException): string {
  const text = `${err.code ?? ""} ${err.message ?? ""}`;
  if (/ECONNREFUSED/.test(text)) return "nothing is listening there (connection refused)";
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return "the host name does not resolve";
  return (err.message ?? String(err)).slice(0, 300);
}
