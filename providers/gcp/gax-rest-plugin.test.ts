// What the build's google-gax trim (gax-rest-plugin.ts) changes in a bundle
// of the Compute Engine clients: the left-out modules' code is gone, and
// what replaces them fails loudly when used. That the provider never uses
// them is providers/gcp/binary.test.ts (the compiled binary, every call the
// provider makes, against the fake Compute Engine).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCommonJs } from "../../shared/testing/commonjs";
import { computeProtosPlugin } from "./bundle-plugin";
import { GAX_REST_INDEX, LEFT_OUT_MODULES, LEFT_OUT_PACKAGES, gaxRestOnlyPlugin, leftOutStub } from "./gax-rest-plugin";

const dir = mkdtempSync("/tmp/skyclust-gax-bundle-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bundles gce-api.ts (the six clients, their descriptors trimmed as in the build) and returns its inputs (package paths) and output text. */
async function bundle(extra: import("bun").BunPlugin[]): Promise<{ inputs: string[]; text: string }> {
  const result = (await Bun.build({ entrypoints: [join(import.meta.dir, "gce-api.ts")], target: "bun", outdir: join(dir, String(extra.length)), minify: true, metafile: true, plugins: [computeProtosPlugin, ...extra] } as Parameters<typeof Bun.build>[0])) as Awaited<ReturnType<typeof Bun.build>> & { metafile: { inputs: Record<string, unknown> } };
  expect(result.success).toBe(true);
  const inputs = Object.keys(result.metafile.inputs).map((p) => p.replace(/.*node_modules\//, ""));
  return { inputs, text: (await Promise.all(result.outputs.map((o) => o.text()))).join("\n") };
}

test("the left-out modules are stubs in the bundle, and what only they import is gone", async () => {
  const trimmed = await bundle([gaxRestOnlyPlugin]);
  const full = await bundle([]);
  for (const module of Object.keys(LEFT_OUT_MODULES)) expect(full.inputs).toContain(module);
  for (const name of Object.keys(LEFT_OUT_PACKAGES)) {
    expect(full.inputs).toContain(`${name}/index.js`);
    expect(trimmed.inputs).not.toContain(`${name}/index.js`);
    expect(trimmed.text).toContain(`${LEFT_OUT_PACKAGES[name]} is left out of the gcp binary`);
  }
  // Only they bring these in: the gRPC transport and the mixins' descriptors, streams' polyfill.
  for (const module of ["google-gax/build/src/grpc.js", "google-gax/build/protos/operations.json", "google-gax/build/protos/iam_service.json", "readable-stream/readable.js"]) {
    expect(full.inputs).toContain(module);
    expect(trimmed.inputs).not.toContain(module);
  }
  // Generated static code of the mixins (e.g. google.longrunning.Operation's encoder) is not in the output.
  expect(full.text).toContain("google.longrunning.Operation");
  expect(trimmed.text).not.toContain("google.longrunning.Operation");
  expect(trimmed.text).toContain("is left out of the gcp binary");
  // The REST transport stays.
  expect(trimmed.inputs).toContain("google-gax/build/src/fallbackRest.js");
  expect(trimmed.text.length).toBeLessThan(full.text.length * 0.6);
});

test("a left-out module's stand-in names it and the plugin", () => {
  const stub = loadCommonJs(leftOutStub("the IAM mixin client"));
  expect(() => stub.IamClient).toThrow("the IAM mixin client is left out of the gcp binary: the Compute Engine REST clients never use it (providers/gcp/gax-rest-plugin.ts)");
});

test("the replacement index gives the names the clients read and refuses any other", () => {
  const modules: Record<string, unknown> = { "./fallback": { GrpcClient: class {} }, "./util": { decodeAnyProtosInArray: () => [] }, "google-logging-utils": { log: () => {} } };
  const index = loadCommonJs(GAX_REST_INDEX, (id) => modules[id]);
  expect(index.fallback).toBe(modules["./fallback"]);
  expect(typeof index.decodeAnyProtosInArray).toBe("function");
  expect(index.loggingUtils).toBe(modules["google-logging-utils"]);
  // The gRPC transport (`fallback: false`) is not there.
  expect(() => index.GrpcClient).toThrow("google-gax.GrpcClient is left out of the gcp binary");
  expect(() => index.lro).toThrow(/left out/);
});
