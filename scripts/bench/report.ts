// Renders one run's numbers as Markdown tables (printed, and written into
// scripts/BENCHMARKS.md between markers so the analysis around them stays).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { FanoutResult } from "./fanout";
import type { LoadResult } from "./load";
import type { MotoWalkResult } from "./moto";
import type { ProviderRow } from "./providers";
import type { HealthcheckResult, StartupResult } from "./startup";
import type { StartupProfile } from "./startup-profile";
import { fmt, mib, ratio } from "./stats";

export interface RunReport {
  date: string;
  machine: string;
  versions: string;
  labels: string[];
  startup: StartupResult[];
  idleRssKiB: Record<string, number>;
  idleSplit: Record<string, { anonKiB: number; fileKiB: number }>;
  peakRssKiB: Record<string, number>;
  load: Record<string, LoadResult[]>;
  fanout: FanoutResult[];
  moto?: { seeded: number; seedSeconds: number; walks: MotoWalkResult[] };
  binarySizes: Record<string, number>;
  /** Median start -> SERVING of each provider's binary in sandbox mode. */
  providerStartupMs: Record<string, number>;
  /** Every provider's binary: start-up (sandbox, real), memory, cloud calls. */
  providers: ProviderRow[];
  /** Label of the bare grpc-js baseline in load / idleRssKiB / peakRssKiB. */
  bareLabel: string;
  /** Bytes of each load case's reply (the same for the provider and the baseline, checked). */
  replyBytes: Record<string, number>;
  /** Minified bundle by package, per provider. */
  composition: Record<string, { totalBytes: number; byPackage: [string, number][] }>;
  startupProfile: StartupProfile;
  healthcheck: HealthcheckResult;
  /** Label of the build without bytecode in startup / idleRssKiB. */
  bytecodeLabel: string;
  nodeBundleBytes: number;
  totalSeconds: number;
  settings: string;
}

