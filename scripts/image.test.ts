// The container image without a Docker engine (design traps 1, 3, 4):
//  1. the Dockerfile's build stage is replayed instruction by instruction
//     (its COPYs from the .dockerignore-filtered context, its RUN lines in
//     sh, with the stage's WORKDIR mapped to a scratch directory), for each
//     PROVIDER, exactly as `docker build --build-arg PROVIDER=...` would;
//  2. the final image's filesystem is assembled from what the chosen stage
//     chain COPYs, on a distroless-equivalent root (glibc, CA certificates,
//     /etc/passwd with nonroot 65532; scripts/chroot.ts), made READ-ONLY
//     (Kubernetes readOnlyRootFilesystem, compose read_only);
//  3. the ENTRYPOINT runs under chroot as the Dockerfile's USER with the
//     environment of docker-compose.sandbox.yml, in its own network
//     namespace, so it listens on its real default port like in a container;
//     health is checked by the Dockerfile HEALTHCHECK, the compose health
//     check and the Kubernetes probe port, each run inside the root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { arch } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PROVIDERS } from "./build";
import { NONROOT_UID, makeMinimalRoot, type MinimalRoot } from "./chroot";
import { expand, finalImage, parseDockerfile, splitFlags, type Dockerfile, type FinalImage } from "./dockerfile";

const repo = resolve(import.meta.dir, "..");
const dockerfile = parseDockerfile(readFileSync(join(repo, "Dockerfile"), "utf8"));
const sandboxCompose = Bun.YAML.parse(readFileSync(join(repo, "docker-compose.sandbox.yml"), "utf8")) as any;
const compose = Bun.YAML.parse(readFileSync(join(repo, "docker-compose.yml"), "utf8")) as any;
const CHROOT = ["/usr/sbin/chroot", "/usr/bin/chroot"].find((p) => existsSync(p)) ?? "chroot";
/** What Docker puts in a container's environment before the image's and compose's. */
const DOCKER_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/home/nonroot", HOSTNAME: "skyclust-test" };
/** distroless cc-debian12 ships Debian 12's glibc. */
const DISTROLESS_GLIBC_MINOR = 36;

// ------------------------------------------------------------ the context

function dockerignorePatterns(): Bun.Glob[] {
  return readFileSync(join(repo, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      if (l.startsWith("!")) throw new Error(".dockerignore exceptions (!) are not emulated here");
      return new Bun.Glob(l.replace(/^\/|\/$/g, ""));
    });
}

/** Files of the build context after .dockerignore (a path or any of its parents matching excludes it). */
function contextFiles(): string[] {
  const patterns = dockerignorePatterns();
  const ignored = (rel: string) => patterns.some((g) => g.match(rel));
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(repo, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (ignored(path)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  walk("");
  return out;
}

// ------------------------------------------------- replaying a build stage

/** BuildKit's automatic platform arguments for a native build on this machine. */
function platformArgs(): Record<string, string> {
  const a = arch() === "x64" ? "amd64" : arch();
  return { TARGETARCH: a, TARGETOS: "linux", TARGETPLATFORM: `linux/${a}`, BUILDARCH: a, BUILDOS: "linux", BUILDPLATFORM: `linux/${a}` };
}

/**
 * Replays the instructions of one build stage with `stageRoot` standing for
 * the stage's filesystem root; returns the host path of a stage path.
 */
function replayStage(df: Dockerfile, name: string, stageRoot: string, buildArgs: Record<string, string>, context: string[]): (stagePath: string) => string {
  const stage = df.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage "${name}" in the Dockerfile`);
  const host = (p: string) => join(stageRoot, p);
  const vars: Record<string, string | undefined> = {};
  let workdir = "/";
  const auto = platformArgs();
  for (const ins of stage.instructions) {
    switch (ins.keyword) {
      case "ARG": {
        const [k, v] = ins.args.split("=") as [string, string | undefined];
        vars[k] = buildArgs[k] ?? auto[k] ?? v ?? df.globalArgs[k];
        break;
      }
      case "WORKDIR":
        workdir = resolve(workdir, expand(ins.args, vars));
        mkdirSync(host(workdir), { recursive: true });
        break;
      case "COPY": {
        const { flags, rest } = splitFlags(ins.args);
        if (flags.from) throw new Error("COPY --from in the build stage is not replayed");
        const parts = expand(rest, vars).split(/\s+/);
        const dest = resolve(workdir, parts.at(-1)!);
        for (const src of parts.slice(0, -1)) {
          const files = src === "." ? context : context.filter((f) => f === src);
          if (files.length === 0) throw new Error(`COPY ${src}: not in the build context (.dockerignore?)`);
          for (const f of files) {
            const to = host(src === "." ? join(dest, f) : join(dest, f.split("/").at(-1)!));
            mkdirSync(dirname(to), { recursive: true });
            copyFileSync(join(repo, f), to);
          }
        }
        break;
      }
      case "RUN": {
        // The oven/bun image's `bun` is the pinned Bun this test runs on
        // (whose file may be called bun.exe, as the npm package names it).
        const bin = join(stageRoot, ".replay-bin");
        if (!existsSync(join(bin, "bun"))) {
          mkdirSync(bin, { recursive: true });
          symlinkSync(process.execPath, join(bin, "bun"));
        }
        const env = { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, HOME: process.env.HOME ?? "/root", ...vars } as Record<string, string>;
        const r = Bun.spawnSync(["sh", "-c", ins.args], { cwd: host(workdir), env, stdout: "pipe", stderr: "pipe" });
        if (r.exitCode !== 0) throw new Error(`RUN (Dockerfile line ${ins.line}) failed with ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
        break;
      }
      default:
        throw new Error(`${ins.keyword} in the build stage is not replayed by this test`);
    }
  }
  return host;
}

