// Start-up (spawn -> first SERVING health answer) and idle memory.
import { join } from "node:path";
import { memoryOf, startProvider, type ServerCommand } from "./server-process";
import { median, percentile } from "./stats";

export interface StartupResult {
  label: string;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  starts: number;
}

/** One start in sandbox mode, stopped again; ms from spawn to SERVING. */
export async function timeOneStart(cmd: ServerCommand, workDir: string): Promise<number> {
  const p = await startProvider(cmd, ["--sandbox"], join(workDir, `startup-${cmd.label.replace(/\W+/g, "-")}.log`));
  await p.stop();
  return p.startupMs;
}

/**
 * Starts every command `starts` times, interleaved (a, b, c, a, b, c, ...)
 * so bursts of load from other jobs hit all of them alike, after one
 * uncounted start each (page cache and this process's gRPC client warm).
 */
export async function measureStartups(cmds: ServerCommand[], starts: number, workDir: string): Promise<StartupResult[]> {
  for (const cmd of cmds) await timeOneStart(cmd, workDir);
  const samples = new Map<string, number[]>(cmds.map((c) => [c.label, []]));
  for (let i = 0; i < starts; i++) {
    for (const cmd of cmds) samples.get(cmd.label)!.push(await timeOneStart(cmd, workDir));
  }
  return cmds.map(({ label }) => {
    const t = samples.get(label)!;
    return { label, medianMs: median(t), p90Ms: percentile(t, 90), minMs: Math.min(...t), starts: t.length };
  });
}

/** Memory a moment after start-up, when the server has nothing to do. */
export async function idleMemory(pid: number, settleMs = 1000): Promise<ReturnType<typeof memoryOf>> {
  await Bun.sleep(settleMs);
  return memoryOf(pid);
}

export interface HealthcheckResult {
  medianMs: number;
  p90Ms: number;
  /** Peak resident memory of one healthcheck process (median over runs), KiB. */
  maxRssKiB: number;
  runs: number;
}

/** The `healthcheck` subcommand against a SERVING server, as a container engine runs it. */
export function measureHealthcheck(binary: string, address: string, runs: number): HealthcheckResult {
  const times: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t = performance.now();
    // GNU time reports the child's own peak RSS (getrusage of this process
    // would include every child it ever waited for, the compiler among them).
    const r = Bun.spawnSync(["/usr/bin/time", "-f", "maxrss_kib=%M", binary, "healthcheck", "--addr", address], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    const ms = performance.now() - t;
    if (r.exitCode !== 0) throw new Error(`healthcheck failed (${r.exitCode}): ${r.stdout.toString()}${r.stderr.toString()}`);
    if (i === 0) continue; // page cache warm-up, uncounted
    times.push(ms);
    rss.push(Number(/maxrss_kib=(\d+)/.exec(r.stderr.toString())?.[1] ?? NaN));
  }
  return { medianMs: median(times), p90Ms: percentile(times, 90), maxRssKiB: median(rss), runs };
}