const BEGIN = "<!-- bench:begin (written by `bun run bench`) -->";
const END = "<!-- bench:end -->";

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function renderReport(r: RunReport): string {
  const [compiled, bunRun, node] = r.labels as [string, string, string];
  const startupOf = (l: string) => r.startup.find((s) => s.label === l)?.medianMs;
  const out: string[] = [];
  out.push(`Run of ${r.date} on ${r.machine}.`, `${r.versions}. ${r.settings}. Whole suite: ${fmt(r.totalSeconds)} s.`, "");

  out.push("**Start-up and memory** (aws provider, sandbox mode)", "");
  out.push(
    table(
      ["", compiled, bunRun, node, `${compiled} / ${node}`, `${compiled} / ${bunRun}`],
      [
        ["start -> first SERVING, median (ms)", ...r.labels.map((l) => fmt(startupOf(l))), ratio(startupOf(compiled), startupOf(node)), ratio(startupOf(compiled), startupOf(bunRun))],
        ["start -> SERVING, p90 / min (ms)", ...r.labels.map((l) => { const s = r.startup.find((x) => x.label === l); return s ? `${fmt(s.p90Ms)} / ${fmt(s.minMs)}` : "n/a"; }), "", ""],
        ["idle RSS after start (MiB)", ...r.labels.map((l) => fmt(mib(r.idleRssKiB[l]!), 1)), ratio(r.idleRssKiB[compiled], r.idleRssKiB[node]), ratio(r.idleRssKiB[compiled], r.idleRssKiB[bunRun])],
        ["idle RSS split: anonymous + file-backed (MiB)", ...r.labels.map((l) => `${fmt(mib(r.idleSplit[l]?.anonKiB ?? NaN), 1)} + ${fmt(mib(r.idleSplit[l]?.fileKiB ?? NaN), 1)}`), ratio(r.idleSplit[compiled]?.anonKiB, r.idleSplit[node]?.anonKiB) + " (anon)", ratio(r.idleSplit[compiled]?.anonKiB, r.idleSplit[bunRun]?.anonKiB) + " (anon)"],
        ["peak RSS (VmHWM) after the load (MiB)", ...r.labels.map((l) => fmt(mib(r.peakRssKiB[l]!), 1)), ratio(r.peakRssKiB[compiled], r.peakRssKiB[node]), ratio(r.peakRssKiB[compiled], r.peakRssKiB[bunRun])],
      ],
    ),
    "",
  );

  const bc = r.startup.find((s) => s.label === r.bytecodeLabel);
  if (bc) {
    out.push(
      `The shipped binary carries precompiled bytecode (\`bun build --compile --bytecode\`); the same build without it: start -> SERVING median ${fmt(bc.medianMs)} ms (p90 ${fmt(bc.p90Ms)}, min ${fmt(bc.minMs)}) vs ${fmt(startupOf(compiled))} ms shipped (shipped / without: ${ratio(startupOf(compiled), bc.medianMs)}); idle RSS ${fmt(mib(r.idleRssKiB[r.bytecodeLabel]!), 1)} MiB.`,
      "",
    );
  }
  const sp = r.startupProfile;
  out.push(`**Where the compiled binary's start-up goes** (scripts/bench/startup-probe.ts compiled like the binary; medians)`, "");
  out.push(
    table(
      ["phase", "ms"],
      [
        ["process start until the first line of JS runs (runtime + loading the bundled JS)", fmt(sp.processUptimeMs - sp.sinceFirstLineMs, 1)],
        ...sp.phases.map((p) => [p.name, fmt(p.ms, 1)]),
        ["total: process start until SERVING (the rows after it are not part of a start)", fmt(sp.processUptimeMs, 1)],
        ["for scale: a compiled hello-world, spawn to exit", fmt(sp.helloWorldMs, 1)],
      ],
    ),
    "",
    `RSS of the probe at SERVING, after a full GC: ${fmt(sp.memory.rss! / 2 ** 20, 1)} MiB; a compiled hello-world: ${fmt(sp.helloWorldRssBytes / 2 ** 20, 1)} MiB.`,
    "",
  );

  out.push("**Unary throughput and latency** (h2load, gRPC framing; every reply checked grpc-status OK in the server's log)", "");
  const rows: string[][] = [];
  const cases = r.load[compiled] ?? [];
  for (let i = 0; i < cases.length; i++) {
    const at = (l: string) => r.load[l]?.[i];
    rows.push([
      `${cases[i]!.method}${cases[i]!.method === "ListInstances" ? " (100/page)" : ""}`,
      String(cases[i]!.streams),
      ...r.labels.map((l) => fmt(at(l)?.reqPerSec)),
      ratio(at(compiled)?.reqPerSec, at(node)?.reqPerSec),
      ratio(at(compiled)?.reqPerSec, at(bunRun)?.reqPerSec),
      ...r.labels.map((l) => `${fmt(at(l)?.p50Ms, 1)} / ${fmt(at(l)?.p99Ms, 1)}`),
    ]);
  }
  out.push(
    table(
      ["RPC", "streams", `${compiled} req/s`, `${bunRun} req/s`, `${node} req/s`, `${compiled} / ${node}`, `${compiled} / ${bunRun}`, ...r.labels.map((l) => `${l} p50 / p99 ms`)],
      rows,
    ),
    "",
  );

  const bare = r.bareLabel;
  out.push(
    `**Framework overhead**: the compiled provider against a bare grpc-js server compiled the same way (scripts/bench/bare-server.ts: same contract, health and reflection, no request id, log line, deadline signal or validation) answering the provider's own replies byte for byte (checked), interleaved round by round with the runs above`,
    "",
  );
  out.push(
    table(
      ["RPC", "streams", "reply (bytes)", `${bare} req/s`, `${compiled} req/s`, `${compiled} / ${bare} (req/s = bytes/s: same replies)`, `${bare} p50 / p99 ms`, `${compiled} MB/s`, `${bare} MB/s`],
      cases.map((c, i) => {
        const p = r.load[compiled]?.[i];
        const b = r.load[bare]?.[i];
        const bytes = r.replyBytes[c.method] ?? NaN;
        return [c.method, String(c.streams), String(bytes), fmt(b?.reqPerSec), fmt(p?.reqPerSec), ratio(p?.reqPerSec, b?.reqPerSec), `${fmt(b?.p50Ms, 1)} / ${fmt(b?.p99Ms, 1)}`, fmt(((p?.reqPerSec ?? NaN) * bytes) / 1e6, 1), fmt(((b?.reqPerSec ?? NaN) * bytes) / 1e6, 1)];
      }),
    ),
    "",
    `Memory of the bare server: idle ${fmt(mib(r.idleRssKiB[bare] ?? NaN), 1)} MiB (${fmt(mib(r.idleSplit[bare]?.anonKiB ?? NaN), 1)} anonymous + ${fmt(mib(r.idleSplit[bare]?.fileKiB ?? NaN), 1)} file-backed), peak after the load ${fmt(mib(r.peakRssKiB[bare] ?? NaN), 1)} MiB.`,
    "",
  );

  out.push("**Multi-region fan-out** (`region: \"*\"`, 20 sandbox regions, injected latency per cloud call)", "");
  out.push(
    table(
      ["case", "latency", "RPCs", "measured (ms)", "lower bound: slowest region's pages x latency", "measured / bound", "stateless-token bound: (RPCs + 1) x latency", "measured / that", "region pages fetched (cancelled unused) / needed"],
      r.fanout.map((f) => [f.name, `${f.latencyMs} ms`, String(f.rpcs), fmt(f.measuredMs), `${fmt(f.lowerBoundMs)} ms`, ratio(f.measuredMs, f.lowerBoundMs), `${fmt(f.statelessBoundMs)} ms`, ratio(f.measuredMs, f.statelessBoundMs), `${f.cloudCalls.started} (${f.cloudCalls.cancelled}) / ${f.cloudCalls.pagesNeeded}`]),
    ),
    "",
    // What the bounds leave out: the RPCs' own cost, with no injected latency.
    ...r.fanout
      .filter((f) => f.zeroLatencyMs !== undefined)
      .map((f) => `- ${f.name}: ${fmt(f.zeroLatencyMs)} ms with no injected latency; provider CPU ${fmt(f.serverCpuMsPerRpc, 1)} ms per RPC (${fmt(f.zeroLatencyServerCpuMsPerRpc, 1)} ms with no latency)`),
    "",
  );

  if (r.moto) {
    out.push(`**Large inventory against moto** (${r.moto.seeded} instances in us-east-1, one reservation each; seeding took ${fmt(r.moto.seedSeconds)} s)`, "");
    out.push(
      table(
        ["runtime", "instances listed", "RPCs (page_size)", "wall (s)", "provider CPU (s)", "first 1,000: wall (s)", "first 1,000: provider CPU (ms)", "peak RSS (MiB)"],
        r.moto.walks.map((w) => [w.label, String(w.instances), `${w.rpcs} (${w.pageSize})`, fmt(w.wallSeconds, 1), fmt(w.providerCpuSeconds, 2), fmt(w.sample.wallSeconds, 1), fmt(w.sample.providerCpuSeconds * 1000), fmt(mib(w.peakRssKiB), 1)]),
      ),
      "",
    );
  }

  const runtimeBytes = r.startupProfile.helloWorldBinaryBytes;
  out.push("**Binary size and start-up per provider** (`bun build --compile`, minified; start-up in sandbox mode, median)", "");
  out.push(
    table(
      ["provider", "binary (MiB)", "beyond a hello-world binary (MiB): bundled JS + assets", "start -> SERVING (ms)"],
      [
        ...Object.entries(r.binarySizes).map(([p, b]) => [p, fmt(b / 2 ** 20, 1), fmt((b - runtimeBytes) / 2 ** 20, 1), fmt(r.providerStartupMs[p])]),
        ["compiled hello-world (the Bun runtime alone)", fmt(runtimeBytes / 2 ** 20, 1), "0", fmt(r.startupProfile.helloWorldMs, 1) + " (to exit)"],
        ["aws as a Node bundle (needs node installed)", fmt(r.nodeBundleBytes / 2 ** 20, 1), "", ""],
      ],
    ),
    "",
  );

  const hello = r.startupProfile.helloWorldMs;
  out.push(
    `**Every provider's binary** (start -> SERVING median of the starts after a first uncounted one; sandbox mode, and real mode with credentials against a local peer: moto for aws, the fixture-built Compute Engine and Proxmox servers, the OpenStack testbed; idle RSS 1 s after start; after load = VmHWM after ${"GetProviderInfo and ListInstances (100/page)"} at 64 streams in sandbox mode)`,
    "",
  );
  out.push(
    table(
      ["provider", "sandbox start (ms)", "real start (ms)", "real / hello-world", "idle RSS sandbox (MiB): total (anon)", "idle RSS real mode (MiB)", "RSS after load (MiB)", "note"],
      r.providers.map((p) => [p.provider, fmt(p.sandboxStartMs), fmt(p.realStartMs), ratio(p.realStartMs, hello), `${fmt(mib(p.idleRssKiB), 1)} (${fmt(mib(p.idleAnonKiB), 1)})`, fmt(mib(p.realIdleRssKiB ?? NaN), 1), fmt(mib(p.afterLoadRssKiB), 1), p.note ?? ""]),
    ),
    "",
  );
  out.push(
    "**Cloud calls per listing** (counted at the peer: HTTP requests moto, the fake Compute Engine, the fake Proxmox and the OpenStack testbed answered during a second walk, page_size 100, after a first walk warmed tokens and region lists)",
    "",
  );
  const per = (a: number, b: number) => (b > 0 ? fmt(a / b, 2) : "n/a");
  out.push(
    table(
      ["provider", "listing", "pages", "instances", "cloud calls", "calls per page", "calls per instance"],
      r.providers.flatMap((p) =>
        p.calls
          ? (
              [
                ["default region", p.calls.region],
                ['region "*"', p.calls.all],
              ] as const
            ).map(([name, c]) => [p.provider, name, String(c.pages), String(c.instances), String(c.cloudCalls), per(c.cloudCalls, c.pages), per(c.cloudCalls, c.instances)])
          : [[p.provider, "n/a", "", "", "", "", p.note ?? ""]],
      ),
    ),
    "",
  );
  out.push("**What each bundle holds** (minified JavaScript by package, from the bundler's metafile; the binary adds the bytecode compiled from it)", "");
  const names = Object.keys(r.composition);
  const top = [...new Set(names.flatMap((n) => r.composition[n]!.byPackage.slice(0, 6).map(([k]) => k)))];
  out.push(
    table(
      ["package (MiB)", ...names],
      [
        ...top.map((k) => [k, ...names.map((n) => fmt((r.composition[n]!.byPackage.find(([x]) => x === k)?.[1] ?? 0) / 2 ** 20, 2))]),
        ["whole bundle", ...names.map((n) => fmt(r.composition[n]!.totalBytes / 2 ** 20, 2))],
      ],
    ),
    "",
  );

  out.push("**Targets** (tracked, not asserted)", "");
  const loadMisses = cases.filter((_, i) => (r.load[compiled]?.[i]?.reqPerSec ?? 0) < (r.load[node]?.[i]?.reqPerSec ?? 0)).map((c) => `${c.method} @${c.streams}`);
  const idle = mib(r.idleRssKiB[compiled] ?? NaN);
  const [onePage, fullWalk] = r.fanout as [FanoutResult, FanoutResult];
  const mark = (ok: boolean) => (ok ? "met" : "**missed**");
  out.push(
    table(
      ["target", "this run", ""],
      [
        ["compiled at least as fast as Node on every RPC measured", loadMisses.length ? `slower on ${loadMisses.join(", ")}` : "faster or equal on all", mark(loadMisses.length === 0)],
        ["compiled start-up to SERVING < 100 ms", `${fmt(startupOf(compiled))} ms`, mark((startupOf(compiled) ?? Infinity) < 100)],
        ["compiled idle RSS < 60 MB (57.2 MiB)", `${fmt(idle, 1)} MiB`, mark(idle * 1024 * 1024 < 60e6)],
        ...Object.entries(r.providerStartupMs).map(([p, ms]) => [`${p} binary start-up < 100 ms`, `${fmt(ms)} ms`, mark(ms < 100)]),
        ...Object.entries(r.providerStartupMs).map(([p, ms]) => [`${p} start-up within 15x of a compiled hello-world (${fmt(r.startupProfile.helloWorldMs, 1)} ms)`, ratio(ms, r.startupProfile.helloWorldMs), mark(ms <= 15 * r.startupProfile.helloWorldMs)]),
        ...r.providers.filter((p) => p.realStartMs !== undefined).map((p) => [`${p.provider} real-mode start-up < 100 ms and within 15x of hello-world`, `${fmt(p.realStartMs)} ms, ${ratio(p.realStartMs, hello)}`, mark(p.realStartMs! < 100 && p.realStartMs! <= 15 * hello)]),
        ...r.providers.map((p) => [`${p.provider} idle RSS < 60 MB (57.2 MiB), sandbox / real`, `${fmt(mib(p.idleRssKiB), 1)} / ${fmt(mib(p.realIdleRssKiB ?? NaN), 1)} MiB`, mark(p.idleRssKiB * 1024 < 60e6 && (p.realIdleRssKiB ?? 0) * 1024 < 60e6)]),
        ...r.providers.map((p) => [`${p.provider} RSS after the load < 120 MiB`, `${fmt(mib(p.afterLoadRssKiB), 1)} MiB`, mark(p.afterLoadRssKiB < 120 * 1024)]),
        ...cases.map((c, i) => {
          const p = r.load[compiled]?.[i]?.reqPerSec;
          const b = r.load[r.bareLabel]?.[i]?.reqPerSec;
          return [`${c.method} @${c.streams}: at least 0.85x of the bare grpc-js server (bytes/s)`, ratio(p, b), mark(p !== undefined && b !== undefined && p >= 0.85 * b)];
        }),
        ["healthcheck subcommand < 30 ms", `${fmt(r.healthcheck.medianMs, 1)} ms median (p90 ${fmt(r.healthcheck.p90Ms, 1)})`, mark(r.healthcheck.medianMs < 30)],
        ["healthcheck subcommand < 40 MB RSS (38.1 MiB)", `${fmt(mib(r.healthcheck.maxRssKiB), 1)} MiB`, mark(r.healthcheck.maxRssKiB * 1024 < 40e6)],
        ...Object.entries(r.binarySizes).map(([p, b]) => [`${p} binary within 10 MB of the Bun runtime`, `+${fmt((b - runtimeBytes) / 2 ** 20, 1)} MiB`, mark(b - runtimeBytes <= 10e6)]),
        ["fan-out, one page: within 1.3x of its lower bound", ratio(onePage.measuredMs, onePage.lowerBoundMs), mark(onePage.measuredMs <= 1.3 * onePage.lowerBoundMs)],
        ["fan-out, full walk: region pages fetched at most 1.2x the pages needed", `${fullWalk.cloudCalls.started} / ${fullWalk.cloudCalls.pagesNeeded} = ${ratio(fullWalk.cloudCalls.started, fullWalk.cloudCalls.pagesNeeded)}`, mark(fullWalk.cloudCalls.started <= 1.2 * fullWalk.cloudCalls.pagesNeeded)],
        ["fan-out, full walk: wall time within 1.2x of the stateless-token bound", ratio(fullWalk.measuredMs, fullWalk.statelessBoundMs), mark(fullWalk.measuredMs <= 1.2 * fullWalk.statelessBoundMs)],
      ],
    ),
  );
  return out.join("\n");
}

/** Replaces the generated part of BENCHMARKS.md, keeping the text around it. */
export function writeBenchmarksFile(path: string, rendered: string): void {
  const block = `${BEGIN}\n${rendered}\n${END}`;
  const current = existsSync(path) ? readFileSync(path, "utf8") : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start ? current.slice(0, start) + block + current.slice(end + END.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}
