// The three ways a user can run the same aws provider code:
//   compiled  the standalone binary from scripts/build.ts (bun build --compile)
//   bun run   the sources run by bun (bun providers/aws/main.ts)
//   node      the sources bundled with `bun build --target=node`, run by Node.js
// Built into a temporary folder so the benchmark never touches dist/.
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { BUILD_PLUGINS, buildProviders, PROVIDERS } from "../build";
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
    plugins: BUILD_PLUGINS,
    define: { SKYCLUST_BUILD_VERSION: JSON.stringify(pkg.version) },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error(`node bundle of ${provider} failed`);
  }
  return result.outputs[0]!.path;
}

/**
 * The bare grpc-js baseline (bare-server.ts), compiled exactly like a
 * provider binary: same bundler plugins, minified, with bytecode.
 */
export async function compileBareServer(workDir: string): Promise<string> {
  const outfile = join(workDir, "bin", "bare-grpc-js");
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "bare-server.ts")],
    compile: { outfile, autoloadDotenv: false, autoloadBunfig: false, autoloadTsconfig: false, autoloadPackageJson: false },
    bytecode: true,
    minify: true,
    sourcemap: "none",
    plugins: BUILD_PLUGINS,
    define: { SKYCLUST_BUILD_VERSION: JSON.stringify(pkg.version) },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error("compiling the bare grpc-js server failed");
  }
  return outfile;
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

/**
 * What a provider's bundle holds: the minified JavaScript by package (from
 * the bundler's metafile), largest first. The binary also carries the
 * bytecode compiled from it, about as large again.
 */
export async function bundleComposition(provider: string, outdir: string): Promise<{ totalBytes: number; byPackage: [string, number][] }> {
  const result = await Bun.build({
    entrypoints: [join(root, "providers", provider, "main.ts")],
    target: "bun",
    outdir: join(outdir, `metafile-${provider}`),
    // Split like the shipped build (scripts/build.ts), so the table counts what the binary holds.
    format: "esm",
    splitting: true,
    minify: true,
    metafile: true,
    plugins: BUILD_PLUGINS,
    define: { SKYCLUST_BUILD_VERSION: JSON.stringify(pkg.version) },
  } as Parameters<typeof Bun.build>[0]);
  if (!result.success) throw new Error(`bundle of ${provider} failed`);
  const metafile = (result as unknown as { metafile: { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> } }).metafile;
  const byPackage = new Map<string, number>();
  let totalBytes = 0;
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      // node_modules/@scope/name/build/protos/protos.js -> "@scope/name (build/protos/protos.js)" for the big files, else the package.
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
      const key = m ? (bytesInOutput > 1_000_000 ? `${m[1]} (${m[2]})` : m[1]!) : path.split("/").slice(0, 2).join("/");
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
      totalBytes += bytesInOutput;
    }
  }
  return { totalBytes, byPackage: [...byPackage].sort((a, b) => b[1] - a[1]) };
}
