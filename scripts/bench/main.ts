#!/usr/bin/env bun
// `bun run bench`: the benchmark suite (not a test; nothing here asserts a
// time). Compares, in one run, the ways to run the aws provider (compiled
// binary, `bun run` of the sources, Node.js on a bundle) and prints ratios
// measured side by side, then writes the tables into scripts/BENCHMARKS.md.
//
//   bun run bench               the whole suite (about 6-8 minutes on 2 cores)
//   bun run bench --quick       fewer starts, shorter loads, no moto (a smoke run)
//   bun run bench --no-moto     skip the 10,000-instance moto walk
//   bun run bench --no-write    print only, leave BENCHMARKS.md alone
//   bun run bench --latency-ms=100   injected latency per cloud call for the fan-out (default 50)
//
// Needs: h2load and nghttp (Debian: apt-get install nghttp2-client), GNU time (/usr/bin/time), node (20+),
// python3 with moto (the same peer the aws tests use).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { runFanout } from "./fanout";
import { h2loadAvailable, runLoad, type LoadCase, type LoadResult } from "./load";
import { startSeededMoto, walkMoto, type MotoWalkResult } from "./moto";
import { renderReport, writeBenchmarksFile, type RunReport } from "./report";
import { memoryOf, startProvider, type RunningProvider } from "./server-process";
import { idleMemory, measureHealthcheck, measureStartups } from "./startup";
import { compileWithoutBytecode, profileStartup } from "./startup-profile";
import { measureProviders, type ProviderRow } from "./providers";
import { captureReplies, rawReply } from "./replies";
import { buildVariants, bundleComposition, compileBareServer } from "./variants";