// ------------------------------------------------------ the final image

/** Highest GLIBC_2.N symbol version the binary asks for. */
function glibcNeeded(file: string): number {
  const bytes = readFileSync(file);
  let max = 0;
  for (let i = bytes.indexOf("GLIBC_2."); i >= 0; i = bytes.indexOf("GLIBC_2.", i + 8)) {
    const m = /^GLIBC_2\.(\d+)/.exec(bytes.toString("latin1", i, i + 12));
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

interface Container {
  root: MinimalRoot;
  image: FinalImage;
  uid: number;
  gid: number;
  netns: string;
  exec(cmd: string[], env?: Record<string, string>): Bun.Subprocess<"ignore", "pipe", "pipe">;
  run(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

function sh(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString().trim()}`);
}

function assembleContainer(provider: string, buildStagePath: (p: string) => string): Container {
  const image = finalImage(dockerfile, { PROVIDER: provider });
  const fromBuild = image.copies.filter((c) => c.from === "build");
  if (fromBuild.length !== 1 || fromBuild[0]!.sources.length !== 1) throw new Error(`expected one COPY --from=build of the binary, got ${JSON.stringify(image.copies)}`);
  const copy = fromBuild[0]!;
  const built = buildStagePath(copy.sources[0]!);
  // The distroless-equivalent base: glibc files, CA certificates, passwd.
  const root = makeMinimalRoot(built);
  rmSync(join(root.dir, root.binary));
  root.addFile(built, copy.dest, copy.chmod ? parseInt(copy.chmod, 8) : 0o755);
  // Read-only like readOnlyRootFilesystem: a read-only bind of the root over
  // itself (recursive, so /proc and /dev stay mounted inside).
  sh(["mount", "--rbind", root.dir, root.dir]);
  sh(["mount", "-o", "remount,bind,ro", root.dir]);
  const netns = `skyclust-image-${process.pid}-${provider}`;
  sh(["ip", "netns", "add", netns]);
  sh(["ip", "-n", netns, "link", "set", "lo", "up"]);
  const [uid, gid] = (image.user ?? "0").split(":").map(Number) as [number, number | undefined];
  const children = new Set<Bun.Subprocess>();
  const container: Container = {
    root,
    image,
    uid,
    gid: gid ?? uid,
    netns,
    exec(cmd, env = {}) {
      const proc = Bun.spawn(["nsenter", `--net=/run/netns/${netns}`, CHROOT, `--userspec=${uid}:${gid ?? uid}`, root.dir, ...cmd], {
        env: { ...DOCKER_ENV, ...env },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      children.add(proc);
      proc.exited.then(() => children.delete(proc));
      return proc;
    },
    async run(cmd) {
      const proc = container.exec(cmd);
      const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      return { code, stdout, stderr };
    },
    async close() {
      for (const c of children) c.kill("SIGKILL");
      await Promise.all([...children].map((c) => c.exited));
      Bun.spawnSync(["umount", "-R", "-l", root.dir]);
      Bun.spawnSync(["ip", "netns", "del", netns]);
      await root.cleanup();
    },
  };
  return container;
}

async function waitHealthy(c: Container, check: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string }> {
  const until = Date.now() + timeoutMs;
  let last = { code: -1, stdout: "", stderr: "" };
  while (Date.now() < until) {
    last = await c.run(check);
    if (last.code === 0) return last;
    await Bun.sleep(200);
  }
  throw new Error(`${check.join(" ")} never succeeded: ${last.stdout}${last.stderr}`);
}

// ------------------------------------------------------------------ tests

let stageRoot: string;
let buildStagePath: (p: string) => string;

beforeAll(() => {
  stageRoot = mkdtempSync("/tmp/skyclust-build-stage-");
  const context = contextFiles();
  for (const provider of PROVIDERS) buildStagePath = replayStage(dockerfile, "build", stageRoot, { PROVIDER: provider }, context);
}, 600_000);
afterAll(() => rmSync(stageRoot, { recursive: true, force: true }));

test("the build context leaves out dependencies, build output and secrets but has what the build stage copies", () => {
  const context = contextFiles();
  expect(context).toContain("package.json");
  expect(context).toContain("bun.lock");
  expect(context).toContain("scripts/build.ts");
  expect(context.some((f) => f.startsWith("providers/aws/"))).toBe(true);
  for (const f of context) expect(f).not.toMatch(/^(node_modules|dist|\.git)\/|(^|\/)\.env$|\.pem$/);
});

for (const provider of PROVIDERS) {
  describe(`${provider} image (PROVIDER=${provider})`, () => {
    let c: Container;
    beforeAll(() => {
      c = assembleContainer(provider, buildStagePath);
    });
    afterAll(() => c?.close());

    test("final filesystem: distroless cc base, the binary at the ENTRYPOINT path, not writable, nonroot user, glibc within Debian 12's", () => {
      expect(c.image.base).toMatch(/^gcr\.io\/distroless\/cc-debian12(:[\w.-]+)?@sha256:[0-9a-f]{64}$/);
      const program = c.image.entrypoint![0]!;
      expect(program).toBe(`/skyclust-${provider}-provider`);
      const mode = statSync(join(c.root.dir, program)).mode & 0o7777;
      expect(mode & 0o222).toBe(0);
      expect(mode & 0o111).toBe(0o111);
      expect(c.uid).toBe(NONROOT_UID);
      expect(readFileSync(join(c.root.dir, "etc/passwd"), "utf8")).toContain(`nonroot:x:${NONROOT_UID}:${NONROOT_UID}:`);
      expect(glibcNeeded(join(c.root.dir, program))).toBeLessThanOrEqual(DISTROLESS_GLIBC_MINOR);
      expect(() => writeFileSync(join(c.root.dir, "tmp", "probe"), "x")).toThrow(/EROFS|read-only/);
    });

    test("serves in sandbox mode (compose sandbox environment) as uid 65532 on the read-only root; all three health checks pass; SIGTERM exits 0", async () => {
      const hc = c.image.healthcheck!.command;
      const composeCheck = compose.services[provider].healthcheck.test as string[];
      expect(composeCheck[0]).toBe("CMD");
      const port = c.image.exposedPorts[0]!;
      const k8s = Bun.YAML.parse(readFileSync(join(repo, "deploy/kubernetes", `${provider}.yaml`), "utf8")) as any[];
      const probePort = k8s.find((d) => d.kind === "Deployment").spec.template.spec.containers[0].readinessProbe.grpc.port as number;
      const probe = [c.image.entrypoint![0]!, "healthcheck", "--addr", `127.0.0.1:${probePort}`];

      // Nothing listens yet: the check must fail, or it proves nothing.
      const before = await c.run(hc);
      expect(before.code).not.toBe(0);

      const env = Object.fromEntries(Object.entries(sandboxCompose.services[provider].environment).map(([k, v]) => [k, expand(String(v), {})]));
      expect(env.SKYCLUST_SANDBOX).toBe("true");
      const server = c.exec(c.image.entrypoint!, env);
      let stderr = "";
      const drain = (async () => {
        for await (const chunk of server.stderr) stderr += new TextDecoder().decode(chunk);
      })();
      try {
        const healthy = await waitHealthy(c, hc).catch((e) => {
          throw new Error(`${e.message}\nserver stderr:\n${stderr}`);
        });
        expect(healthy.stdout).toContain(`127.0.0.1:${port}: SERVING`);
        const viaCompose = await c.run(composeCheck.slice(1));
        expect(viaCompose.code).toBe(0);
        const viaProbe = await c.run(probe);
        expect(viaProbe.stdout).toContain("SERVING");
        expect(viaProbe.code).toBe(0);
        // The server itself runs as the image's user.
        const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
        expect(status).toMatch(new RegExp(`^Uid:\\s+${NONROOT_UID}\\s+${NONROOT_UID}\\s+${NONROOT_UID}`, "m"));
      } finally {
        server.kill("SIGTERM");
        expect(await server.exited).toBe(0);
        await drain;
      }
      expect(stderr).toContain('"mode":"sandbox"');
      expect(stderr).not.toMatch(/ENOENT|EROFS|EACCES/);
      const after = await c.run(hc);
      expect(after.code).not.toBe(0);
    }, 60_000);
  });
}
