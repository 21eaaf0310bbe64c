#!/usr/bin/env bun
// The release build: every provider for every platform users download.
//   bun run release                          all 4 providers x 5 platforms -> dist/release/
//   bun run release --version 1.2.3          stamp this version instead
//   bun run release --targets linux-x64,linux-arm64 --providers aws
//
// Output: skyclust-<provider>-provider-<os>-<arch>[.exe], SHA256SUMS (the
// `sha256sum -c` format) and manifest.json (version, Bun version, size and
// checksum of every binary and of the Bun runtime embedded in it).
//
// Cross-compiling embeds the Bun runtime of the target platform. Bun would
// download it itself, but we fetch it with `npm pack` instead: npm verifies
// the tarball against the registry's sha512 integrity, honours the user's
// npm configuration (mirrors, proxies), and we can record the runtime's
// checksum in the manifest. The runtimes are the npm packages
// @oven/bun-<os>-<arch> of exactly the Bun version that bundles (a bundle
// and a runtime of different versions do not belong together).
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { PROVIDERS, buildProviders } from "./build";

const root = resolve(import.meta.dir, "..");

export interface ReleaseTarget {
  /** As in the file name: linux, darwin, windows. */
  os: "linux" | "darwin" | "windows";
  /** As in the file name: x64, arm64. */
  arch: "x64" | "arm64";
}

export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { os: "linux", arch: "x64" },
  { os: "linux", arch: "arm64" },
  { os: "darwin", arch: "arm64" },
  { os: "darwin", arch: "x64" },
  { os: "windows", arch: "x64" },
];

export const targetId = (t: ReleaseTarget) => `${t.os}-${t.arch}`;
/** The `--target` Bun's compiler takes. */
export const bunTarget = (t: ReleaseTarget) => `bun-${t.os}-${t.arch}`;
/** Bun's npm packages spell arm64 "aarch64". */
export const runtimePackage = (t: ReleaseTarget) => `@oven/bun-${t.os}-${t.arch === "arm64" ? "aarch64" : t.arch}`;
export const binaryName = (provider: string, t: ReleaseTarget) => `skyclust-${provider}-provider-${targetId(t)}${t.os === "windows" ? ".exe" : ""}`;

export function parseTargets(list: string): ReleaseTarget[] {
  return list.split(",").map((s) => s.trim()).filter(Boolean).map((id) => {
    const t = RELEASE_TARGETS.find((r) => targetId(r) === id);
    if (!t) throw new Error(`unknown target "${id}" (one of ${RELEASE_TARGETS.map(targetId).join(", ")})`);
    return t;
  });
}

// ---------------------------------------------------------------- version

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * The version stamped into the binaries: an explicit one (--version or
 * SKYCLUST_RELEASE_VERSION), else the tag vX.Y.Z when HEAD is exactly on it
 * (a tagged release), else package.json's version.
 */
export function releaseVersion(opts: { explicit?: string; cwd?: string; packageVersion?: string } = {}): { version: string; source: string } {
  const check = (v: string, source: string) => {
    if (!SEMVER.test(v)) throw new Error(`version "${v}" from ${source} is not semantic (X.Y.Z[-pre][+build])`);
    return { version: v, source };
  };
  if (opts.explicit) return check(opts.explicit.replace(/^v/, ""), "--version");
  const git = Bun.spawnSync(["git", "describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD"], { cwd: opts.cwd ?? root, stderr: "ignore" });
  const tag = git.exitCode === 0 ? git.stdout.toString().trim() : "";
  if (tag) return check(tag.slice(1), `git tag ${tag}`);
  return check(opts.packageVersion ?? pkg.version, "package.json");
}

// ------------------------------------------------------- header checking

