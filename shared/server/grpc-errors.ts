// The single place where errors become gRPC statuses. ProviderError keeps its
// code; INVALID_ARGUMENT also carries a google.rpc.BadRequest detail (in
// grpc-status-details-bin) naming the field, for clients that read details.
// Anything else is INTERNAL with a generic message: unexpected errors can
// carry secrets or internals, so they go to the log, not to the caller.
import * as grpc from "@grpc/grpc-js";
import { ProviderError, type ErrorCode } from "../errors";
import { scrub } from "../cloud/scrub";
import { bounded } from "../quote";

/**
 * The status message travels in grpc-message (percent-encoded: up to 3x
 * for non-ASCII bytes) and twice more (message and the field's
 * description, base64) in grpc-status-details-bin, so its UTF-8 size counts
 * up to about six times against the client's metadata limit (8 KB by
 * default): 512 bytes keeps a status near 3 KB at worst. Messages
 * quote input through quote(); this cap is the net under every message,
 * including upstream text, so a status stays far below that limit.
 */
export const MAX_STATUS_MESSAGE = 512;
const MAX_FIELD = 160;

const CODES: Record<ErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  CANCELLED: grpc.status.CANCELLED,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
  INTERNAL: grpc.status.INTERNAL,
};

// Minimal protobuf writer: google.rpc.Status and BadRequest hold only
// varints, strings and nested messages.
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}
function lengthDelimited(fieldNo: number, payload: Uint8Array): number[] {
  return [...varint((fieldNo << 3) | 2), ...varint(payload.length), ...payload];
}
const utf8 = (s: string) => new TextEncoder().encode(s);

/** Serialized google.rpc.Status with one google.rpc.BadRequest detail. */
export function badRequestStatusDetails(code: number, message: string, field: string, description: string): Buffer {
  const violation = new Uint8Array([...lengthDelimited(1, utf8(field)), ...lengthDelimited(2, utf8(description))]);
  const badRequest = new Uint8Array(lengthDelimited(1, violation));
  const any = new Uint8Array([
    ...lengthDelimited(1, utf8("type.googleapis.com/google.rpc.BadRequest")),
    ...lengthDelimited(2, badRequest),
  ]);
  const status = new Uint8Array([...varint((1 << 3) | 0), ...varint(code), ...lengthDelimited(2, utf8(message)), ...lengthDelimited(3, any)]);
  return Buffer.from(status);
}

export interface MappedError {
  status: Partial<grpc.StatusObject> & { code: grpc.status; details: string };
  /** For the log: the original error's text, which may be more detailed. */
  logDetail?: string;
}

export function toGrpcError(err: unknown): MappedError {
  if (err instanceof ProviderError) {
    const code = CODES[err.code];
    // The net under every backend: a message that quotes upstream text is
    // scrubbed of credentials here even if its backend forgot to (scrubbed
    // before the cut, so a secret is never half-kept).
    const message = bounded(scrub(err.message), MAX_STATUS_MESSAGE);
    let details = message;
    const requestId = err.details.cloudRequestId ? bounded(scrub(err.details.cloudRequestId), 128) : undefined;
    if (requestId && !details.includes(requestId)) details += ` (request id ${requestId})`;
    const metadata = new grpc.Metadata();
    if (err.details.field) {
      metadata.set("grpc-status-details-bin", badRequestStatusDetails(code, details, bounded(scrub(err.details.field), MAX_FIELD), message));
    }
    return { status: { code, details, metadata } };
  }
  const logDetail = scrub(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  return { status: { code: grpc.status.INTERNAL, details: "internal error (see the provider's log for the request id)" }, logDetail };
}

export function codeName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}
