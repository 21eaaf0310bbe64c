// Runs a provider from source as a child process, as a user would.
import { spawn, type Subprocess } from "bun";
import { join } from "node:path";
import { freePort, waitForServing } from "../../scripts/chroot";

export const REPO_ROOT = join(import.meta.dir, "..", "..");

export interface ProviderProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  address: string;
  port: number;
  /** stderr so far (JSON log lines). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function spawnProvider(provider: string, args: string[], env: Record<string, string> = {}): Promise<ProviderProcess> {
  const port = await freePort();
  const proc = spawn([process.execPath, join(REPO_ROOT, "providers", provider, "main.ts"), "--host", "127.0.0.1", "--port", String(port), ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let err = "";
  (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })();
  const address = `127.0.0.1:${port}`;
  await waitForServing(address).catch((e) => {
    proc.kill("SIGKILL");
    throw new Error(`${e.message}\n${err}`);
  });
  return {
    proc,
    address,
    port,
    output: () => err,
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

export function runCli(provider: string, args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([process.execPath, join(REPO_ROOT, "providers", provider, "main.ts"), ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent", ...env },
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Like runCli, without blocking this process (use when the server runs in-process). */
export async function runCliAsync(provider: string, args: string[], env: Record<string, string> = {}) {
  const proc = spawn([process.execPath, join(REPO_ROOT, "providers", provider, "main.ts"), ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
