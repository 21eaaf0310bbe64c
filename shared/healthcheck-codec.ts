// The two grpc.health.v1 messages the `healthcheck` subcommand speaks, by
// hand (shared/healthcheck.ts, shared/grpc/h2c-health-probe.ts).
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
