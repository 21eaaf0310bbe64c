// Where the compiled binary's start-up goes: compiles startup-probe.ts with
// the same bundler plugins as the real build, and a hello-world binary as
// the floor, runs each several times and keeps the median of every phase.
import { join } from "node:path";
import { BUILD_PLUGINS, buildProviders } from "../build";
import { median } from "./stats";

export interface StartupProfile {
  phases: { name: string; ms: number }[];
  sinceFirstLineMs: number;
  processUptimeMs: number;
  helloWorldMs: number;
  /** process.memoryUsage() at SERVING after a full GC, bytes (medians). */
  memory: Record<string, number>;
  helloWorldRssBytes: number;
  /** Size of the compiled hello-world: the Bun runtime's share of every binary. */
  helloWorldBinaryBytes: number;
}

/** Compiled as scripts/build.ts compiles a provider (bytecode, code splitting, ESM), or plainly for the hello-world. */
async function compile(entry: string, outfile: string, likeProvider = true): Promise<void> {
  const result = await Bun.build({
    entrypoints: [entry],
    compile: { outfile, autoloadDotenv: false, autoloadBunfig: false, autoloadTsconfig: false, autoloadPackageJson: false },
    minify: true,
    ...(likeProvider ? { bytecode: true, splitting: true, format: "esm" as const } : {}),
    plugins: likeProvider ? BUILD_PLUGINS : [],
    define: { SKYCLUST_BUILD_VERSION: '"bench"' },
  });
  if (!result.success) throw new Error(`compiling ${entry} failed: ${result.logs.join("\n")}`);
}

/** The aws provider compiled as before bytecode shipped (the comparison row of the report). */
export async function compileWithoutBytecode(workDir: string): Promise<string> {
  const [outfile] = await buildProviders({ providers: ["aws"], outdir: join(workDir, "no-bytecode"), bytecode: false, version: "bench" });
  return outfile!;
}

export async function profileStartup(workDir: string, runs = 7): Promise<StartupProfile> {
  const probe = join(workDir, "startup-probe");
  const hello = join(workDir, "hello");
  await compile(join(import.meta.dir, "startup-probe.ts"), probe);
  await Bun.write(join(workDir, "hello.ts"), "console.log(JSON.stringify(process.memoryUsage()));\n");
  await compile(join(workDir, "hello.ts"), hello, false);
  const samples: Omit<StartupProfile, "helloWorldMs" | "helloWorldRssBytes">[] = [];
  const helloTimes: number[] = [];
  const helloRss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = Bun.spawnSync([probe], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    if (r.exitCode !== 0) throw new Error(`startup probe failed: ${r.stderr.toString()}`);
    samples.push(JSON.parse(r.stdout.toString().trim().split("\n").pop()!));
    const t = performance.now();
    const h = Bun.spawnSync([hello]);
    helloTimes.push(performance.now() - t);
    helloRss.push(JSON.parse(h.stdout.toString()).rss);
  }
  return {
    phases: samples[0]!.phases.map((p, i) => ({ name: p.name, ms: median(samples.map((s) => s.phases[i]!.ms)) })),
    sinceFirstLineMs: median(samples.map((s) => s.sinceFirstLineMs)),
    processUptimeMs: median(samples.map((s) => s.processUptimeMs)),
    helloWorldMs: median(helloTimes),
    memory: Object.fromEntries(Object.keys(samples[0]!.memory).map((k) => [k, median(samples.map((s) => s.memory[k]!))])),
    helloWorldRssBytes: median(helloRss),
    helloWorldBinaryBytes: (await import("node:fs")).statSync(hello).size,
  };
}

if (import.meta.main) {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "skyclust-startup-"));
  try {
    console.log(JSON.stringify(await profileStartup(dir), null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
