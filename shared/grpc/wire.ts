// The protobuf wire format by hand, for the few small messages the server
// answers before any of the contract's codecs exist: health (Check, Watch,
// List) and server reflection, whose answers are the embedded
// FileDescriptorProtos as they are. Building those codecs from the
// descriptor set would evaluate protobufjs (and, for @grpc/reflection,
// @grpc/proto-loader) at every start: ~60 ms of the ~130 ms of CPU a
// sandbox start took (scripts/BENCHMARKS.md, "Start-up to SERVING").

export class WireError extends Error {}

/** Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (groups, 3 and 4, are rejected). */
export type WireValue = { wire: 0; value: number } | { wire: 2; value: Buffer } | { wire: 1 | 5; value: Buffer };

/**
 * Calls `visit` for every field of one message, in order. A varint wider
 * than 53 bits loses precision (no field read here carries one); truncated
 * input and group wire types throw WireError.
 */
export function forEachField(bytes: Uint8Array, visit: (field: number, value: WireValue) => void): void {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= buf.length) throw new WireError("truncated varint");
      if (shift > 63) throw new WireError("varint longer than 10 bytes");
      const b = buf[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
  };
  const take = (len: number): Buffer => {
    if (len > buf.length - pos) throw new WireError("field runs past the end of the message");
    const out = buf.subarray(pos, pos + len);
    pos += len;
    return out;
  };
  while (pos < buf.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new WireError("field number 0");
    if (wire === 0) visit(field, { wire, value: readVarint() });
    else if (wire === 2) visit(field, { wire, value: take(readVarint()) });
    else if (wire === 1) visit(field, { wire, value: take(8) });
    else if (wire === 5) visit(field, { wire, value: take(4) });
    else throw new WireError(`unsupported wire type ${wire}`);
  }
}

/** The string in a length-delimited field; any other wire type for it is an error. */
export function stringOf(field: number, v: WireValue): string {
  if (v.wire !== 2) throw new WireError(`field ${field}: expected a string`);
  return v.value.toString("utf8");
}

export function varintOf(field: number, v: WireValue): number {
  if (v.wire !== 0) throw new WireError(`field ${field}: expected a varint`);
  return v.value;
}

function varintBytes(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint ${n} out of range`);
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** Encodes fields in the order given; proto3 defaults (0, "") are left out as protobufjs does. */
export class MessageWriter {
  private readonly parts: Buffer[] = [];

  varint(field: number, n: number): this {
    if (n !== 0) this.parts.push(Buffer.from([...varintBytes(field * 8), ...varintBytes(n)]));
    return this;
  }

  bytes(field: number, bytes: Uint8Array, always = false): this {
    if (bytes.length === 0 && !always) return this;
    this.parts.push(Buffer.from([...varintBytes(field * 8 + 2), ...varintBytes(bytes.length)]), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, "utf8"));
  }

  /** A packed repeated varint field (proto3's default for repeated scalars). */
  packedVarints(field: number, ns: number[]): this {
    return this.bytes(field, Buffer.from(ns.flatMap(varintBytes)));
  }

  /** An embedded message: written even when empty (its presence is the information). */
  message(field: number, body: Buffer): this {
    return this.bytes(field, body, true);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
