// `<binary> healthcheck`: asks grpc.health.v1.Health/Check and exits 0 only
// for SERVING. Distroless images have no shell and no grpc_health_probe, so
// the binary checks itself (Dockerfile HEALTHCHECK, compose, Kubernetes exec).
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { parseArgs, renderHelp, str, num, type FlagSpec } from "./config";

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
  const creds = ca
    ? grpc.credentials.createSsl(
        readFileSync(ca),
        str(settings, "tls-key") ? readFileSync(str(settings, "tls-key")!) : null,
        str(settings, "tls-cert") ? readFileSync(str(settings, "tls-cert")!) : null,
      )
    : grpc.credentials.createInsecure();
  const serverName = str(settings, "tls-server-name");
  const client = new grpc.Client(addr, creds, serverName ? { "grpc.ssl_target_name_override": serverName } : {});
  const deadline = Date.now() + (num(settings, "timeout-ms") ?? 3000);
  const status = await new Promise<string>((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      encodeHealthCheckRequest,
      decodeServingStatus,
      { service: str(settings, "service") ?? "" },
      new grpc.Metadata(),
      { deadline },
      (err, res) => resolve(err ? `error: ${grpc.status[err.code]}: ${describeFailure(err)}` : res!),
    );
  });
  client.close();
  console.log(`${addr}: ${status}`);
  return status === "SERVING" ? 0 : 1;
}

/** grpc-js details end in an empty "Resolution note: " and wrap the socket error; keep what a person needs. */
export function describeFailure(err: grpc.ServiceError): string {
  const details = (err.details ?? "").replace(/\.?\s*Resolution note:\s*$/, "");
  if (/ECONNREFUSED/.test(details)) return "nothing is listening there (connection refused)";
  if (/ENOTFOUND|EAI_AGAIN/.test(details)) return "the host name does not resolve";
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return "no answer before the timeout (--timeout-ms)";
  return details.slice(0, 300);
}

// grpc.health.v1 messages by hand: HealthCheckRequest is `string service = 1`,
// HealthCheckResponse is `ServingStatus status = 1`. Building them from the
// descriptor set would load proto-loader and protobufjs, which the container
// health check (run every 10 s) does not need.
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

export function encodeHealthCheckRequest(req: { service: string }): Buffer {
  const name = Buffer.from(req.service, "utf8");
  if (name.length === 0) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
}

export function decodeServingStatus(body: Buffer): string {
  // Field 1, varint (tag 0x08); absent means 0 (UNKNOWN). Other fields skipped.
  let i = 0;
  let status = 0;
  while (i < body.length) {
    const tag = body[i++]!;
    const wire = tag & 7;
    if (wire === 0) {
      const [value, next] = readVarint(body, i);
      if (tag >> 3 === 1) status = value;
      i = next;
    } else if (wire === 2) {
      const [len, next] = readVarint(body, i);
      i = next + len;
    } else {
      throw new Error(`unexpected wire type ${wire} in HealthCheckResponse`);
    }
  }
  return SERVING_STATUS[status] ?? `status ${status}`;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

function readVarint(buf: Buffer, start: number): [number, number] {
  let value = 0;
  let shift = 0;
  let i = start;
  for (;;) {
    if (i >= buf.length || shift > 28) throw new Error("truncated varint in HealthCheckResponse");
    const byte = buf[i++]!;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value >>> 0, i];
    shift += 7;
  }
}
