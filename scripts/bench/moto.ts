// Large inventories against a real EC2 protocol peer: moto's server holding
// 10,000 instances (one reservation each), listed to the end with
// ListInstances through the aws provider in cloud mode. moto renders XML
// slowly, so wall time mostly measures moto; the provider's own CPU time
// (utime + stime from /proc) is what compares the runtimes.
import { spawn } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProviderClient } from "../../shared/testing/client";
import { memoryOf, startProvider, type ServerCommand } from "./server-process";

export interface MotoWalkResult {
  label: string;
  instances: number;
  rpcs: number;
  pageSize: number;
  wallSeconds: number;
  providerCpuSeconds: number;
  /** Wall and provider CPU for the first `sample` instances (same slice for every runtime). */
  sample: { instances: number; wallSeconds: number; providerCpuSeconds: number };
  peakRssKiB: number;
}

export interface SeededMoto {
  url: string;
  seedSeconds: number;
  stop(): Promise<void>;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

export function cpuSeconds(pid: number): number {
  // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export async function startSeededMoto(count: number, region: string, timeoutMs = 180_000): Promise<SeededMoto> {
  const proc = spawn(["python3", join(import.meta.dir, "moto_seeded.py"), String(count), region], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  const stop = async () => {
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await proc.exited;
    clearTimeout(timer);
  };
  const errText = new Response(proc.stderr).text();
  const ready = (async () => {
    const decoder = new TextDecoder();
    let seen = "";
    for await (const chunk of proc.stdout) {
      seen += decoder.decode(chunk, { stream: true });
      const m = /READY (http:\/\/[\d.]+:\d+) seeded in ([\d.]+) s/.exec(seen);
      if (m) return { url: m[1]!, seedSeconds: Number(m[2]) };
    }
    throw new Error(`moto exited before it was ready: ${(await errText).slice(-2000)}`);
  })();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`moto not ready within ${timeoutMs} ms`)), timeoutMs).unref());
  try {
    const { url, seedSeconds } = await Promise.race([ready, timeout]);
    return { url, seedSeconds, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Lists from the first page until `limit` instances (or the end) were seen;
 * with no limit, checks that every seeded instance came back exactly once.
 */
export async function walkMoto(
  cmd: ServerCommand,
  motoUrl: string,
  seeded: number,
  pageSize: number,
  workDir: string,
  limit: number,
  sample: number,
): Promise<MotoWalkResult> {
  const server = await startProvider(
    cmd,
    ["--endpoint", motoUrl, "--region", "us-east-1", "--max-attempts", "1"],
    join(workDir, `moto-${cmd.label.replace(/\W+/g, "-")}.log`),
    { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" },
  );
  const client = new ProviderClient(server.address);
  try {
    await client.call("GetProviderInfo");
    const cpuBefore = cpuSeconds(server.pid);
    const started = performance.now();
    let token = "";
    let rpcs = 0;
    const ids = new Set<string>();
    let sampled: MotoWalkResult["sample"] | undefined;
    do {
      const page = await client.call("ListInstances", { region: "us-east-1", page_size: pageSize, page_token: token }, { deadlineMs: 300_000 });
      rpcs++;
      for (const i of page.instances) ids.add(i.id);
      token = page.next_page_token;
      if (!sampled && ids.size >= sample) {
        sampled = { instances: ids.size, wallSeconds: (performance.now() - started) / 1000, providerCpuSeconds: cpuSeconds(server.pid) - cpuBefore };
      }
    } while (token && ids.size < limit);
    const wallSeconds = (performance.now() - started) / 1000;
    const expected = Math.min(seeded, limit);
    if (ids.size !== expected) throw new Error(`${cmd.label}: the walk listed ${ids.size} distinct instances, expected ${expected}`);
    return {
      label: cmd.label,
      instances: ids.size,
      rpcs,
      pageSize,
      wallSeconds,
      providerCpuSeconds: cpuSeconds(server.pid) - cpuBefore,
      sample: sampled ?? { instances: ids.size, wallSeconds, providerCpuSeconds: cpuSeconds(server.pid) - cpuBefore },
      peakRssKiB: memoryOf(server.pid).hwmKiB,
    };
  } finally {
    client.close();
    await server.stop();
  }
}
