// Puts only the Compute Engine descriptors this provider uses into the
// binary. Every generated client of @google-cloud/compute requires the
// package's build/protos/protos.json (~4 MB: google.cloud.compute.v1 and
// v1beta, every service), and gax parses it when a client is built, after
// a JSON.stringify and a hash of the whole text to find its cache entry.
// The REST clients need only their own service and the messages reachable
// from it, so the build replaces the file with that subset: google.cloud.
// compute.v1 trimmed to what GCE_SERVICES reach, v1beta dropped, every other
// namespace (google.api, google.protobuf, cloud annotations) kept as is.
// providers/gcp/binary.test.ts runs the trimmed build against the fake
// Compute Engine server; bundle-plugin.test.ts checks the walk.
import type { BunPlugin } from "bun";
import { readFileSync } from "node:fs";

/** The v1 services gce-api.ts builds clients for. */
export const GCE_SERVICES = ["Instances", "Disks", "ZoneOperations", "GlobalOperations", "Regions", "Projects"];

const COMPUTE = ["google", "cloud", "compute"];
const V1 = [...COMPUTE, "v1"];

type Json = Record<string, any>;

function at(root: Json, path: string[]): Json | undefined {
  let node: Json | undefined = root;
  for (const part of path) node = node?.nested?.[part];
  return node;
}

/** protobufjs' lookup: the name relative to `scope`, then to each enclosing namespace, up to the root. */
function resolve(root: Json, scope: string[], ref: string): string[] | undefined {
  const parts = ref.replace(/^\./, "").split(".");
  if (ref.startsWith(".")) return at(root, parts) ? parts : undefined;
  for (let i = scope.length; i >= 0; i--) {
    const candidate = [...scope.slice(0, i), ...parts];
    if (at(root, candidate)) return candidate;
  }
  return undefined;
}

const SCALARS = new Set(["double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"]);

/** The descriptor JSON with google.cloud.compute reduced to what `services` (in v1) reach. */
export function trimComputeProtos(root: Json, services: readonly string[] = GCE_SERVICES): Json {
  const keep = new Set<string>();
  const queue: string[][] = [];
  const need = (path: string[] | undefined, ref: string) => {
    if (!path) throw new Error(`compute protos: cannot resolve type "${ref}"`);
    const key = path.join(".");
    if (!keep.has(key)) {
      keep.add(key);
      queue.push(path);
    }
  };
  for (const name of services) {
    const service = at(root, [...V1, name]);
    if (!service?.methods) throw new Error(`compute protos: no service google.cloud.compute.v1.${name}`);
    keep.add([...V1, name].join("."));
    for (const m of Object.values<Json>(service.methods)) {
      need(resolve(root, V1, m.requestType), m.requestType);
      need(resolve(root, V1, m.responseType), m.responseType);
    }
  }
  // A kept message keeps its nested types, so their fields are walked too.
  const walkMessage = (path: string[], node: Json) => {
    for (const f of Object.values<Json>(node.fields ?? {})) {
      for (const t of [f.type, f.keyType]) if (t && !SCALARS.has(t)) need(resolve(root, path, t), t);
    }
    for (const [name, child] of Object.entries<Json>(node.nested ?? {})) walkMessage([...path, name], child);
  };
  while (queue.length) {
    const path = queue.pop()!;
    walkMessage(path, at(root, path)!);
  }
  // Copy: namespaces outside google.cloud.compute whole; inside it the kept
  // types and services, and the namespaces holding them.
  const copy = (node: Json, path: string[]): Json | undefined => {
    const onPathToCompute = path.length < COMPUTE.length && path.every((p, i) => COMPUTE[i] === p);
    const inCompute = path.length >= COMPUTE.length && COMPUTE.every((p, i) => path[i] === p);
    if (!onPathToCompute && !inCompute) return node;
    const isNamespace = !node.fields && !node.values && !node.methods;
    if (!isNamespace) return keep.has(path.join(".")) ? node : undefined;
    const nested: Json = {};
    for (const [name, child] of Object.entries<Json>(node.nested ?? {})) {
      const kept = copy(child, [...path, name]);
      if (kept) nested[name] = kept;
    }
    if (inCompute && Object.keys(nested).length === 0) return undefined;
    return { ...node, nested };
  };
  return copy(root, [])!;
}

const PROTOS_JSON = /node_modules\/@google-cloud\/compute\/build\/protos\/protos\.json$/;

export const computeProtosPlugin: BunPlugin = {
  name: "trim-compute-protos",
  setup(build) {
    build.onLoad({ filter: /protos\.json$/ }, (args) => {
      if (!PROTOS_JSON.test(args.path.replaceAll("\\", "/"))) return undefined;
      const trimmed = trimComputeProtos(JSON.parse(readFileSync(args.path, "utf8")));
      // As a string parsed at load: a JSON module becomes one large object
      // literal, whose precompiled bytecode is several times the text.
      return { contents: `module.exports = JSON.parse(${JSON.stringify(JSON.stringify(trimmed))});`, loader: "js" };
    });
  },
};
