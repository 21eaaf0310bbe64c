// Stand-in for `@grpc/proto-loader` inside the compiled binaries, for the
// libraries that load their own .proto files from disk at run time
// (grpc-health-check at import, @grpc/reflection in addToServer). The build
// (scripts/build.ts) points their `@grpc/proto-loader` import here, so those
// loads are answered from the FileDescriptorSet embedded in the binary: the
// build machine's node_modules paths baked into the bundle are never opened.
import * as realLoader from "@grpc/proto-loader";
import { LIBRARY_PROTOBUF_JSON, PROTOBUF_JSON } from "./descriptor-set.generated";
import { fileDescriptorProtos } from "./descriptors";

export * from "@grpc/proto-loader";

function embeddedFileNames(): string[] {
  // Each FileDescriptorProto starts with field 1 `name`.
  return fileDescriptorProtos().map((fdp) => {
    if (fdp[0] !== 0x0a) return "";
    const len = fdp[1]!; // names here are < 128 bytes
    return fdp.subarray(2, 2 + len).toString("utf8");
  });
}

/** The embedded file a library asks for by its on-disk path (which ends in the embedded name, or in it minus "grpc/"). */
function embeddedName(wanted: string): string {
  const normalized = wanted.replaceAll("\\", "/");
  const name = embeddedFileNames().find((n) => normalized.endsWith(n) || normalized.endsWith(n.replace(/^grpc\//, "")));
  if (!name) throw new Error(`proto file ${wanted} is not in the embedded descriptor set`);
  return name;
}

export function loadSync(filename: string | string[], options?: realLoader.Options): realLoader.PackageDefinition {
  const files = [filename].flat().map(embeddedName);
  // grpc-health-check loads with keepCase; @grpc/reflection without it and
  // reads camelCase names (messageRequest, listServices): give each the form
  // generated for its casing.
  const json = options?.keepCase ? PROTOBUF_JSON : LIBRARY_PROTOBUF_JSON;
  // Only the requested files' packages: building codecs for the whole set
  // (our contract included) at every start cost ~30 ms for health alone.
  return realLoader.fromJSON(onlyPackages(JSON.parse(json), files.map(packageOfFile)), options);
}

/** "grpc/health/v1/health.proto" -> ["grpc", "health", "v1"]: the embedded files live in their package's folder. */
function packageOfFile(embedded: string): string[] {
  return embedded.split("/").slice(0, -1);
}

type JsonNamespace = { nested?: Record<string, JsonNamespace> } & Record<string, unknown>;

/** The protobufjs JSON tree cut down to the given package paths (which import nothing outside themselves). */
export function onlyPackages(root: JsonNamespace, packages: string[][]): JsonNamespace {
  const out: JsonNamespace = { nested: {} };
  for (const path of packages) {
    let from: JsonNamespace | undefined = root;
    let to = out;
    path.forEach((name, i) => {
      from = from?.nested?.[name];
      if (!from) throw new Error(`package ${path.join(".")} is not in the embedded descriptor set`);
      to.nested ??= {};
      to = to.nested[name] ??= i === path.length - 1 ? from : { nested: {} };
    });
  }
  return out;
}

export async function load(filename: string | string[], options?: realLoader.Options): Promise<realLoader.PackageDefinition> {
  return loadSync(filename, options);
}
