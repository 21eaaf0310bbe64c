// The single place where errors become gRPC statuses. ProviderError keeps its
// code; INVALID_ARGUMENT also carries a google.rpc.BadRequest detail (in
// grpc-status-details-bin) naming the field, for clients that read details.
// Anything else is INTERNAL with a generic message: unexpected errors can
// carry secrets or internals, so they go to the log, not to the caller.
import * as grpc from "@grpc/grpc-js";
import { ProviderError, type ErrorCode } from "../errors";

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
    let details = err.message;
    if (err.details.cloudRequestId && !details.includes(err.details.cloudRequestId)) {
      details += ` (request id ${err.details.cloudRequestId})`;
    }
    const metadata = new grpc.Metadata();
    if (err.details.field) {
      metadata.set("grpc-status-details-bin", badRequestStatusDetails(code, details, err.details.field, err.message));
    }
    return { status: { code, details, metadata } };
  }
  const logDetail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { status: { code: grpc.status.INTERNAL, details: "internal error (see the provider's log for the request id)" }, logDetail };
}

export function codeName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}
