// The three ways a user can run the same aws provider code:
//   compiled  the standalone binary from scripts/build.ts (bun build --compile)
//   bun run   the sources run by bun (bun providers/aws/main.ts)
//   node      the sources bundled with `bun build --target=node`, run by Node.js
// Built into a temporary folder so the benchmark never touches dist/.
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { buildProviders, embeddedProtoLoader, PROVIDERS } from "../build";
import { ssh2PureJsPlugin } from "../../shared/ssh/bundle-plugin";
import type { ServerCommand } from "./server-process";

const root = resolve(import.meta.dir, "..", "..");

export interface BuiltVariants {
  commands: ServerCommand[];
  /** Bytes per provider binary. */
  binarySizes: Record<string, number>;
  binaryPaths: Record<string, string>;
  nodeBundleBytes: number;
  nodeVersion: string;
  bunVersion: string;
  buildSeconds: number;
}

/** Node bundle of a provider entry point, with the same plugins as the compiled build. */
export async function bundleForNode(provider: string, outdir: string): Promise<string> {
  const result = await Bun.build({
    entrypoints: [join(root, "providers", provider, "main.ts")],
    target: "node",
    format: "esm",
    outdir,
    naming: `${provider}-main.mjs`,
    minify: true,
    plugins: [embeddedProtoLoader, ssh2PureJsPlugin],
    define: { SKYCLUST_BUILD_VERSION: JSON.stringify(pkg.version) },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error(`node bundle of ${provider} failed`);
  }
  return result.outputs[0]!.path;
}

export async function buildVariants(workDir: string, allProviders: boolean): Promise<BuiltVariants> {
  const started = performance.now();
  const binaries = await buildProviders({ providers: allProviders ? PROVIDERS : ["aws"], outdir: join(workDir, "bin") });
  const binarySizes: Record<string, number> = {};
  const binaryPaths: Record<string, string> = {};
  for (const file of binaries) {
    const provider = /skyclust-(\w+)-provider/.exec(file)![1]!;
    binarySizes[provider] = statSync(file).size;
    binaryPaths[provider] = file;
  }
  const nodeEntry = await bundleForNode("aws", join(workDir, "node"));
  const node = Bun.spawnSync(["node", "--version"]);
  if (node.exitCode !== 0) throw new Error("node is not on PATH");
  return {
    commands: [
      { label: "compiled", argv: [join(workDir, "bin", "skyclust-aws-provider")] },
      { label: "bun run", argv: [process.execPath, join(root, "providers", "aws", "main.ts")] },
      { label: "node", argv: ["node", nodeEntry] },
    ],
    binarySizes,
    binaryPaths,
    nodeBundleBytes: statSync(nodeEntry).size,
    nodeVersion: node.stdout.toString().trim(),
    bunVersion: Bun.version,
    buildSeconds: (performance.now() - started) / 1000,
  };
}
