// A newcomer's first minutes, as the README tells them: a clone with nothing
// beside it (no sibling shared/ reference folder, no node_modules, no Bun on
// PATH), `npm start`, a look at each provider through reflection alone (what
// grpcurl does), then Ctrl-C. Runs the real npm, which fetches the pinned Bun
// from the registry into the clone.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SERVICE_NAME } from "../shared/grpc/descriptors";
import { healthStatus } from "../shared/testing/health-client";
import { ReflectionClient, callByReflection } from "../shared/testing/reflection-client";
import { shippedFiles } from "./shipped-files";

const REPO = join(import.meta.dir, "..");
// The README's quick-start table: each sandbox's default region.
const QUICK_START: { provider: string; port: number; region: string }[] = [
  { provider: "aws", port: 50051, region: "us-east-1" },
  { provider: "gcp", port: 50052, region: "us-central1" },
  { provider: "openstack", port: 50053, region: "RegionOne" },
  { provider: "proxmox", port: 50054, region: "pve1" },
];

/** The files a clone holds, copied with their modes into an empty folder. */
function cloneInto(dir: string): void {
  for (const file of shippedFiles(REPO)) {
    const from = join(REPO, file);
    if (!existsSync(from)) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(from, join(dir, file));
    chmodSync(join(dir, file), statSync(from).mode & 0o777);
  }
}

/** The environment of a fresh shell: no npm lifecycle variables of the test run itself, no Bun on PATH. */
function freshShellEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^npm_/i.test(k) || k === "INIT_CWD" || k.startsWith("SKYCLUST_") || k.startsWith("BUN_")) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? "/usr/bin:/bin")
    .split(":")
    .filter((d) => d && !d.includes("node_modules") && !existsSync(join(d, "bun")))
    .join(":");
  return env;
}

async function portFree(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return false;
  } catch {
    return true;
  }
}

describe("a fresh clone with nothing beside it runs the README's quick start", () => {
  let parent: string;
  let clone: string;
  let npmStart: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let output = "";

  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), "skyclust-lone-"));
    clone = join(parent, "skyclust");
    cloneInto(clone);
  });
  afterAll(async () => {
    if (npmStart && npmStart.exitCode === null) {
      try {
        process.kill(-npmStart.pid, "SIGINT");
        await Promise.race([npmStart.exited, Bun.sleep(30_000)]);
      } catch {
        // the group is gone already
      }
    }
    // start-all runs each provider in its own process group: end anything still running from the clone.
    Bun.spawnSync(["pkill", "-KILL", "-f", clone]);
    rmSync(parent, { recursive: true, force: true });
  });

  test("the clone has no ../shared, no node_modules and no Bun on PATH", () => {
    expect(existsSync(join(clone, "..", "shared"))).toBe(false);
    expect(existsSync(join(clone, "node_modules"))).toBe(false);
    expect(Bun.spawnSync(["sh", "-c", "command -v bun"], { env: freshShellEnv() }).exitCode).not.toBe(0);
  });

  test(
    "npm start serves all four in sandbox mode; reflection alone lists and calls each; Ctrl-C stops them all",
    async () => {
      for (const { port } of QUICK_START) {
        if (!(await portFree(port))) throw new Error(`port ${port} is in use: the quick start needs 50051-50054 free (stop what listens there)`);
      }
      npmStart = spawn(["npm", "start"], { cwd: clone, env: freshShellEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true });
      const collect = async (stream: ReadableStream<Uint8Array>) => {
        for await (const chunk of stream) output += new TextDecoder().decode(chunk);
      };
      void collect(npmStart.stdout);
      void collect(npmStart.stderr);

      // First run: npm fetches Bun, Bun installs the dependencies, then four servers start.
      const deadline = Date.now() + 240_000;
      for (const { port } of QUICK_START) {
        while ((await healthStatus(`127.0.0.1:${port}`, 1000).catch(() => "DOWN")) !== "SERVING") {
          if (npmStart.exitCode !== null) throw new Error(`npm start exited with ${npmStart.exitCode}:\n${output.slice(-3000)}`);
          if (Date.now() > deadline) throw new Error(`port ${port} never served:\n${output.slice(-3000)}`);
          await Bun.sleep(250);
        }
      }
      expect(existsSync(join(clone, "node_modules", ".bin", "bun"))).toBe(true);
      expect(output).not.toContain("EBADENGINE");

      for (const { provider, port, region } of QUICK_START) {
        const address = `127.0.0.1:${port}`;
        const reflection = new ReflectionClient(address);
        try {
          expect(await reflection.listServices()).toEqual(expect.arrayContaining([SERVICE_NAME, "grpc.health.v1.Health"]));
        } finally {
          reflection.close();
        }
        const info = await callByReflection(address, `${SERVICE_NAME}/GetProviderInfo`, {});
        expect(info.name).toBe(provider);
        const page = await callByReflection(address, `${SERVICE_NAME}/ListInstances`, { region, page_size: 10 });
        expect(page.instances.length).toBeGreaterThan(0); // the sandbox seeds instances in every region
        expect(page.instances.every((i: { region: string }) => i.region === region)).toBe(true);
      }

      // Ctrl-C in a terminal signals the whole foreground process group.
      process.kill(-npmStart.pid, "SIGINT");
      const code = await Promise.race([npmStart.exited, Bun.sleep(60_000).then(() => "timeout" as const)]);
      // npm itself reports an interrupted script as 128 + SIGINT, as a shell does.
      expect(code).toBe(130);
      await Bun.sleep(200); // let the last output arrive
      for (const { provider, port } of QUICK_START) {
        expect(output).toMatch(new RegExp(`${provider} *\\| .*"msg":"shutting down".*"reason":"SIGTERM"`));
        expect(await portFree(port)).toBe(true);
      }
      expect(output).not.toContain("exited with"); // start-all names any provider that did not exit 0
    },
    360_000,
  );
});
