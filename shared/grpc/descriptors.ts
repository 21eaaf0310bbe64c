// The compiled descriptors every server and client in this repo uses. They
// come from the FileDescriptorSet embedded at build time, never from .proto
// files on disk, so a compiled binary needs nothing beside itself.
import * as grpc from "@grpc/grpc-js";
import { fromJSON, type Options, type PackageDefinition } from "@grpc/proto-loader";
import { DESCRIPTOR_SET_BASE64, PROTOBUF_JSON } from "./descriptor-set.generated";

export const descriptorSetBytes: Buffer = Buffer.from(DESCRIPTOR_SET_BASE64, "base64");

/** proto-loader options used for our own service: field names as in the proto. */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const SERVICE_NAME = "skyclust.provider.v1.CloudProviderService";

const cachedDefinitions = new Map<string, PackageDefinition>();

/** Codecs for every message and service, built from the embedded JSON form. */
export function packageDefinition(options: Options = LOADER_OPTIONS): PackageDefinition {
  const key = JSON.stringify(options, (_k, v) => (typeof v === "function" ? v.name : v));
  let def = cachedDefinitions.get(key);
  if (!def) {
    def = fromJSON(JSON.parse(PROTOBUF_JSON), options);
    cachedDefinitions.set(key, def);
  }
  return def;
}

export function serviceDefinition(name: string = SERVICE_NAME): grpc.ServiceDefinition {
  const def = packageDefinition()[name];
  if (!def || "format" in def) throw new Error(`service ${name} is not in the embedded descriptor set`);
  return def as grpc.ServiceDefinition;
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
export function fileDescriptorProtos(bytes: Uint8Array = descriptorSetBytes): Buffer[] {
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