/** Reads an executable's header: which OS format and CPU it is for. */
export function executableFormat(header: Uint8Array): { os: ReleaseTarget["os"]; arch: ReleaseTarget["arch"] | "other" } | undefined {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (header.length < 64) return undefined;
  // ELF: e_machine at 0x12 (little endian on both our targets).
  if (view.getUint32(0, false) === 0x7f454c46) {
    const machine = view.getUint16(0x12, true);
    return { os: "linux", arch: machine === 0x3e ? "x64" : machine === 0xb7 ? "arm64" : "other" };
  }
  // 64-bit Mach-O (0xfeedfacf, stored little endian), cputype right after.
  if (view.getUint32(0, true) === 0xfeedfacf) {
    const cpu = view.getUint32(4, true);
    return { os: "darwin", arch: cpu === 0x01000007 ? "x64" : cpu === 0x0100000c ? "arm64" : "other" };
  }
  // PE: "MZ", e_lfanew at 0x3c points at "PE\0\0" followed by the machine.
  if (header[0] === 0x4d && header[1] === 0x5a) {
    const pe = view.getUint32(0x3c, true);
    if (pe + 6 > header.length || view.getUint32(pe, false) !== 0x50450000) return undefined;
    const machine = view.getUint16(pe + 4, true);
    return { os: "windows", arch: machine === 0x8664 ? "x64" : machine === 0xaa64 ? "arm64" : "other" };
  }
  return undefined;
}

