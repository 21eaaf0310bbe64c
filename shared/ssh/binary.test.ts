// ssh2 inside the compiled binary (design trap 1): the aws binary, copied
// alone into a minimal root filesystem and run as the nonroot user in
// sandbox mode, executes a command and carries a tunnel over SSH to a real
// OpenSSH server on loopback. ssh2's optional native add-ons are absent,
// so this proves its pure-JavaScript path works with nothing read from a
// node_modules tree.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { buildProviders } from "../../scripts/build";
import { NONROOT_UID, freePort, makeMinimalRoot, type MinimalRoot } from "../../scripts/chroot";
import { ProviderClient } from "../testing/client";
import { startEchoServer, startTestSshd, type TestSshd } from "./test-sshd";

let outdir: string;
let root: MinimalRoot;
let sshd: TestSshd;
let echo: Awaited<ReturnType<typeof startEchoServer>>;

beforeAll(async () => {
  outdir = mkdtempSync("/tmp/skyclust-ssh-build-");
  const [binary] = await buildProviders({ providers: ["aws"], outdir });
  sshd = await startTestSshd();
  echo = await startEchoServer();
  root = makeMinimalRoot(binary!);
  // Key and known_hosts inside the root, owned by the user the binary runs as.
  root.addFile(join(sshd.keyDir, sshd.keyName), `/etc/skyclust/ssh-keys/${sshd.keyName}`, 0o600);
  chownSync(join(root.dir, "etc/skyclust/ssh-keys", sshd.keyName), NONROOT_UID, NONROOT_UID);
  const knownHosts = join(sshd.dir, "known_hosts");
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
  root.addFile(knownHosts, "/etc/skyclust/known_hosts", 0o644);
}, 300_000);

afterAll(async () => {
  await root?.cleanup();
  await echo?.close();
  await sshd?.stop();
  rmSync(outdir, { recursive: true, force: true });
});

test("the compiled binary alone in a minimal root runs a command, a listener tunnel, and a stream tunnel through its own `tunnel` subcommand", async () => {
  const served = await root.serve(
    [
      "--sandbox",
      "--sandbox-ssh-target",
      sshd.target,
      "--ssh-key-dir",
      "/etc/skyclust/ssh-keys",
      "--ssh-known-hosts",
      "/etc/skyclust/known_hosts",
      "--ssh-user",
      sshd.user,
    ],
    { uid: NONROOT_UID },
  );
  const client = new ProviderClient(served.address);
  try {
    const list = await client.call("ListInstances", { filters: { status: "running" }, page_size: 1 });
    const id = list.instances[0].id;
    const res = await client.call("ExecuteInstanceCommand", { instance_id: id, command: "echo from-binary; echo to-stderr >&2; exit 4", key_pair_name: sshd.keyName });
    expect(res).toMatchObject({ stdout: "from-binary\n", stderr: "to-stderr\n", exit_code: 4, success: false, timed_out: false });

    const tunnel = await client.call("CreateInstanceSSHTunnel", { instance_id: id, remote_port: echo.port, key_pair_name: sshd.keyName });
    const [host, p] = tunnel.local_endpoint.split(":");
    const reply = await new Promise<string>((resolve, reject) => {
      const s = createConnection({ host, port: Number(p) }, () => s.write("through-the-binary"));
      s.once("data", (d) => (s.end(), resolve(d.toString())));
      s.on("error", reject);
    });
    expect(reply).toBe("through-the-binary");
    await client.call("CloseInstanceSSHTunnel", { tunnel_id: tunnel.tunnel_id });

    // The binary's `tunnel` subcommand (also alone in the root) against the
    // binary's TunnelInstancePort: a plain TCP client reaches the echo service.
    const localPort = await freePort();
    const forwarder = root.spawn(["tunnel", "--addr", served.address, "--instance", id, "--remote-port", String(echo.port), "--local-port", String(localPort), "--key-pair", sshd.keyName], { uid: NONROOT_UID });
    try {
      let out = "";
      const decoder = new TextDecoder();
      for await (const chunk of forwarder.stdout) {
        out += decoder.decode(chunk);
        if (out.includes("forwarding")) break;
      }
      expect(out).toContain(`forwarding 127.0.0.1:${localPort}`);
      const streamed = await new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const s = createConnection({ host: "127.0.0.1", port: localPort }, () => s.end("through-the-stream"));
        s.on("data", (d: Buffer) => chunks.push(d));
        s.on("end", () => resolve(Buffer.concat(chunks).toString()));
        s.on("error", reject);
      });
      expect(streamed).toBe("through-the-stream");
    } finally {
      forwarder.kill("SIGTERM");
      expect(await forwarder.exited).toBe(0);
    }
  } finally {
    client.close();
    expect(await served.stop()).toBe(0);
  }
  const stderr = served.stderr();
  expect(stderr).not.toContain("ENOENT");
  expect(stderr).not.toContain("from-binary"); // command output is not logged
}, 60_000);
