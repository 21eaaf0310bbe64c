// proto-loader's package definition of the embedded set: every message and
// service with proto-loader's own codecs. For clients and tests that want an
// implementation independent of the server's (grpc/descriptors.ts, the hand
// codecs in grpc/wire.ts); no server or binary start loads it (proto-loader
// and protobufjs cost ~40 ms to evaluate).
import { fromJSON, type Options, type PackageDefinition } from "@grpc/proto-loader";
import { PROTOBUF_JSON } from "./descriptor-set.generated";
import { LOADER_OPTIONS } from "./descriptors";

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
