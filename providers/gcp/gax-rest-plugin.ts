// Keeps out of the gcp binary the parts of google-gax that the REST
// (`fallback: true`) Compute Engine clients never run. The generated clients
// read three names of the google-gax package index (`fallback`, the REST
// transport; `decodeAnyProtosInArray` and `loggingUtils`), but the index and
// the fallback module load everything else too: the gRPC transport, and the
// IAM, Locations and long-running Operations mixin clients with their
// generated static protobuf code (0.6 MiB of minified JavaScript; 1.3 MiB
// of the compiled binary with its bytecode). Compute Engine's own operations are plain REST resources
// (ZoneOperations, GlobalOperations), not google.longrunning, and the
// provider calls no mixin, no upload and no streaming method.
//
// Each module below is replaced at bundle time: the index by one exporting
// only the names the clients read, the others (and duplexify and
// retry-request where gax imports them, which only its streaming calls use)
// by a stub that throws a clear error when anything of it is used (a
// property read, a call, `new`) but can still be loaded, re-exported and
// extended as gax does at load time (shared/left-out-module.ts).
// binary.test.ts runs the compiled binary against the fake Compute Engine
// over every call the provider makes, with a key file, Application Default
// Credentials and an access token; gax-rest-plugin.test.ts checks what the
// bundle holds.
import type { BunPlugin } from "bun";
import { leftOutModule } from "../../shared/left-out-module";

/** What each left-out module is, by its path under node_modules. */
export const LEFT_OUT_MODULES: Record<string, string> = {
  "google-gax/build/protos/iam_service.js": "google.iam.v1 static protobuf code (IAM mixin)",
  "google-gax/build/protos/locations.js": "google.cloud.location static protobuf code (Locations mixin)",
  "google-gax/build/protos/operations.js": "google.longrunning static protobuf code (Compute Engine operations are REST resources)",
  "google-gax/build/src/iamService.js": "the IAM mixin client",
  "google-gax/build/src/locationService.js": "the Locations mixin client",
  "google-gax/build/src/operationsClient.js": "the google.longrunning Operations client",
  "google-gax/build/src/resumableUpload.js": "resumable uploads",
  "google-gax/build/src/resumableSourceFromFile.js": "resumable uploads",
};

/** Packages google-gax needs only for streaming calls (StreamProxy, server-streaming retries): stubbed where gax imports them. */
export const LEFT_OUT_PACKAGES: Record<string, string> = {
  duplexify: "duplexify (google-gax streaming calls)",
  "retry-request": "retry-request (google-gax streaming calls)",
};

const STUB_NAMESPACE = "skyclust-gax-left-out";
const FROM_GAX = /node_modules[\\/]google-gax[\\/]/;

const GAX_INDEX = "google-gax/build/src/index.js";

/** The google-gax index the REST clients get: the names they read, and a clear error for any other. */
export const GAX_REST_INDEX = `
const fallback = require("./fallback");
const exported = {
  fallback,
  decodeAnyProtosInArray: require("./util").decodeAnyProtosInArray,
  loggingUtils: require("google-logging-utils"),
};
module.exports = new Proxy(exported, {
  get(target, key) {
    if (typeof key === "symbol" || key in target || key === "__esModule" || key === "then") return target[key];
    throw new Error("google-gax." + key + " is left out of the gcp binary: its Compute Engine clients use only the REST transport (providers/gcp/gax-rest-plugin.ts)");
  },
});
`;

/** The stand-in for a left-out module (shared/left-out-module.ts): loads, but any use throws. */
export function leftOutStub(what: string): string {
  return leftOutModule(`${what} is left out of the gcp binary: the Compute Engine REST clients never use it (providers/gcp/gax-rest-plugin.ts)`, { exports: "throw" });
}

function packagePath(path: string): string | undefined {
  const normalized = path.replaceAll("\\", "/");
  const i = normalized.lastIndexOf("/node_modules/");
  return i < 0 ? undefined : normalized.slice(i + "/node_modules/".length);
}

export const gaxRestOnlyPlugin: BunPlugin = {
  name: "gax-rest-only",
  setup(build) {
    build.onLoad({ filter: /node_modules[\\/]google-gax[\\/].*\.js$/ }, (args) => {
      const module = packagePath(args.path);
      if (module === GAX_INDEX) return { contents: GAX_REST_INDEX, loader: "js" };
      const what = module && LEFT_OUT_MODULES[module];
      return what ? { contents: leftOutStub(what), loader: "js" } : undefined;
    });
    build.onResolve({ filter: /^(duplexify|retry-request)$/ }, (args) => {
      if (!FROM_GAX.test(args.importer)) return undefined;
      return { path: args.path, namespace: STUB_NAMESPACE };
    });
    build.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({ contents: leftOutStub(LEFT_OUT_PACKAGES[args.path] ?? args.path), loader: "js" }));
  },
};
