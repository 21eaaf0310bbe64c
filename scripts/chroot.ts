// A minimal root filesystem for proving that a compiled provider binary
// works alone (design trap 1): the binary, the glibc files `ldd` lists, CA
// certificates, /etc/passwd with the distroless nonroot user, an empty /tmp,
// and bind mounts of /proc and /dev. No node_modules, no proto files, no
// build tree. Entered with chroot(8); needs root (every machine here is).
import { spawn, type Subprocess } from "bun";
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename, dirname, join } from "node:path";

export const NONROOT_UID = 65532;

// Absolute: the child environment carries the chroot's PATH, not ours.
const CHROOT = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"].find((p) => existsSync(p)) ?? "chroot";

export interface MinimalRoot {
  dir: string;
  /** Path of the binary inside the root, e.g. /bin/skyclust-aws-provider. */
  binary: string;
  /** Copies a host file into the root (mode kept unless given). */
  addFile(from: string, to: string, mode?: number): void;
  /** Starts the binary (or another path inside the root) under chroot. */
  spawn(args: string[], opts?: { uid?: number; env?: Record<string, string>; program?: string }): Subprocess<"ignore", "pipe", "pipe">;
  /**
   * Starts a provider binary on a free loopback port and waits until it is
   * SERVING (a start-up failure throws with the binary's stderr).
   */
  serve(args: string[], opts?: { uid?: number; env?: Record<string, string> }): Promise<ServedBinary>;
  /** Runs to completion; returns exit code and output. */
  run(args: string[], opts?: { uid?: number; env?: Record<string, string>; program?: string; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Kills what it started, unmounts and deletes the root. */
  cleanup(): Promise<void>;
}

function sharedLibraries(binary: string): string[] {
  const out = Bun.spawnSync(["ldd", binary]).stdout.toString();
  return [...out.matchAll(/(\/\S+)/g)].map((m) => m[1]!).filter((p) => existsSync(p));
}

function mount(args: string[]): void {
  const r = Bun.spawnSync(["mount", ...args]);
  if (r.exitCode !== 0) throw new Error(`mount ${args.join(" ")} failed: ${r.stderr.toString()}`);
}

export interface ServedBinary {
  address: string;
  port: number;
  /** Everything the binary wrote to stderr so far (its JSON log). */
  stderr(): string;
  /** SIGTERM, then the exit code once stderr is fully read. */
  stop(): Promise<number>;
}

export function makeMinimalRoot(binaryPath: string): MinimalRoot {
  const dir = mkdtempSync("/tmp/skyclust-root-");
  // mkdtemp makes it 0700: the nonroot user could not even traverse "/".
  chmodSync(dir, 0o755);
  const name = basename(binaryPath);
  for (const d of ["bin", "etc/ssl/certs", "proc", "dev", "tmp", "home/nonroot"]) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, "tmp"), 0o1777);
  const binary = `/bin/${name}`;
  copyFileSync(binaryPath, join(dir, binary));
  chmodSync(join(dir, binary), 0o755);
  for (const lib of sharedLibraries(binaryPath)) {
    mkdirSync(join(dir, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(dir, lib));
  }
  if (existsSync("/etc/ssl/certs/ca-certificates.crt")) copyFileSync("/etc/ssl/certs/ca-certificates.crt", join(dir, "etc/ssl/certs/ca-certificates.crt"));
  writeFileSync(join(dir, "etc/passwd"), `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n`);
  writeFileSync(join(dir, "etc/group"), `root:x:0:\nnonroot:x:${NONROOT_UID}:\n`);
  writeFileSync(join(dir, "etc/hosts"), "127.0.0.1 localhost\n::1 localhost\n");
  Bun.spawnSync(["chown", `${NONROOT_UID}:${NONROOT_UID}`, join(dir, "home/nonroot")]);
  mount(["--bind", "/proc", join(dir, "proc")]);
  mount(["--bind", "/dev", join(dir, "dev")]);

  const children = new Set<Subprocess>();
  const command = (args: string[], opts: { uid?: number; program?: string }) => {
    const user = opts.uid !== undefined ? [`--userspec=${opts.uid}:${opts.uid}`] : [];
    return [CHROOT, ...user, dir, opts.program ?? binary, ...args];
  };
  const root: MinimalRoot = {
    dir,
    binary,
    addFile(from, to, mode) {
      mkdirSync(join(dir, dirname(to)), { recursive: true });
      copyFileSync(from, join(dir, to));
      if (mode !== undefined) chmodSync(join(dir, to), mode);
    },
    spawn(args, opts = {}) {
      const proc = spawn(command(args, opts), {
        env: { PATH: "/bin", ...(opts.env ?? {}) },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      children.add(proc);
      proc.exited.then(() => children.delete(proc));
      return proc;
    },
    async serve(args, opts = {}) {
      const port = await freePort();
      const address = `127.0.0.1:${port}`;
      const proc = root.spawn(["--host", "127.0.0.1", "--port", String(port), ...args], opts);
      let stderr = "";
      const drain = (async () => {
        for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
      })();
      const served: ServedBinary = {
        address,
        port,
        stderr: () => stderr,
        async stop() {
          proc.kill("SIGTERM");
          const code = await proc.exited;
          await drain;
          return code;
        },
      };
      await waitForServing(address).catch(async (e) => {
        await served.stop();
        throw new Error(`${e.message}\n${stderr}`);
      });
      return served;
    },
    async run(args, opts = {}) {
      const proc = root.spawn(args, opts);
      const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      return { code, stdout, stderr };
    },
    async cleanup() {
      for (const c of children) c.kill("SIGKILL");
      await Promise.all([...children].map((c) => c.exited));
      for (const m of ["proc", "dev"]) Bun.spawnSync(["umount", "-l", join(dir, m)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return root;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls the standard health service until SERVING (or throws after timeoutMs). */
export async function waitForServing(address: string, timeoutMs = 15_000): Promise<void> {
  const { healthStatus } = await import("../shared/testing/health-client");
  const until = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < until) {
    last = await healthStatus(address, 1000).catch((e: Error) => e.message);
    if (last === "SERVING") return;
    await Bun.sleep(100);
  }
  throw new Error(`${address} did not become SERVING within ${timeoutMs} ms (last: ${last})`);
}
