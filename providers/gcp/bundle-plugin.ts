// Puts only the Compute Engine descriptors this provider uses into the
// binary. Every generated client of @google-cloud/compute requires the
// package's build/protos/protos.json (~4 MB: google.cloud.compute.v1 and
// v1beta, every service), and gax parses it when a client is built, after
// a JSON.stringify and a hash of the whole text to find its cache entry.
// The REST clients need only the methods they call and the messages
// reachable from them, so the build replaces the file with that subset:
// google.cloud.compute.v1 trimmed to the methods of GCE_METHODS
// (gce-methods.ts) and what they reach, v1beta dropped, every other
// namespace (google.api, google.protobuf, cloud annotations) kept as is.
// A generated client still wraps every method of its service, and a
// dropped one fails only when called; gce-api.ts types the clients down to
// GCE_METHODS so that no code calls one. providers/gcp/binary.test.ts runs
// the trimmed build against the fake Compute Engine server over every call
// the provider makes; bundle-plugin.test.ts checks the walk.
import type { BunPlugin } from "bun";
import { readFileSync } from "node:fs";
import { GCE_METHODS } from "./gce-methods";

/** Methods kept, by v1 service; proto method names are the client's, capitalised. */
export type MethodsByService = Readonly<Record<string, readonly string[]>>;

/** The v1 services gce-api.ts builds clients for. */
export const GCE_SERVICES = Object.keys(GCE_METHODS);

const protoMethod = (clientMethod: string) => clientMethod[0]!.toUpperCase() + clientMethod.slice(1);

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

/** The descriptor JSON with google.cloud.compute reduced to `methods` (in v1) and what they reach. */
export function trimComputeProtos(root: Json, methods: MethodsByService = GCE_METHODS): Json {
  const keep = new Set<string>();
  /** Kept method names (proto spelling) by service path. */
  const keptMethods = new Map<string, Set<string>>();
  const queue: string[][] = [];
  const need = (path: string[] | undefined, ref: string) => {
    if (!path) throw new Error(`compute protos: cannot resolve type "${ref}"`);
    const key = path.join(".");
    if (!keep.has(key)) {
      keep.add(key);
      queue.push(path);
    }
  };
  for (const [name, clientMethods] of Object.entries(methods)) {
    const service = at(root, [...V1, name]);
    if (!service?.methods) throw new Error(`compute protos: no service google.cloud.compute.v1.${name}`);
    const key = [...V1, name].join(".");
    keep.add(key);
    keptMethods.set(key, new Set());
    for (const clientMethod of clientMethods) {
      const method = protoMethod(clientMethod);
      const m = service.methods[method];
      if (!m) throw new Error(`compute protos: no method google.cloud.compute.v1.${name}.${method}`);
      keptMethods.get(key)!.add(method);
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
    if (!isNamespace) {
      const key = path.join(".");
      if (!keep.has(key)) return undefined;
      const kept = keptMethods.get(key);
      return kept ? { ...node, methods: Object.fromEntries(Object.entries<Json>(node.methods).filter(([m]) => kept.has(m))) } : node;
    }
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
