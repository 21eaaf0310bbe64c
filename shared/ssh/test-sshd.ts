// A real OpenSSH server for tests: Debian's /usr/sbin/sshd on a free
// loopback port, with its own host key, its own sshd_config (no PAM) and an
// authorized_keys file holding a client key generated here. It runs as the
// current user's sshd (root in CI; root logins with keys only).
import { spawn, type Subprocess } from "bun";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

export interface TestSshd {
  port: number;
  /** `127.0.0.1:PORT`, as --sandbox-ssh-target takes it. */
  target: string;
  user: string;
  /** Directory for --ssh-key-dir; holds the authorized key as KEY_NAME (0600). */
  keyDir: string;
  keyName: string;
  /** Directory for other test files (known_hosts, ...). */
  dir: string;
  /** The server's host key as a known_hosts line for [127.0.0.1]:PORT. */
  knownHostsLine: string;
  logs: string[];
  /** Adds a public key line to the authorized_keys file (read at every login). */
  authorize(publicKey: string): void;
  stop(): Promise<void>;
}

function keygen(path: string, comment: string): void {
  const r = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  if (r.exitCode !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.toString()}`);
}

/** Makes a fresh ed25519 key pair at `path` (+ .pub), mode 0600. */
export function makeKey(path: string, comment = "skyclust-test"): { privateKey: string; publicKey: string } {
  keygen(path, comment);
  chmodSync(path, 0o600);
  return { privateKey: readFileSync(path, "utf8"), publicKey: readFileSync(`${path}.pub`, "utf8").trim() };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the port answers with an SSH banner. */
async function waitForBanner(port: number, proc: Subprocess, logs: string[]): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (proc.exitCode !== null) throw new Error(`sshd exited (${proc.exitCode}): ${logs.join("")}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: "127.0.0.1", port });
      s.once("data", (d) => (s.destroy(), resolve(d.toString().startsWith("SSH-"))));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await Bun.sleep(50);
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port}: ${logs.join("")}`);
}

function supportsOption(configBase: string, option: string, dir: string): boolean {
  const probe = join(dir, "probe_config");
  writeFileSync(probe, `${configBase}\n${option}\n`);
  return Bun.spawnSync([SSHD, "-t", "-f", probe]).exitCode === 0;
}

export async function startTestSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) {
    throw new Error(`${SSHD} is missing: install Debian's openssh-server (apt-get install -y openssh-server) to run the SSH tests`);
  }
  // sshd's privilege separation directory (absent until the package's service ran once).
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync("/tmp/skyclust-sshd-");
  const keyDir = join(dir, "keys");
  mkdirSync(keyDir, { mode: 0o700 });
  const keyName = "test-key";
  keygen(join(dir, "host_ed25519"), "test-host");
  const client = makeKey(join(keyDir, keyName), "skyclust-test-client");
  const authorized = join(dir, "authorized_keys");
  writeFileSync(authorized, `${client.publicKey}\n`, { mode: 0o600 });
  // Bun's os.userInfo() can say "unknown"; id(1) asks the passwd database.
  const user = Bun.spawnSync(["id", "-un"]).stdout.toString().trim() || userInfo().username;
  const logs: string[] = [];

  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const base = [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_ed25519")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorized}`,
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "AllowTcpForwarding yes",
      "UseDNS no",
      "PrintMotd no",
      "LogLevel VERBOSE",
    ].join("\n");
    // OpenSSH 9.8+ slows down sources that fail to authenticate; the
    // wrong-key test must not slow the tests after it.
    const config = supportsOption(base, "PerSourcePenalties no", dir) ? `${base}\nPerSourcePenalties no\n` : `${base}\n`;
    const configPath = join(dir, "sshd_config");
    writeFileSync(configPath, config);
    const proc = spawn([SSHD, "-D", "-e", "-f", configPath], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    (async () => {
      for await (const chunk of proc.stderr) logs.push(new TextDecoder().decode(chunk));
    })();
    try {
      await waitForBanner(port, proc, logs);
    } catch (err) {
      proc.kill("SIGKILL");
      await proc.exited;
      if (attempt < 2) continue; // the free port was taken in between
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const hostPub = readFileSync(join(dir, "host_ed25519.pub"), "utf8").trim().split(/\s+/);
    return {
      port,
      target: `127.0.0.1:${port}`,
      user,
      keyDir,
      keyName,
      dir,
      knownHostsLine: `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}`,
      logs,
      authorize(publicKey: string) {
        appendFileSync(authorized, `${publicKey.trim()}\n`);
      },
      async stop() {
        proc.kill("SIGTERM");
        await proc.exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** A TCP echo service on 127.0.0.1 (the far end of tunnel tests). */
export async function startEchoServer(): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const sockets = new Set<import("node:net").Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