const argv = process.argv.slice(2);
const args = new Set(argv);
/** `--name=VALUE` as a number, else the default. */
const numberFlag = (name: string, fallback: number) => {
  const raw = argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name}: expected a number, got "${raw}"`);
  return value;
};
const quick = args.has("--quick");
const withMoto = !quick && !args.has("--no-moto");
const write = !args.has("--no-write");
const STARTS = quick ? 5 : 20;
const LOAD_SECONDS = quick ? 2 : 3;
const LOAD_ROUNDS = quick ? 1 : 3;
const WARMUP_SECONDS = 1;
const FANOUT_LATENCY_MS = numberFlag("latency-ms", 50);
const MOTO_INSTANCES = 10_000;
const MOTO_PAGE_SIZE = 500;
/** The other runtimes list this many moto instances: enough to compare CPU per instance, not the whole walk. */
const MOTO_SAMPLE = 1_000;
const PROVIDER_STARTS = quick ? 3 : 9;
const SEED_PER_REGION = 100; // so ListInstances page_size 100 returns full pages

const LOAD_CASES: LoadCase[] = [
  { method: "GetProviderInfo", request: {}, connections: 2, streamsPerConnection: 8 },
  { method: "GetProviderInfo", request: {}, connections: 4, streamsPerConnection: 16 },
  { method: "ListInstances", request: { region: "us-east-1", page_size: 100 }, connections: 2, streamsPerConnection: 8 },
  { method: "ListInstances", request: { region: "us-east-1", page_size: 100 }, connections: 4, streamsPerConnection: 16 },
];

const BYTECODE = "compiled without --bytecode";
const BARE = "bare grpc-js";
/** moto instances for the cloud-calls walk (page_size 100: three pages). */
const CALLS_MOTO_INSTANCES = 250;

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

function machine(): string {
  const model = cpus()[0]?.model.trim() ?? "unknown CPU";
  const distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  return `${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${distro}; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at start (machine shared with other jobs: numbers are noisy)`;
}

async function main() {
  if (!h2loadAvailable()) {
    console.error("bench: h2load or nghttp is not on PATH; install it with `apt-get install nghttp2-client` (Debian/Ubuntu)");
    process.exit(2);
  }
  const suiteStarted = performance.now();
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const machineText = machine();
  const work = mkdtempSync(join(tmpdir(), "skyclust-bench-"));
  try {
    log(`building the four binaries and the Node bundle in ${work}`);
    const built = await buildVariants(work, true);
    const labels = built.commands.map((c) => c.label);
    log(`built in ${built.buildSeconds.toFixed(1)} s`);
    // Comparison row: the same binary without bytecode, as shipped before (start-up and idle RSS only).
    const bytecodeCmd = { label: BYTECODE, argv: [await compileWithoutBytecode(work)] };
    const startupCommands = [...built.commands, bytecodeCmd];
    const bareBinary = await compileBareServer(work);
    const composition = Object.fromEntries(await Promise.all(Object.keys(built.binaryPaths).map(async (p) => [p, await bundleComposition(p, work)] as const)));

    log(`start-up: ${STARTS} starts per runtime`);
    const startup = await measureStartups(startupCommands, STARTS, work);

    // Every provider's binary: start-up in sandbox and real mode, memory,
    // cloud calls per page counted at each provider's peer.
    const providers: ProviderRow[] = await measureProviders(
      built.binaryPaths,
      work,
      { starts: PROVIDER_STARTS, loadSeconds: LOAD_SECONDS, motoInstances: CALLS_MOTO_INSTANCES, pageSize: 100 },
      log,
    );
    const providerStartupMs = Object.fromEntries(providers.map((r) => [r.provider, r.sandboxStartMs]));

    log("healthcheck subcommand of the compiled binary");
    let healthcheck: RunReport["healthcheck"];
    {
      const s = await startProvider(built.commands[0]!, ["--sandbox"], join(work, "healthcheck.log"));
      try {
        healthcheck = measureHealthcheck(built.commands[0]!.argv[0]!, s.address, STARTS);
      } finally {
        await s.stop();
      }
    }

    // Load: all three servers up at once, cases interleaved across runtimes.
    log("load: starting the three servers");
    const servers = new Map<string, RunningProvider>();
    const idle: Record<string, number> = {};
    const idleSplit: Record<string, { anonKiB: number; fileKiB: number }> = {};
    const peak: Record<string, number> = {};
    const loadLabels = [...labels, BARE];
    const load: Record<string, LoadResult[]> = Object.fromEntries(loadLabels.map((l) => [l, []]));
    let replyBytes: Record<string, number> = {};
    try {
      for (const cmd of built.commands) {
        const s = await startProvider(cmd, ["--sandbox", "--sandbox-seed-instances", String(SEED_PER_REGION)], join(work, `load-${cmd.label.replace(/\W+/g, "-")}.log`));
        servers.set(cmd.label, s);
        const m = await idleMemory(s.pid);
        idle[cmd.label] = m.rssKiB;
        idleSplit[cmd.label] = m;
      }
      // The bare baseline answers what the compiled provider answered, byte for byte.
      {
        const captured = await captureReplies(servers.get(labels[0]!)!.address, LOAD_CASES);
        replyBytes = captured.bytes;
        const file = join(work, "bare-replies.json");
        await Bun.write(file, JSON.stringify(captured.objects));
        const s = await startProvider({ label: BARE, argv: [bareBinary, "--replies", file] }, [], join(work, "load-bare.log"));
        servers.set(BARE, s);
        for (const c of LOAD_CASES) {
          const bytes = (await rawReply(s.address, c.method, c.request)).length;
          if (bytes !== replyBytes[c.method]) throw new Error(`bare server: ${c.method} reply is ${bytes} bytes, the provider's ${replyBytes[c.method]}`);
        }
        const m = await idleMemory(s.pid);
        idle[BARE] = m.rssKiB;
        idleSplit[BARE] = m;
      }
      for (const c of LOAD_CASES) {
        // Rounds interleaved across runtimes; the round with the median
        // throughput is kept (a burst from another job hits one round).
        const rounds = new Map<string, LoadResult[]>(loadLabels.map((l) => [l, []]));
        for (let round = 0; round < LOAD_ROUNDS; round++) {
          for (const l of loadLabels) {
            const s = servers.get(l)!;
            log(`load: ${l} ${c.method} x${c.connections * c.streamsPerConnection}, round ${round + 1}/${LOAD_ROUNDS}`);
            rounds.get(l)!.push(await runLoad(s.address, s.logFile, c, work, LOAD_SECONDS, WARMUP_SECONDS, l !== BARE));
          }
        }
        for (const l of loadLabels) {
          const sorted = rounds.get(l)!.sort((a, b) => a.reqPerSec - b.reqPerSec);
          load[l]!.push(sorted[Math.floor(sorted.length / 2)]!);
        }
      }
      for (const l of loadLabels) peak[l] = memoryOf(servers.get(l)!.pid).hwmKiB;
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()));
    }
    {
      const s = await startProvider(bytecodeCmd, ["--sandbox", "--sandbox-seed-instances", String(SEED_PER_REGION)], join(work, "idle-bytecode.log"));
      idle[BYTECODE] = (await idleMemory(s.pid)).rssKiB;
      await s.stop();
    }

    log("start-up profile of the compiled binary");
    const startupProfile = await profileStartup(work, quick ? 3 : 7);

    log(`fan-out: 20 regions, ${FANOUT_LATENCY_MS} ms per cloud call`);
    const fanout = await runFanout(work, FANOUT_LATENCY_MS, quick ? 3 : 5);

    let moto: RunReport["moto"];
    if (withMoto) {
      log(`moto: seeding ${MOTO_INSTANCES} instances`);
      const m = await startSeededMoto(MOTO_INSTANCES, "us-east-1");
      try {
        const walks: MotoWalkResult[] = [];
        for (const cmd of built.commands) {
          const limit = cmd.label === "compiled" ? Infinity : MOTO_SAMPLE;
          log(`moto: ${cmd.label} lists ${limit === Infinity ? "all" : limit} instances, page_size ${MOTO_PAGE_SIZE}`);
          walks.push(await walkMoto(cmd, m.url, MOTO_INSTANCES, MOTO_PAGE_SIZE, work, limit, MOTO_SAMPLE));
        }
        moto = { seeded: MOTO_INSTANCES, seedSeconds: m.seedSeconds, walks };
      } finally {
        await m.stop();
      }
    }

    const report: RunReport = {
      date,
      machine: machineText,
      versions: `Bun ${built.bunVersion}, Node.js ${built.nodeVersion}, h2load (nghttp2) ${Bun.spawnSync(["h2load", "--version"]).stdout.toString().match(/nghttp2\/([\d.]+)/)?.[1] ?? "?"}`,
      labels,
      startup,
      idleRssKiB: idle,
      idleSplit,
      peakRssKiB: peak,
      load,
      fanout,
      moto,
      binarySizes: built.binarySizes,
      providerStartupMs,
      providers,
      bareLabel: BARE,
      replyBytes,
      composition,
      healthcheck,
      startupProfile,
      bytecodeLabel: BYTECODE,
      nodeBundleBytes: built.nodeBundleBytes,
      totalSeconds: (performance.now() - suiteStarted) / 1000,
      settings: `${STARTS} starts per runtime; load: median of ${LOAD_ROUNDS} rounds of ${LOAD_SECONDS} s (after ${WARMUP_SECONDS} s warm-up) per case, streams = connections x streams per connection (2x8, 4x16); sandbox seeded with ${SEED_PER_REGION} instances per region`,
    };
    const rendered = renderReport(report);
    console.log(rendered);
    if (write) {
      const file = resolve(import.meta.dir, "..", "BENCHMARKS.md");
      writeBenchmarksFile(file, rendered);
      log(`wrote ${file}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
