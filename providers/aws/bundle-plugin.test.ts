// What the build's AWS SDK trim (bundle-plugin.ts) changes in a bundle of
// the aws backend: the left-out modules' code is gone, stand-ins naming
// them are there, and a build without the plugin would carry them. That the
// provider never uses them is binary.test.ts (the compiled binary against
// moto).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadCommonJs } from "../../shared/testing/commonjs";
import { LEFT_OUT, awsSdkTrimPlugin, leftOutStub } from "./bundle-plugin";

const dir = mkdtempSync("/tmp/skyclust-aws-bundle-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundle(plugins: import("bun").BunPlugin[]): Promise<{ inputs: string[]; text: string }> {
  const result = (await Bun.build({ entrypoints: [join(import.meta.dir, "backend.ts")], target: "bun", outdir: join(dir, String(plugins.length)), minify: true, metafile: true, plugins } as Parameters<typeof Bun.build>[0])) as Awaited<ReturnType<typeof Bun.build>> & { metafile: { inputs: Record<string, unknown> } };
  expect(result.success).toBe(true);
  const inputs = Object.keys(result.metafile.inputs).map((p) => p.replace(/.*node_modules\//, ""));
  return { inputs, text: (await Promise.all(result.outputs.map((o) => o.text()))).join("\n") };
}

test("CBOR, event streams and bowser are stand-ins in the aws bundle", async () => {
  const trimmed = await bundle([awsSdkTrimPlugin]);
  const full = await bundle([]);
  const files: Record<string, string> = {
    "@smithy/core/cbor": "@smithy/core/dist-cjs/submodules/cbor/index.js",
    "@smithy/core/event-streams": "@smithy/core/dist-cjs/submodules/event-streams/index.js",
    bowser: "bowser/es5.js",
  };
  expect(Object.keys(files).sort()).toEqual(Object.keys(LEFT_OUT).sort());
  for (const [module, file] of Object.entries(files)) {
    expect(full.inputs).toContain(file);
    expect(trimmed.inputs).not.toContain(file);
    expect(trimmed.text).toContain(`${module} is left out of the aws binary`);
  }
  // The protocols EC2 and STS speak stay.
  expect(trimmed.text).toContain("AwsEc2QueryProtocol");
  expect(trimmed.text.length).toBeLessThan(full.text.length - 60_000);
});

test("a stand-in names the module and why it is left out", () => {
  const cbor = loadCommonJs(leftOutStub("@smithy/core/cbor"));
  const { SmithyRpcV2CborProtocol } = cbor; // what @aws-sdk/core/protocols does at load
  class AwsSmithyRpcV2CborProtocol extends SmithyRpcV2CborProtocol {}
  expect(() => new AwsSmithyRpcV2CborProtocol()).toThrow("@smithy/core/cbor is left out of the aws binary: no client of the aws provider speaks Smithy RPCv2 CBOR (providers/aws/bundle-plugin.ts)");
});
