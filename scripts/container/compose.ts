// Docker Compose v2 against podman: `podman system service` serves the
// Docker-compatible API on a private socket and the compose binary (a Docker
// CLI plugin, also runnable alone) talks to it through DOCKER_HOST.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Podman, Result } from "./podman";

/** Compose 2.24.4 reads the `!override`/`!reset` tags docker-compose.sandbox.yml uses. */
const MIN_VERSION = [2, 24, 4];
const PLUGIN_DIRS = ["/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins", "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins"];

function versionOf(binary: string): number[] | undefined {
  const r = Bun.spawnSync([binary, "version", "--short"], { stdout: "pipe", stderr: "ignore" });
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(r.stdout.toString().trim());
  return r.exitCode === 0 && m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function atLeast(v: number[], min: number[]): boolean {
  for (let i = 0; i < min.length; i++) if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  return true;
}

/** The compose binary to use, or why there is none. */
export function findCompose(): { binary: string; version: string } | { missing: string } {
  const candidates = [...PLUGIN_DIRS.map((d) => join(d, "docker-compose")).filter((p) => existsSync(p)), Bun.which("docker-compose")].filter(Boolean) as string[];
  for (const binary of candidates) {
    const v = versionOf(binary);
    if (v && atLeast(v, MIN_VERSION)) return { binary, version: v.join(".") };
  }
  return { missing: `no Docker Compose ${MIN_VERSION.join(".")} or newer (scripts/install-container-engine.sh installs one; found: ${candidates.join(", ") || "none"})` };
}

export class ComposeOnPodman {
  private service?: Bun.Subprocess;
  readonly socket: string;

  constructor(
    private readonly podman: Podman,
    readonly binary: string,
    readonly project: string,
    readonly files: string[],
    private readonly env: Record<string, string>,
  ) {
    this.socket = join(podman.confDir, `${project}.sock`);
  }

  /** Starts the API service and waits until it answers /_ping. */
  async start(): Promise<void> {
    this.service = Bun.spawn(["podman", "system", "service", "--time=0", `unix://${this.socket}`], { env: this.podman.env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    for (let i = 0; i < 100; i++) {
      const ok = await fetch("http://podman/_ping", { unix: this.socket } as RequestInit)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return;
      await Bun.sleep(100);
    }
    throw new Error("podman system service did not answer on its socket");
  }

  async run(args: string[], opts: { allowFail?: boolean } = {}): Promise<Result> {
    const cmd = [this.binary, "--project-name", this.project, ...this.files.flatMap((f) => ["-f", f]), ...args];
    const proc = Bun.spawn(cmd, { env: { ...this.podman.env, ...this.env, DOCKER_HOST: `unix://${this.socket}` }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0 && !opts.allowFail) throw new Error(`${cmd.join(" ")} exited ${code}:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`);
    return { code, stdout, stderr };
  }

  /** `compose ps` as objects (one JSON object per line, or one array, depending on the version). */
  async ps(all = false): Promise<any[]> {
    const out = (await this.run(["ps", ...(all ? ["--all"] : []), "--format", "json"])).stdout.trim();
    if (!out) return [];
    if (out.startsWith("[")) return JSON.parse(out);
    return out.split("\n").map((l) => JSON.parse(l));
  }

  async stop(): Promise<void> {
    if (!this.service) return;
    this.service.kill("SIGTERM");
    await this.service.exited;
    this.service = undefined;
  }
}
