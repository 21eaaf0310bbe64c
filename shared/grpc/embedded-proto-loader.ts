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

function assertEmbedded(filename: string | string[]): void {
  const names = embeddedFileNames();
  for (const wanted of [filename].flat()) {
    const normalized = wanted.replaceAll("\\", "/");
    if (!names.some((name) => normalized.endsWith(name) || normalized.endsWith(name.replace(/^grpc\//, "")))) {
      throw new Error(`proto file ${wanted} is not in the embedded descriptor set`);
    }
  }
}

export function loadSync(filename: string | string[], options?: realLoader.Options): realLoader.PackageDefinition {
  assertEmbedded(filename);
  // grpc-health-check loads with keepCase; @grpc/reflection without it and
  // reads camelCase names (messageRequest, listServices): give each the form
  // generated for its casing.
  const json = options?.keepCase ? PROTOBUF_JSON : LIBRARY_PROTOBUF_JSON;
  return realLoader.fromJSON(JSON.parse(json), options);
}

export async function load(filename: string | string[], options?: realLoader.Options): Promise<realLoader.PackageDefinition> {
  return loadSync(filename, options);
}
