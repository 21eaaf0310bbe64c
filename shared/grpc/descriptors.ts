// The compiled descriptors every server and client in this repo uses. They
// come from the FileDescriptorSet embedded at build time, never from .proto
// files on disk, so a compiled binary needs nothing beside itself.
//
// Nothing here evaluates protobufjs until a message of the contract is
// encoded or decoded: a start that only answers health checks (and
// reflection, grpc/wire.ts) never does, which was ~40 ms of every start.
import * as grpc from "@grpc/grpc-js";
import type protobufTypes from "protobufjs";
import { DESCRIPTOR_SET_BASE64, PROTOBUF_JSON } from "./descriptor-set.generated";

let setBytes: Buffer | undefined;
/** The embedded FileDescriptorSet (decoded from base64 on first use). */
export function descriptorSetBytes(): Buffer {
  setBytes ??= Buffer.from(DESCRIPTOR_SET_BASE64, "base64");
  return setBytes;
}

/** proto-loader's options for our own service (grpc/package-definition.ts): field names as in the proto. */
export const LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const SERVICE_NAME = "skyclust.provider.v1.CloudProviderService";

/** lodash's camelCase, as proto-loader names a method's client alias: "GetInstanceSSHConfig" -> "getInstanceSshConfig". */
function camelCase(name: string): string {
  const words = name.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g) ?? [name];
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase())).join("");
}

type JsonNamespace = { nested?: Record<string, JsonNamespace>; methods?: Record<string, JsonMethod> };
type JsonMethod = { requestType: string; responseType: string; requestStream?: boolean; responseStream?: boolean };

let cachedJson: JsonNamespace | undefined;
let cachedRoot: protobufTypes.Root | undefined;
const cachedServices = new Map<string, grpc.ServiceDefinition>();

/**
 * The contract's protobufjs root, built on the first message encoded or
 * decoded. `require` inside the function keeps the bundler from evaluating
 * protobufjs when this module is (an `import` would, at start-up).
 */
function contractRoot(): protobufTypes.Root {
  if (!cachedRoot) {
    const protobuf = require("protobufjs") as typeof protobufTypes;
    cachedRoot = protobuf.Root.fromJSON(JSON.parse(PROTOBUF_JSON));
  }
  return cachedRoot;
}

/** A message's codec pair, with proto-loader's behaviour (LOADER_OPTIONS), resolved on its first use. */
function lazyCodec(service: string, typeName: string): { serialize: (value: object) => Buffer; deserialize: (bytes: Buffer) => object } {
  let type: protobufTypes.Type | undefined;
  const resolve = () => (type ??= contractRoot().lookupService(service).lookupType(typeName));
  return {
    serialize: (value: object) => {
      const t = resolve();
      if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${t.name} structure, got array instead`);
      return t.encode(t.fromObject(value)).finish() as Buffer;
    },
    deserialize: (bytes: Buffer) => {
      const t = resolve();
      return t.toObject(t.decode(bytes), LOADER_OPTIONS as protobufTypes.IConversionOptions);
    },
  };
}

/**
 * One service's methods with proto-loader's codecs (the same serialize and
 * deserialize functions, with LOADER_OPTIONS), straight from protobufjs.
 * proto-loader's fromJSON also builds a descriptor object and re-encodes the
 * FileDescriptorProtos for every message of the set, which only its
 * reflection support reads (server/reflection.ts serves the embedded set):
 * ~40 ms of CPU at every server start. The method table comes from the
 * embedded JSON (a fraction of a millisecond); protobufjs builds the root
 * on the first message and each message's codec on its first use.
 */
export function serviceDefinition(name: string = SERVICE_NAME): grpc.ServiceDefinition {
  let def = cachedServices.get(name);
  if (def) return def;
  cachedJson ??= JSON.parse(PROTOBUF_JSON) as JsonNamespace;
  let node: JsonNamespace | undefined = cachedJson;
  for (const part of name.split(".")) node = node?.nested?.[part];
  if (!node?.methods) throw new Error(`service ${name} is not in the embedded descriptor set`);
  const methods: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const [method, m] of Object.entries(node.methods)) {
    const request = lazyCodec(name, m.requestType);
    const response = lazyCodec(name, m.responseType);
    methods[method] = {
      path: `/${name}/${method}`,
      requestStream: Boolean(m.requestStream),
      responseStream: Boolean(m.responseStream),
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
      originalName: camelCase(method),
    };
  }
  def = methods as grpc.ServiceDefinition;
  cachedServices.set(name, def);
  return def;
}

/** A client constructor for the provider service (tests, healthcheck, benchmarks). */
export function providerClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeClientConstructor(serviceDefinition(), "CloudProviderService") as grpc.ServiceClientConstructor;
}

/**
 * The serialized FileDescriptorProto of every file in the set, exactly as
 * the compiler wrote them (names and `dependency` lists intact). A
 * FileDescriptorSet is `repeated FileDescriptorProto file = 1`, so this is a
 * plain walk over length-delimited field 1.
 */
export function fileDescriptorProtos(bytes: Uint8Array = descriptorSetBytes()): Buffer[] {
  const files: Buffer[] = [];
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new Error("truncated varint in descriptor set");
      const b = bytes[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (pos < bytes.length) {
    const tag = readVarint();
    if (tag !== 0x0a) throw new Error(`unexpected tag ${tag} in FileDescriptorSet`);
    const len = readVarint();
    files.push(Buffer.from(bytes.subarray(pos, pos + len)));
    pos += len;
  }
  return files;
}
