// The release build, kept light: one provider for this machine and for one
// foreign platform (linux-arm64) instead of all twenty binaries (~2 GB; the
// full release is run by hand, see scripts/RELEASE.md). The native binary
// runs alone in a minimal root as the nonroot user and reports the stamped
// version; the foreign one is checked by its header, also with file(1).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { ProviderClient } from "../shared/testing/client";
import { NONROOT_UID, freePort, makeMinimalRoot, waitForServing } from "./chroot";
import { RELEASE_TARGETS, binaryName, executableFormat, parseTargets, readHeader, release, releaseVersion, runtimePackage, type ReleaseResult } from "./release";

const VERSION = "9.8.7-rc.1";
const [linuxX64, linuxArm64] = parseTargets("linux-x64,linux-arm64") as [(typeof RELEASE_TARGETS)[number], (typeof RELEASE_TARGETS)[number]];

describe("names and targets", () => {
  test("every provider and platform gets skyclust-<provider>-provider-<os>-<arch>[.exe]", () => {
    const names = ["aws", "gcp", "openstack", "proxmox"].flatMap((p) => RELEASE_TARGETS.map((t) => binaryName(p, t)));
    expect(names).toHaveLength(20);
    expect(new Set(names).size).toBe(20);
    for (const n of names) expect(n).toMatch(/^skyclust-(aws|gcp|openstack|proxmox)-provider-(linux|darwin|windows)-(x64|arm64)(\.exe)?$/);
    expect(names.filter((n) => n.endsWith(".exe"))).toEqual(names.filter((n) => n.includes("-windows-")));
    expect(RELEASE_TARGETS.map((t) => `${t.os}-${t.arch}`)).toEqual(["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64", "windows-x64"]);
  });

  test("runtimes are Bun's npm packages, which spell arm64 aarch64", () => {
    expect(RELEASE_TARGETS.map(runtimePackage)).toEqual(["@oven/bun-linux-x64", "@oven/bun-linux-aarch64", "@oven/bun-darwin-aarch64", "@oven/bun-darwin-x64", "@oven/bun-windows-x64"]);
    expect(() => parseTargets("linux-x64,freebsd-x64")).toThrow(/unknown target "freebsd-x64"/);
  });

  test("headers of the three executable formats are told apart", () => {
    const elf = new Uint8Array(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46]);
    elf[0x12] = 0xb7;
    expect(executableFormat(elf)).toEqual({ os: "linux", arch: "arm64" });
    const macho = new Uint8Array(64);
    new DataView(macho.buffer).setUint32(0, 0xfeedfacf, true);
    new DataView(macho.buffer).setUint32(4, 0x01000007, true);
    expect(executableFormat(macho)).toEqual({ os: "darwin", arch: "x64" });
    const pe = new Uint8Array(256);
    pe.set([0x4d, 0x5a]);
    new DataView(pe.buffer).setUint32(0x3c, 0x80, true);
    pe.set([0x50, 0x45, 0, 0, 0x64, 0x86], 0x80);
    expect(executableFormat(pe)).toEqual({ os: "windows", arch: "x64" });
    expect(executableFormat(new TextEncoder().encode("#!/bin/sh\n".padEnd(64, " ")))).toBeUndefined();
  });
});

