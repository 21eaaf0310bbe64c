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

export async function measureStartup(cmd: ServerCommand, starts: number, workDir: string): Promise<StartupResult> {
  const log = join(workDir, `startup-${cmd.label.replace(/\W+/g, "-")}.log`);
  // One start that is not counted: page cache, and this process's own
  // gRPC client code, are warm for every measured start alike.
  await (await startProvider(cmd, ["--sandbox"], log)).stop();
  const times: number[] = [];
  for (let i = 0; i < starts; i++) {
    const p = await startProvider(cmd, ["--sandbox"], log);
    times.push(p.startupMs);
    await p.stop();
  }
  return { label: cmd.label, medianMs: median(times), p90Ms: percentile(times, 90), minMs: Math.min(...times), starts };
}

/** RSS a moment after start-up, when the server has nothing to do. */
export async function idleMemory(pid: number, settleMs = 1000): Promise<ReturnType<typeof memoryOf>> {
  await Bun.sleep(settleMs);
  return memoryOf(pid);
}
