// grpc.health.v1.Health/Check over cleartext HTTP/2 on a raw Bun socket:
// the `healthcheck` subcommand's fast path. node:http2's client costs
// ~13 MB of RSS and tens of milliseconds to load in a compiled binary
// (a compiled program that only opens an HTTP/2 session peaks at ~40 MB,
// one on Bun.connect at ~28 MB; scripts/BENCHMARKS.md), and container
// engines run the check every 10 s.
//
// It writes the request with HPACK literals (no table, no Huffman) and
// reads only what the answer needs without an HPACK decoder: the DATA of
// stream 1, a single gRPC message holding the serving status. Anything
// else (no message, a reset, TLS, a malformed frame) gives undefined, and
// the caller asks again with the full client, which decodes grpc-status and
// grpc-message for the error text.
import { decodeServingStatus, encodeHealthCheckRequest } from "../healthcheck-codec";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
/** The reply is a few bytes; a peer sending more than this is not a health server. */
const MAX_REPLY_BYTES = 64 * 1024;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK "literal header field without indexing, new name", no Huffman (RFC 7541 6.2.2). */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, "latin1");
  const v = Buffer.from(value, "latin1");
  return Buffer.concat([Buffer.from([0x00]), hpackLength(n.length), n, hpackLength(v.length), v]);
}

function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  n -= 127;
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** The bytes a client sends for one Check on stream 1: preface, SETTINGS, HEADERS, DATA. */
export function checkRequestBytes(authority: string, service: string): Buffer {
  const headers = Buffer.concat([
    literal(":method", "POST"),
    literal(":scheme", "http"),
    literal(":path", "/grpc.health.v1.Health/Check"),
    literal(":authority", authority),
    literal("content-type", "application/grpc"),
    literal("te", "trailers"),
  ]);
  const body = encodeHealthCheckRequest({ service });
  const message = Buffer.alloc(5 + body.length);
  message.writeUInt32BE(body.length, 1);
  body.copy(message, 5);
  return Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), frame(HEADERS, END_HEADERS, 1, headers), frame(DATA, END_STREAM, 1, message)]);
}

/** The serving status from the raw answer, or undefined when the answer holds no plain reply message. */
export async function probeHealthH2c(host: string, port: number, service: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve) => {
    let inbox = Buffer.alloc(0);
    const reply: Buffer[] = [];
    let replyBytes = 0;
    let settled = false;
    let socket: { end(): void; write(b: Buffer): number } | undefined;
    const finish = (result: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.end();
      resolve(result);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const onFrames = () => {
      while (inbox.length >= 9) {
        const length = inbox.readUIntBE(0, 3);
        if (inbox.length < 9 + length) return;
        const type = inbox[3]!;
        const flags = inbox[4]!;
        const stream = inbox.readUInt32BE(5) & 0x7fffffff;
        let payload = inbox.subarray(9, 9 + length);
        inbox = inbox.subarray(9 + length);
        if (type === SETTINGS && !(flags & ACK)) socket?.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
        else if (type === GOAWAY || (type === RST_STREAM && stream === 1)) return finish(undefined);
        else if (stream === 1 && (type === DATA || type === HEADERS)) {
          if (type === DATA) {
            if (flags & PADDED) payload = payload.subarray(1, payload.length - payload[0]!);
            replyBytes += payload.length;
            if (replyBytes > MAX_REPLY_BYTES) return finish(undefined);
            reply.push(Buffer.from(payload));
          }
          if (flags & END_STREAM) return finish(decodeReply(Buffer.concat(reply)));
        }
      }
    };
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(s) {
          socket = s;
          s.write(checkRequestBytes(`${host}:${port}`, service));
        },
        data(_s, chunk) {
          inbox = Buffer.concat([inbox, chunk]);
          onFrames();
        },
        close: () => finish(undefined),
        error: () => finish(undefined),
        connectError: () => finish(undefined),
      },
    }).catch(() => finish(undefined));
  });
}

/** One uncompressed gRPC message holding a HealthCheckResponse, else undefined. */
function decodeReply(bytes: Buffer): string | undefined {
  if (bytes.length < 5 || bytes[0] !== 0 || bytes.readUInt32BE(1) !== bytes.length - 5) return undefined;
  try {
    return decodeServingStatus(bytes.subarray(5));
  } catch {
    return undefined;
  }
}