describe("version stamped into a release", () => {
  let repo: string;
  const git = (...args: string[]) => {
    const r = Bun.spawnSync(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  };
  beforeAll(() => {
    repo = mkdtempSync("/tmp/skyclust-release-git-");
    git("init", "-q");
    git("commit", "-q", "--allow-empty", "-m", "one");
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  test("package.json's version when HEAD carries no tag; an explicit one wins", () => {
    expect(releaseVersion({ cwd: repo, packageVersion: "0.4.0" })).toEqual({ version: "0.4.0", source: "package.json" });
    expect(releaseVersion({ cwd: repo, explicit: "v2.0.0", packageVersion: "0.4.0" })).toEqual({ version: "2.0.0", source: "--version" });
    expect(() => releaseVersion({ explicit: "latest" })).toThrow(/not semantic/);
  });

  test("the tag vX.Y.Z when HEAD is exactly on it, and only then", () => {
    git("tag", "v1.3.0");
    expect(releaseVersion({ cwd: repo, packageVersion: "0.4.0" })).toEqual({ version: "1.3.0", source: "git tag v1.3.0" });
    git("commit", "-q", "--allow-empty", "-m", "two");
    expect(releaseVersion({ cwd: repo, packageVersion: "0.4.0" }).version).toBe("0.4.0");
  });
});

describe("release build of one provider for linux-x64 and linux-arm64", () => {
  let outdir: string;
  let result: ReleaseResult;
  const lines: string[] = [];
  beforeAll(async () => {
    outdir = mkdtempSync("/tmp/skyclust-release-");
    writeFileSync(join(outdir, "skyclust-aws-provider-linux-x64"), "stale binary of an earlier release");
    writeFileSync(join(outdir, "notes.txt"), "not ours");
    result = await release({ outdir, providers: ["aws"], targets: [linuxX64, linuxArm64], version: VERSION, log: (l) => lines.push(l) });
  }, 300_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test("writes exactly the binaries, SHA256SUMS and manifest.json; leaves other files alone", () => {
    expect(readdirSync(outdir).sort()).toEqual(["SHA256SUMS", "manifest.json", "notes.txt", "skyclust-aws-provider-linux-arm64", "skyclust-aws-provider-linux-x64"]);
    expect(result.version).toBe(VERSION);
  });

  test("SHA256SUMS verifies with sha256sum -c", () => {
    const check = Bun.spawnSync(["sha256sum", "--strict", "-c", "SHA256SUMS"], { cwd: outdir });
    expect(check.stdout.toString()).toBe("skyclust-aws-provider-linux-arm64: OK\nskyclust-aws-provider-linux-x64: OK\n");
    expect(check.exitCode).toBe(0);
  });

  test("manifest.json records version, Bun, runtimes and every binary's real size; sizes are printed", async () => {
    const manifest = JSON.parse(await Bun.file(join(outdir, "manifest.json")).text());
    expect(manifest.version).toBe(VERSION);
    expect(manifest.bun).toBe(pkg.devDependencies.bun);
    expect(manifest.runtimes.map((r: { package: string }) => r.package)).toEqual(["@oven/bun-linux-x64", "@oven/bun-linux-aarch64"]);
    for (const r of manifest.runtimes) expect(r.integrity).toMatch(/^sha512-/);
    for (const a of manifest.artifacts) {
      expect(a.bytes).toBe(statSync(join(outdir, a.file)).size);
      expect(a.bytes).toBeGreaterThan(20 * 1024 * 1024);
      expect(lines.join("\n")).toContain(`${a.file}`);
    }
    expect(lines.some((l) => /skyclust-aws-provider-linux-arm64 +\d+\.\d MiB/.test(l))).toBe(true);
  });

  test("the arm64 binary is an aarch64 ELF executable (file(1) agrees)", () => {
    const file = join(outdir, "skyclust-aws-provider-linux-arm64");
    expect(executableFormat(readHeader(file))).toEqual({ os: "linux", arch: "arm64" });
    const described = Bun.spawnSync(["file", "-b", file]);
    if (described.exitCode !== 0) throw new Error("file(1) is needed by this test (apt-get install file)");
    expect(described.stdout.toString()).toMatch(/^ELF 64-bit LSB .*executable, ARM aarch64/);
    expect(Bun.spawnSync(["file", "-b", join(outdir, "skyclust-aws-provider-linux-x64")]).stdout.toString()).toMatch(/^ELF 64-bit LSB .*executable, x86-64/);
  });

  test("the native binary, alone in a minimal root as nonroot, reports the stamped version", async () => {
    const binary = join(outdir, "skyclust-aws-provider-linux-x64");
    expect(existsSync(binary)).toBe(true);
    const root = makeMinimalRoot(binary);
    try {
      const v = await root.run(["--version"], { uid: NONROOT_UID });
      expect(v.stdout.trim()).toBe(`skyclust-aws-provider-linux-x64 ${VERSION}`);
      const port = await freePort();
      root.spawn(["--sandbox", "--host", "127.0.0.1", "--port", String(port)], { uid: NONROOT_UID });
      await waitForServing(`127.0.0.1:${port}`);
      const client = new ProviderClient(`127.0.0.1:${port}`);
      try {
        const info = await client.call("GetProviderInfo");
        expect(info.version).toBe(VERSION);
      } finally {
        client.close();
      }
    } finally {
      await root.cleanup();
    }
  }, 60_000);
});
