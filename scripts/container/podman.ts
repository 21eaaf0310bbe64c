// The podman engine as scripts/container.test.ts drives it: every command
// gets the settings this kind of machine needs through one private
// containers.conf (CONTAINERS_CONF), so the same settings also reach
// `podman system service`, which Docker Compose talks to:
//  - runtime runc with the cgroupfs manager: crun refuses the hybrid cgroup
//    layout of these machines, and there is no systemd to manage cgroups;
//  - ulimits no higher than the current hard limits: as root, podman raises
//    nofile/nproc for the container by default, and the kernel refuses to
//    raise them here. nproc also stays at pid_max: runc fails to set a higher
//    one on these machines (a value no process count can reach anyway).
// A normal machine needs none of this: plain `podman` or `docker` does.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function hardLimit(name: string): number | undefined {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith(name));
  const hard = line?.slice(26).trim().split(/\s+/)[1];
  return hard && hard !== "unlimited" ? Number(hard) : undefined;
}

function pidMax(): number {
  return Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
}

/** Why no engine can run here, or undefined when podman and runc are installed. */
export function engineMissing(): string | undefined {
  for (const tool of ["podman", "runc"]) if (!Bun.which(tool)) return `${tool} is not installed (scripts/install-container-engine.sh installs it; it needs root and Debian's packages)`;
  return undefined;
}

export class Podman {
  readonly confDir = mkdtempSync("/tmp/skyclust-podman-");
  readonly env: Record<string, string>;

  constructor() {
    const nofile = hardLimit("Max open files") ?? 1048576;
    const nproc = Math.min(hardLimit("Max processes") ?? Infinity, pidMax());
    writeFileSync(
      join(this.confDir, "containers.conf"),
      [
        "[containers]",
        `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
        "[engine]",
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        "",
      ].join("\n"),
    );
    this.env = { ...(process.env as Record<string, string>), CONTAINERS_CONF: join(this.confDir, "containers.conf") };
  }

  /** Runs podman to completion; throws with its output unless it exits 0 (or `allowFail`). */
  run(args: string[], opts: { allowFail?: boolean; stdin?: Blob | Uint8Array; cwd?: string; timeoutMs?: number } = {}): Result {
    const r = Bun.spawnSync(["podman", ...args], {
      env: this.env,
      cwd: opts.cwd,
      stdin: opts.stdin ?? "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: opts.timeoutMs ?? 600_000,
    });
    const result = { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    if (result.code !== 0 && !opts.allowFail) throw new Error(`podman ${args.join(" ")} exited ${result.code}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
    return result;
  }

  /** Same, without blocking the event loop (for long builds and runs beside gRPC calls). */
  async runAsync(args: string[], opts: { allowFail?: boolean; cwd?: string; stdin?: string } = {}): Promise<Result> {
    const proc = Bun.spawn(["podman", ...args], { env: this.env, cwd: opts.cwd, stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]), stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const result = { code, stdout, stderr };
    if (code !== 0 && !opts.allowFail) throw new Error(`podman ${args.join(" ")} exited ${code}:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`);
    return result;
  }

  json<T = any>(args: string[]): T {
    return JSON.parse(this.run(args).stdout) as T;
  }

  imageExists(ref: string): boolean {
    return this.run(["image", "exists", ref], { allowFail: true }).code === 0;
  }

  /** The host-side /proc status of a running container's main process (its PID 1). */
  processStatus(container: string): Record<string, string> {
    const pid = this.run(["inspect", "--format", "{{.State.Pid}}", container]).stdout.trim();
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Object.fromEntries(status.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
  }

  cleanup(): void {
    if (existsSync(this.confDir)) rmSync(this.confDir, { recursive: true, force: true });
  }
}
