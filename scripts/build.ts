#!/usr/bin/env bun
// Builds one standalone executable per provider with `bun build --compile`:
//   bun run build                      all four for this machine -> dist/
//   bun run build aws gcp              some of them
//   bun run build --target bun-linux-arm64 --outdir dist/x   cross-compile
//
// Nothing in a binary reads .proto files at run time: servers and clients
// use the FileDescriptorSet embedded at build time (shared/grpc/), so a
// compiled binary never opens the build machine's node_modules paths that
// bundling bakes in (design trap 1). scripts/smoke.test.ts proves it in a
// minimal root filesystem.
import type { BunPlugin } from "bun";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { PROVIDER_NAMES, providerEntry } from "../providers/index";
import { awsSdkTrimPlugin } from "../providers/aws/bundle-plugin";
import { computeProtosPlugin } from "../providers/gcp/bundle-plugin";
import { gaxRestOnlyPlugin } from "../providers/gcp/gax-rest-plugin";
import { ssh2PureJsPlugin } from "../shared/ssh/bundle-plugin";

const root = resolve(import.meta.dir, "..");
/** The provider names, from the registry (providers/index.ts). */
export const PROVIDERS = PROVIDER_NAMES;

/** Every plugin a build of a provider uses (the benchmark's bundles use the same). */
export const BUILD_PLUGINS: BunPlugin[] = [ssh2PureJsPlugin, computeProtosPlugin, gaxRestOnlyPlugin, awsSdkTrimPlugin];

export interface BuildOptions {
  providers?: readonly string[];
  outdir?: string;
  /** A Bun compile target such as "bun-linux-x64"; default: this machine. */
  target?: string;
  /** Binary name suffix, e.g. "-linux-x64" or "-windows-x64.exe". */
  suffix?: string;
  minify?: boolean;
  /** Ship precompiled bytecode (default true). */
  bytecode?: boolean;
  version?: string;
  /** The Bun runtime to embed for `target` (release.ts fetches it from npm); default: Bun's own download. */
  executablePath?: string;
}

export async function buildProviders(opts: BuildOptions = {}): Promise<string[]> {
  const outdir = opts.outdir ?? join(root, "dist");
  mkdirSync(outdir, { recursive: true });
  const built: string[] = [];
  for (const name of opts.providers ?? PROVIDERS) {
    const provider = providerEntry(name);
    const outfile = join(outdir, `${provider.binary}${opts.suffix ?? ""}`);
    const result = await Bun.build({
      entrypoints: [join(root, provider.entry)],
      // executablePath only when given: Bun rejects an explicit undefined.
      // A compiled Bun program would otherwise read .env, bunfig.toml,
      // tsconfig.json and package.json from its working directory at start:
      // a provider takes configuration from its flags and environment only.
      compile: {
        ...(opts.target ? { target: opts.target as never } : {}),
        ...(opts.executablePath ? { executablePath: opts.executablePath } : {}),
        outfile,
        autoloadDotenv: false,
        autoloadBunfig: false,
        autoloadTsconfig: false,
        autoloadPackageJson: false,
      },
      // Precompiled bytecode: the runtime skips parsing the bundle (the
      // cloud SDK included) at every start, about 0.6x the start-up time
      // (scripts/BENCHMARKS.md). Entry points must not use top-level await.
      bytecode: opts.bytecode ?? true,
      // Each `import()` becomes its own chunk inside the binary, loaded
      // when first imported: the healthcheck subcommand (run by container
      // engines every 10 s) no longer loads the server's and the cloud SDK's
      // bytecode (aws: 47 -> 34 MiB peak RSS; scripts/BENCHMARKS.md), nor
      // does a sandbox start load the SDK's.
      splitting: true,
      format: "esm",
      minify: opts.minify ?? true,
      sourcemap: "none",
      plugins: BUILD_PLUGINS,
      define: { SKYCLUST_BUILD_VERSION: JSON.stringify(opts.version ?? pkg.version) },
    });
    if (!result.success) {
      for (const log of result.logs) console.error(log);
      throw new Error(`build of ${name} failed`);
    }
    built.push(outfile);
  }
  return built;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const target = flag("target");
  const outdir = flag("outdir");
  const started = performance.now();
  const files = await buildProviders({ providers: args.length ? args : PROVIDERS, target, outdir });
  for (const f of files) console.log(`built ${f} (${(Bun.file(f).size / 1024 / 1024).toFixed(1)} MiB)`);
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
