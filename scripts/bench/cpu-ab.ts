#!/usr/bin/env bun
// Interleaved A/B of provider builds under h2load, in CPU per request: the
// way each change of issue 16 was measured (scripts/BENCHMARKS.md,
// "Framework overhead"). Wall-clock req/s on a shared 2-core machine moves
// by 30 % between rounds; the server's own CPU per request, read from /proc,
// moves less, and the main thread's alone less still (the JIT compiler
// threads add 5-28 us per request while they warm up). Rounds alternate
// between the servers (reversed every other round), so a burst from
// another job hits every server alike. Not part of `bun run bench`.
//
//   bun scripts/bench/cpu-ab.ts [--rounds 7] [--cases gpi16,gpi64,li16,li64] [--scale 1]
//       [--bare BARE_BINARY] LABEL=BINARY[@ENV=VALUE...] ...
//
// Each LABEL=BINARY is a compiled provider started with --sandbox and 100
// instances per region (@ENV=VALUE adds environment variables, e.g.
// @BUN_OPTIONS=--smol); --bare starts the bare grpc-js server
// (variants.ts compileBareServer) answering the first provider's replies.
// Prints, per case and server, the median and best main-thread CPU per
// request, the process's total, req/s, and VmHWM after each round.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcFrame } from "./load";
import { captureReplies } from "./replies";
import { memoryOf, startProvider, type RunningProvider } from "./server-process";

const SERVICE = "skyclust.provider.v1.CloudProviderService";
const CASES: Record<string, { method: string; request: Record<string, unknown>; connections: number; streams: number; requests: number }> = {
  gpi16: { method: "GetProviderInfo", request: {}, connections: 2, streams: 8, requests: 20_000 },
  gpi64: { method: "GetProviderInfo", request: {}, connections: 4, streams: 16, requests: 20_000 },
  li16: { method: "ListInstances", request: { region: "us-east-1", page_size: 100 }, connections: 2, streams: 8, requests: 2_500 },
  li64: { method: "ListInstances", request: { region: "us-east-1", page_size: 100 }, connections: 4, streams: 16, requests: 2_500 },
};

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const rounds = Number(option("rounds", "7"));
const scale = Number(option("scale", "1"));
const bare = option("bare", "");
const cases = option("cases", "gpi16,gpi64,li16,li64").split(",");
const optionValues = new Set(["rounds", "scale", "bare", "cases"].map((n) => option(n, "\0")));
const builds = argv
  .filter((a) => !a.startsWith("--") && !optionValues.has(a) && a.includes("="))
  .map((a) => {
    const label = a.slice(0, a.indexOf("="));
    const [binary, ...env] = a.slice(a.indexOf("=") + 1).split("@");
    return { label, binary: binary!, env: Object.fromEntries(env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])) };
  });
for (const c of cases) if (!CASES[c]) throw new Error(`unknown case ${c} (one of ${Object.keys(CASES).join(", ")})`);
if (builds.length === 0 || !(rounds > 0) || !(scale > 0)) {
  console.error("usage: bun scripts/bench/cpu-ab.ts [--rounds N] [--cases gpi16,...] [--scale X] [--bare BINARY] LABEL=BINARY[@ENV=VALUE...] ...");
  process.exit(2);
}

/** utime + stime of a /proc stat file, in clock ticks (100 per second). */
function ticks(statFile: string): number {
  const fields = readFileSync(statFile, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

interface Round {
  mainUs: number;
  totalUs: number;
  reqPerSec: number;
  hwmMiB: number;
}

const work = mkdtempSync(join(tmpdir(), "skyclust-cpu-ab-"));
const servers: { label: string; server: RunningProvider }[] = [];
try {
  for (const b of builds) {
    const server = await startProvider({ label: b.label, argv: [b.binary] }, ["--sandbox", "--sandbox-seed-instances", "100"], join(work, `${b.label}.log`), b.env);
    servers.push({ label: b.label, server });
  }
  if (bare) {
    const captured = await captureReplies(
      servers[0]!.server.address,
      cases.map((c) => ({ method: CASES[c]!.method, request: CASES[c]!.request, connections: 1, streamsPerConnection: 1 })),
    );
    writeFileSync(join(work, "replies.json"), JSON.stringify(captured.objects));
    servers.push({ label: "bare", server: await startProvider({ label: "bare", argv: [bare, "--replies", join(work, "replies.json")] }, [], join(work, "bare.log")) });
  }
  for (const { label, server } of servers) console.log(`${label}: idle RSS ${(memoryOf(server.pid).rssKiB / 1024).toFixed(1)} MiB`);

  const results = new Map<string, Round[]>();
  for (const name of cases) {
    const c = CASES[name]!;
    const body = join(work, `${name}.bin`);
    writeFileSync(body, grpcFrame(c.method, c.request));
    const requests = Math.round(c.requests * scale);
    for (let round = 0; round < rounds; round++) {
      for (const { label, server } of round % 2 ? [...servers].reverse() : servers) {
        const stat = `/proc/${server.pid}/stat`;
        const mainStat = `/proc/${server.pid}/task/${server.pid}/stat`;
        const [total0, main0] = [ticks(stat), ticks(mainStat)];
        const run = Bun.spawnSync([
          "h2load", "-n", String(requests), "-c", String(c.connections), "-m", String(c.streams), "-t", "1",
          "-d", body, "-H", "content-type: application/grpc", "-H", "te: trailers",
          `http://${server.address}/${SERVICE}/${c.method}`,
        ]);
        const [total1, main1] = [ticks(stat), ticks(mainStat)];
        const out = run.stdout.toString();
        if (Number(/(\d+) succeeded/.exec(out)?.[1]) !== requests) throw new Error(`${label} ${name}: h2load did not complete every request:\n${out}`);
        const key = `${name}\t${label}`;
        results.set(key, [
          ...(results.get(key) ?? []),
          {
            mainUs: ((main1 - main0) * 10_000) / requests,
            totalUs: ((total1 - total0) * 10_000) / requests,
            reqPerSec: Number(/([\d.]+) req\/s/.exec(out)?.[1]),
            hwmMiB: memoryOf(server.pid).hwmKiB / 1024,
          },
        ]);
      }
    }
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const name of cases) {
    console.log(name);
    for (const { label } of servers) {
      const rs = results.get(`${name}\t${label}`)!;
      const main = rs.map((r) => r.mainUs);
      console.log(
        `  ${label}: main thread ${median(main).toFixed(1)} us/req (best ${Math.min(...main).toFixed(1)}; rounds ${main.map((x) => x.toFixed(0)).join(" ")})` +
          `, process ${median(rs.map((r) => r.totalUs)).toFixed(1)} us/req, ${median(rs.map((r) => r.reqPerSec)).toFixed(0)} req/s` +
          `, VmHWM ${rs.map((r) => r.hwmMiB.toFixed(0)).join(" ")} MiB`,
      );
    }
  }
} finally {
  await Promise.all(servers.map(({ server }) => server.stop()));
  rmSync(work, { recursive: true, force: true });
}
