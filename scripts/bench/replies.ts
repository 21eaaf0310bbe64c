// Captures a server's reply to a load case as raw protobuf bytes, and turns
// the provider's replies into the JSON file the bare baseline serves
// (bare-server.ts): decoded without defaults, so the baseline re-encodes
// exactly the fields the provider put on the wire (same bytes, checked).
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { PROTOBUF_JSON } from "../../shared/grpc/descriptor-set.generated";
import { SERVICE_NAME } from "../../shared/grpc/descriptors";
import { grpcFrame, type LoadCase } from "./load";

let cachedRoot: protobuf.Root | undefined;
const root = () => (cachedRoot ??= protobuf.Root.fromJSON(JSON.parse(PROTOBUF_JSON)));

/** The serialized reply (no gRPC frame) of one unary call. */
export function rawReply(address: string, method: string, request: Record<string, unknown>): Promise<Buffer> {
  const body = Buffer.from(grpcFrame(method, request).subarray(5));
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      `/${SERVICE_NAME}/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, reply) => (err || !reply ? reject(err ?? new Error(`${method}: empty reply`)) : resolve(reply)),
    );
  }).finally(() => client.close());
}

/** The reply as the plain object a handler returns (only the fields on the wire). */
export function replyObject(method: string, bytes: Uint8Array): object {
  const service = root().lookupService(SERVICE_NAME);
  const type = root().lookupType(service.methods[method]!.responseType);
  return type.toObject(type.decode(bytes), { longs: Number, enums: String, defaults: false, arrays: false, objects: false });
}

/** Captures every case's reply from `address`: method -> plain object, and method -> reply bytes. */
export async function captureReplies(address: string, cases: LoadCase[]): Promise<{ objects: Record<string, object>; bytes: Record<string, number> }> {
  const objects: Record<string, object> = {};
  const bytes: Record<string, number> = {};
  for (const c of cases) {
    if (objects[c.method]) continue;
    const raw = await rawReply(address, c.method, c.request);
    objects[c.method] = replyObject(c.method, raw);
    bytes[c.method] = raw.length;
  }
  return { objects, bytes };
}