export function readHeader(file: string, bytes = 4096): Uint8Array {
  const fd = openSync(file, "r");
  try {
    const buf = new Uint8Array(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(file).stream()) hash.update(chunk);
  return hash.digest("hex");
}

// ------------------------------------------------------- target runtimes

export interface Runtime {
  package: string;
  version: string;
  /** The extracted Bun executable for the target. */
  path: string;
  integrity: string;
  sha256: string;
}

function run(cmd: string[], cwd?: string): string {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/**
 * The Bun runtime for a target, from the npm registry via `npm pack` (which
 * checks the registry's integrity hash), cached under cacheDir/<version>/.
 */
export async function fetchRuntime(t: ReleaseTarget, cacheDir: string, version = Bun.version): Promise<Runtime> {
  const pkgName = runtimePackage(t);
  const dir = join(cacheDir, version, pkgName.replace("/", "__"));
  const exe = join(dir, "package", "bin", t.os === "windows" ? "bun.exe" : "bun");
  const meta = join(dir, "npm-pack.json");
  if (!existsSync(exe) || !existsSync(meta)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const packed = JSON.parse(run(["npm", "pack", `${pkgName}@${version}`, "--pack-destination", dir, "--json"], dir))[0];
    run(["tar", "-xzf", join(dir, packed.filename), "-C", dir]);
    rmSync(join(dir, packed.filename));
    if (!existsSync(exe)) throw new Error(`${pkgName}@${version} has no ${exe.slice(dir.length + 1)}`);
    writeFileSync(meta, JSON.stringify({ id: packed.id, integrity: packed.integrity }, null, 2));
  }
  const { integrity } = await Bun.file(meta).json();
  const format = executableFormat(readHeader(exe));
  if (format?.os !== t.os || format.arch !== t.arch) throw new Error(`${exe} is not a ${targetId(t)} executable`);
  return { package: pkgName, version, path: exe, integrity, sha256: await sha256File(exe) };
}

// ---------------------------------------------------------------- release

export interface Artifact {
  file: string;
  provider: string;
  target: string;
  bytes: number;
  sha256: string;
}

export interface ReleaseOptions {
  outdir?: string;
  providers?: readonly string[];
  targets?: readonly ReleaseTarget[];
  version?: string;
  cacheDir?: string;
  log?: (line: string) => void;
}

export interface ReleaseResult {
  outdir: string;
  version: string;
  artifacts: Artifact[];
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export async function release(opts: ReleaseOptions = {}): Promise<ReleaseResult> {
  const log = opts.log ?? console.log;
  const outdir = resolve(opts.outdir ?? join(root, "dist", "release"));
  const cacheDir = resolve(opts.cacheDir ?? join(root, "dist", ".bun-runtimes"));
  const providers = opts.providers ?? PROVIDERS;
  const targets = opts.targets ?? RELEASE_TARGETS;
  const pinned = pkg.devDependencies.bun;
  if (Bun.version !== pinned) throw new Error(`release builds use the pinned Bun ${pinned} (package.json devDependencies), this is Bun ${Bun.version}: run node_modules/.bin/bun`);
  const { version, source } = releaseVersion({ explicit: opts.version });
  // Images (Dockerfile) and manifests (deploy/) carry package.json's version.
  if (source.startsWith("git tag") && version !== pkg.version) log(`warning: tag ${version} but package.json says ${pkg.version}; images and deploy/ manifests use package.json's`);
  log(`release ${version} (from ${source}), Bun ${Bun.version}: ${providers.join(", ")} for ${targets.map(targetId).join(", ")} -> ${outdir}`);

  mkdirSync(outdir, { recursive: true });
  // Only what an earlier release put here: never a stale binary beside new sums.
  for (const f of readdirSync(outdir)) {
    if (/^skyclust-.+-provider-/.test(f) || f === "SHA256SUMS" || f === "manifest.json") rmSync(join(outdir, f), { force: true });
  }

  const artifacts: Artifact[] = [];
  const runtimes: Runtime[] = [];
  for (const t of targets) {
    const runtime = await fetchRuntime(t, cacheDir);
    runtimes.push(runtime);
    // buildProviders names files skyclust-<p>-provider<suffix>; build into a
    // scratch dir and move, so a failed build leaves no half-named file.
    const scratch = mkdtempSync(join(outdir, ".build-"));
    try {
      const suffix = `-${targetId(t)}${t.os === "windows" ? ".exe" : ""}`;
      const built = await buildProviders({ providers, outdir: scratch, target: bunTarget(t), suffix, minify: true, version, executablePath: runtime.path });
      for (const file of built) {
        const name = basename(file);
        const provider = /^skyclust-(.+)-provider-/.exec(name)![1]!;
        if (name !== binaryName(provider, t)) throw new Error(`unexpected output name ${name}`);
        const format = executableFormat(readHeader(file));
        if (format?.os !== t.os || format.arch !== t.arch) throw new Error(`${name}: header says ${JSON.stringify(format)}, expected ${targetId(t)}`);
        const dest = join(outdir, name);
        copyFileSync(file, dest);
        const artifact = { file: name, provider, target: targetId(t), bytes: Bun.file(dest).size, sha256: await sha256File(dest) };
        artifacts.push(artifact);
        log(`  ${name.padEnd(46)} ${mib(artifact.bytes).padStart(10)}  ${artifact.sha256}`);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  artifacts.sort((a, b) => a.file.localeCompare(b.file));
  // Two spaces: the text-mode format `sha256sum -c` and `shasum -a 256 -c` read.
  writeFileSync(join(outdir, "SHA256SUMS"), artifacts.map((a) => `${a.sha256}  ${a.file}\n`).join(""));
  const manifest = {
    name: pkg.name,
    version,
    versionSource: source,
    bun: Bun.version,
    runtimes: runtimes.map(({ package: p, version: v, integrity, sha256 }) => ({ package: p, version: v, integrity, sha256 })),
    artifacts,
  };
  writeFileSync(join(outdir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  log(`${artifacts.length} binaries, ${mib(artifacts.reduce((s, a) => s + a.bytes, 0))} in all; SHA256SUMS and manifest.json written`);
  return { outdir, version, artifacts };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
    args.splice(i, 2);
    return v;
  };
  try {
    const version = flag("version") ?? process.env.SKYCLUST_RELEASE_VERSION;
    const outdir = flag("outdir");
    const targetsFlag = flag("targets");
    const providersFlag = flag("providers");
    if (args.length > 0) throw new Error(`unexpected argument "${args[0]}" (flags: --version, --outdir, --targets, --providers)`);
    await release({
      version,
      outdir,
      targets: targetsFlag ? parseTargets(targetsFlag) : undefined,
      providers: providersFlag ? providersFlag.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
    });
  } catch (err) {
    console.error(`release: ${(err as Error).message}`);
    process.exit(1);
  }
}
