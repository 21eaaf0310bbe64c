// Starts one provider process the way a user would run it, measures the
// time from spawn to the first SERVING health answer, reads its memory from
// /proc and stops it. Logs (one JSON line per RPC) go to a file so reading
// them costs the benchmark nothing while it runs.
import { spawn, type Subprocess } from "bun";
import { openSync, closeSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { freePort } from "../chroot";
import { healthStatus } from "../../shared/testing/health-client";

export interface ServerCommand {
  /** Short label: "compiled", "bun run", "node". */
  label: string;
  /** argv before the provider flags. */
  argv: string[];
}

export interface RunningProvider {
  pid: number;
  port: number;
  address: string;
  logFile: string;
  /** ms from spawn to the first SERVING health check answer. */
  startupMs: number;
  stop(): Promise<void>;
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Polls fast: first until the port accepts TCP (a refused gRPC channel
 * would back off for a second), then health Check until SERVING.
 */
async function waitServing(address: string, port: number, exited: () => boolean, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!(await tcpAccepts(port))) {
    if (exited()) throw new Error(`${address}: the process exited before serving`);
    if (performance.now() > until) throw new Error(`${address}: no listener within ${timeoutMs} ms`);
    await Bun.sleep(1);
  }
  let last = "";
  while (performance.now() < until) {
    last = await healthStatus(address, 2000).catch((e: Error) => e.message);
    if (last === "SERVING") return;
    await Bun.sleep(1);
  }
  throw new Error(`${address}: not SERVING within ${timeoutMs} ms (last: ${last})`);
}

export async function startProvider(
  cmd: ServerCommand,
  args: string[],
  logFile: string,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<RunningProvider> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const fd = openSync(logFile, "w");
  const started = performance.now();
  const proc: Subprocess = spawn([...cmd.argv, "--host", "127.0.0.1", "--port", String(port), ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
    stdin: "ignore",
    stdout: "ignore",
    stderr: fd,
  });
  closeSync(fd);
  let exited = false;
  proc.exited.then(() => (exited = true));
  const stop = async () => {
    if (exited) return;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
    await proc.exited;
    clearTimeout(timer);
  };
  try {
    await waitServing(address, port, () => exited, timeoutMs);
  } catch (err) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new Error(`${cmd.label}: ${(err as Error).message}\n${readFileSync(logFile, "utf8").slice(-2000)}`);
  }
  return { pid: proc.pid, port, address, logFile, startupMs: performance.now() - started, stop };
}

/**
 * VmRSS and VmHWM (peak) of a live process, in KiB, and how the RSS splits
 * into anonymous memory (heap, JIT, allocator) and file-backed pages (mostly
 * the executable's own code: clean, shared, reclaimable).
 */
export function memoryOf(pid: number): { rssKiB: number; hwmKiB: number; anonKiB: number; fileKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM"), anonKiB: field("RssAnon"), fileKiB: field("RssFile") };
}

/** RPC log lines of a provider's log file, counted by method and status code. */
export function rpcCodes(logFile: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes('"msg":"rpc"')) continue;
    const { method, code } = JSON.parse(line) as { method: string; code: string };
    const byCode = out.get(method) ?? new Map<string, number>();
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    out.set(method, byCode);
  }
  return out;
}
