// The four SSH RPCs end to end: a real gRPC client -> the aws provider in
// sandbox mode -> ssh2 -> a real OpenSSH server on loopback (see
// test-sshd.ts), with --sandbox-ssh-target aiming every instance at it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { readFileSync, statSync, writeFileSync, chmodSync, copyFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { badRequestFields, grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { makeKey, startEchoServer, startTestSshd, type TestSshd } from "./test-sshd";

let sshd: TestSshd;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let knownHosts: string;
let provider: TestProvider;
let instanceId: string;
const extraProviders: TestProvider[] = [];

async function runningInstance(p: TestProvider): Promise<string> {
  const res = await p.client.call("ListInstances", { filters: { status: "running" }, page_size: 1 });
  expect(res.instances.length).toBe(1);
  return res.instances[0].id;
}

function baseArgs(extra: string[] = [], knownHostsFile = knownHosts): string[] {
  return ["--sandbox", "--sandbox-ssh-target", sshd.target, "--ssh-key-dir", sshd.keyDir, "--ssh-known-hosts", knownHostsFile, "--ssh-user", sshd.user, ...extra];
}

async function extraProvider(args: string[]): Promise<TestProvider> {
  const p = await startTestProvider(awsProvider, args);
  extraProviders.push(p);
  return p;
}

/** Sends `payload` through a TCP connection and resolves with what came back once the peer echoed it all. */
function roundTrip(endpoint: string, payload: Buffer): Promise<Buffer> {
  const [host, port] = [endpoint.slice(0, endpoint.lastIndexOf(":")), Number(endpoint.slice(endpoint.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const s: Socket = createConnection({ host, port }, () => s.write(payload));
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= payload.length) {
        s.end();
        resolve(Buffer.concat(chunks));
      }
    });
    s.on("error", reject);
    s.on("close", () => got < payload.length && reject(new Error(`connection closed after ${got} of ${payload.length} bytes`)));
  });
}

/** Resolves with the error code a plain TCP connect gets (or "connected"). */
function connectOutcome(endpoint: string): Promise<string> {
  const i = endpoint.lastIndexOf(":");
  return new Promise((resolve) => {
    const s = createConnection({ host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) });
    s.on("connect", () => (s.destroy(), resolve("connected")));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

beforeAll(async () => {
  sshd = await startTestSshd();
  echo = await startEchoServer();
  knownHosts = join(sshd.dir, "known_hosts");
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`, { mode: 0o600 });
  provider = await startTestProvider(awsProvider, baseArgs(["--ssh-output-max-bytes", "4096", "--ssh-tunnel-max", "2"]));
  instanceId = await runningInstance(provider);
});

afterAll(async () => {
  for (const p of extraProviders) await p.close();
  await provider?.close();
  await echo?.close();
  await sshd?.stop();
});

describe("GetInstanceSSHConfig", () => {
  test("returns the sandbox target, the user and the key name, never a private key by default", async () => {
    const res = await provider.client.call("GetInstanceSSHConfig", { instance_id: instanceId, key_pair_name: sshd.keyName });
    expect(res.ssh_config.host).toBe("127.0.0.1");
    expect(res.ssh_config.port).toBe(sshd.port);
    expect(res.ssh_config.username).toBe(sshd.user);
    expect(res.ssh_config.key_pair_name).toBe(sshd.keyName);
    expect(res.ssh_config.private_key).toBe("");
  });

  test("without --ssh-user the login user comes from the image (sandbox AMI al2023 -> ec2-user)", async () => {
    const p = await extraProvider(["--sandbox", "--sandbox-ssh-target", sshd.target]);
    const id = await runningInstance(p);
    const res = await p.client.call("GetInstanceSSHConfig", { instance_id: id });
    expect(res.ssh_config.username).toBe("ec2-user");
  });

  test("returns the private key and the bastion only when the operator allows it", async () => {
    const p = await extraProvider(baseArgs(["--ssh-expose-private-keys", "--ssh-bastion", `127.0.0.1:${sshd.port}`, "--ssh-bastion-user", sshd.user]));
    const id = await runningInstance(p);
    const res = await p.client.call("GetInstanceSSHConfig", { instance_id: id, key_pair_name: sshd.keyName });
    expect(res.ssh_config.private_key).toBe(readFileSync(join(sshd.keyDir, sshd.keyName), "utf8"));
    expect(res.ssh_config.bastion_host).toBe("127.0.0.1");
    expect(res.ssh_config.bastion_port).toBe(sshd.port);
    expect(res.ssh_config.bastion_username).toBe(sshd.user);
    expect(res.ssh_config.bastion_private_key).toBe(res.ssh_config.private_key);
  });
});

describe("ExecuteInstanceCommand", () => {
  test("captures both streams and a non-zero exit code; the command text is not logged", async () => {
    const command = "echo out-line-7f3a; echo err-line-7f3a >&2; exit 3";
    const res = await provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command, key_pair_name: sshd.keyName });
    expect(res.stdout).toBe("out-line-7f3a\n");
    expect(res.stderr).toBe("err-line-7f3a\n");
    expect(res.exit_code).toBe(3);
    expect(res.success).toBe(false);
    expect(res.timed_out).toBe(false);
    expect(res.stdout_truncated).toBe(false);
    expect(res.stderr_truncated).toBe(false);
    const logs = provider.logs.join("\n");
    expect(logs).toContain("command_sha256");
    // Whole words of the command and its output: a bare "7f3a" also turns
    // up by chance inside random request ids (it did, once, in CI).
    for (const fragment of ["echo out-line", "out-line-7f3a", "err-line-7f3a", "exit 3"]) expect(logs).not.toContain(fragment);
  });

  test("200 commands, eight at a time: every exit code and every output exact (none lost to a listener attached too late)", async () => {
    const wrong: string[] = [];
    const one = async (i: number) => {
      const code = i % 7;
      const res = await provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command: `printf x${i}; exit ${code}`, key_pair_name: sshd.keyName });
      if (res.exit_code !== code || res.stdout !== `x${i}`) wrong.push(`#${i}: exit ${res.exit_code} (want ${code}), stdout ${JSON.stringify(res.stdout)}`);
    };
    // Eight at a time: replies coalesce in one socket read more often.
    for (let i = 0; i < 200; i += 8) await Promise.all(Array.from({ length: 8 }, (_, k) => one(i + k)));
    expect(wrong).toEqual([]);
  }, 120_000);

  test("a zero exit is success", async () => {
    const res = await provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command: "printf ok", key_pair_name: sshd.keyName });
    expect(res).toMatchObject({ stdout: "ok", stderr: "", exit_code: 0, success: true, signal: "" });
  });

  test("a command outliving timeout_seconds is stopped and reported as timed out", async () => {
    const res = await provider.client.call("ExecuteInstanceCommand", {
      instance_id: instanceId,
      command: "while true; do echo tick; sleep 0.2; done; echo never-reached",
      timeout_seconds: 1,
      key_pair_name: sshd.keyName,
    });
    expect(res.timed_out).toBe(true);
    expect(res.success).toBe(false);
    expect(res.stdout).toContain("tick");
    expect(res.stdout).not.toContain("never-reached");
  });

  test("large output is cut at the cap on each stream and flagged", async () => {
    const res = await provider.client.call("ExecuteInstanceCommand", {
      instance_id: instanceId,
      command: "head -c 100000 /dev/zero | tr '\\0' x; head -c 50000 /dev/zero | tr '\\0' y >&2; echo done >&2",
      key_pair_name: sshd.keyName,
    });
    expect(res.exit_code).toBe(0);
    expect(res.stdout.length).toBe(4096);
    expect(res.stdout).toBe("x".repeat(4096));
    expect(res.stdout_truncated).toBe(true);
    expect(res.stderr.length).toBe(4096);
    expect(res.stderr_truncated).toBe(true);
  });

  test("timeout_seconds above the server maximum is INVALID_ARGUMENT", async () => {
    const err = await grpcError(provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command: "true", timeout_seconds: 3600, key_pair_name: sshd.keyName }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["timeout_seconds"]);
  });

  test("a key the server does not accept is PERMISSION_DENIED", async () => {
    makeKey(join(sshd.keyDir, "wrong-key"));
    const err = await grpcError(provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command: "true", key_pair_name: "wrong-key" }));
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toContain("did not accept the private key");
  });

  test("a key file readable by others is refused before connecting", async () => {
    copyFileSync(join(sshd.keyDir, sshd.keyName), join(sshd.keyDir, "loose-key.pem"));
    chmodSync(join(sshd.keyDir, "loose-key.pem"), 0o644);
    const err = await grpcError(provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command: "true", key_pair_name: "loose-key" }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain("chmod 600");
  });

  test("no key at all is FAILED_PRECONDITION (the provider never invents one)", async () => {
    const err = await grpcError(provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command: "true" }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    const missing = await grpcError(provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command: "true", key_pair_name: "absent-key" }));
    expect(missing.code).toBe(status.FAILED_PRECONDITION);
  });

  test("a stopped instance is FAILED_PRECONDITION", async () => {
    // The sandbox stops every third seeded instance.
    const p = await extraProvider(baseArgs(["--sandbox-seed-instances", "3"]));
    const res = await p.client.call("ListInstances", { filters: { status: "stopped" }, page_size: 1 });
    expect(res.instances.length).toBe(1);
    const err = await grpcError(p.client.call("ExecuteInstanceCommand", { instance_id: res.instances[0].id, command: "true", key_pair_name: sshd.keyName }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain("stopped");
  });
});

describe("host keys", () => {
  test("a changed host key is refused with FAILED_PRECONDITION", async () => {
    const otherHost = makeKey(join(sshd.dir, "other_host_key"));
    const wrongKnownHosts = join(sshd.dir, "known_hosts_changed");
    const [type, blob] = otherHost.publicKey.split(/\s+/);
    writeFileSync(wrongKnownHosts, `[127.0.0.1]:${sshd.port} ${type} ${blob}\n`);
    const p = await extraProvider(baseArgs([], wrongKnownHosts));
    const id = await runningInstance(p);
    const err = await grpcError(p.client.call("ExecuteInstanceCommand", { instance_id: id, command: "true", key_pair_name: sshd.keyName }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain("HOST KEY CHANGED");
    // Still refused on the next attempt: nothing was silently recorded.
    expect(readFileSync(wrongKnownHosts, "utf8")).toBe(`[127.0.0.1]:${sshd.port} ${type} ${blob}\n`);
  });

  test("an unknown host is refused without trust-on-first-use, and recorded with it", async () => {
    const fresh = join(sshd.dir, "known_hosts_fresh");
    const strict = await extraProvider(baseArgs([], fresh));
    const id = await runningInstance(strict);
    const err = await grpcError(strict.client.call("ExecuteInstanceCommand", { instance_id: id, command: "true", key_pair_name: sshd.keyName }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain("not in");

    const tofu = await extraProvider(baseArgs(["--ssh-trust-on-first-use"], fresh));
    const id2 = await runningInstance(tofu);
    const res = await tofu.client.call("ExecuteInstanceCommand", { instance_id: id2, command: "printf first", key_pair_name: sshd.keyName });
    expect(res.stdout).toBe("first");
    expect(readFileSync(fresh, "utf8")).toBe(`${sshd.knownHostsLine}\n`);
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
    // The strict provider now accepts the recorded key.
    const again = await strict.client.call("ExecuteInstanceCommand", { instance_id: id, command: "printf again", key_pair_name: sshd.keyName });
    expect(again.stdout).toBe("again");
  });

  test("hashed known_hosts entries (ssh-keygen -H) are understood", async () => {
    const hashed = join(sshd.dir, "known_hosts_hashed");
    writeFileSync(hashed, `${sshd.knownHostsLine}\n`);
    const r = Bun.spawnSync(["ssh-keygen", "-H", "-f", hashed]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(hashed, "utf8")).toStartWith("|1|");
    const p = await extraProvider(baseArgs([], hashed));
    const id = await runningInstance(p);
    const res = await p.client.call("ExecuteInstanceCommand", { instance_id: id, command: "printf hashed", key_pair_name: sshd.keyName });
    expect(res.stdout).toBe("hashed");
  });
});

describe("connections", () => {
  test("an unreachable instance is UNAVAILABLE", async () => {
    const echoClosed = await startEchoServer();
    const deadPort = echoClosed.port;
    await echoClosed.close(); // nothing listens there now
    const p = await extraProvider(["--sandbox", "--sandbox-ssh-target", `127.0.0.1:${deadPort}`, "--ssh-key-dir", sshd.keyDir, "--ssh-known-hosts", knownHosts, "--ssh-user", sshd.user]);
    const id = await runningInstance(p);
    const err = await grpcError(p.client.call("ExecuteInstanceCommand", { instance_id: id, command: "true", key_pair_name: sshd.keyName }));
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  test("a bastion carries the connection (sshd as its own jump host)", async () => {
    const p = await extraProvider(baseArgs(["--ssh-bastion", `127.0.0.1:${sshd.port}`, "--ssh-bastion-user", sshd.user]));
    const id = await runningInstance(p);
    const before = sshd.logs.join("").split("Accepted publickey").length;
    const res = await p.client.call("ExecuteInstanceCommand", { instance_id: id, command: "printf via-bastion", key_pair_name: sshd.keyName });
    expect(res.stdout).toBe("via-bastion");
    // Two logins: the bastion hop and the instance hop inside it.
    const after = sshd.logs.join("").split("Accepted publickey").length;
    expect(after - before).toBe(2);
  });

  test("CreateKeyPair keeps the private key only when the operator enabled it", async () => {
    const p = await extraProvider(baseArgs(["--ssh-keep-created-keys"]));
    const res = await p.client.call("CreateKeyPair", { key_pair_name: "kept-key" });
    const path = join(sshd.keyDir, "kept-key");
    expect(readFileSync(path, "utf8").trim()).toBe(res.private_key.trim());
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const res2 = await provider.client.call("CreateKeyPair", { key_pair_name: "not-kept-key" });
    expect(res2.private_key).toContain("PRIVATE KEY");
    expect(() => statSync(join(sshd.keyDir, "not-kept-key"))).toThrow();
  });
});

describe("end to end", () => {
  test("a kept CreateKeyPair key logs in to an instance created with it, as the user its ssh-user tag names", async () => {
    // No --ssh-user: the tag must win over the image's ec2-user.
    const p = await extraProvider(["--sandbox", "--sandbox-ssh-target", sshd.target, "--ssh-key-dir", sshd.keyDir, "--ssh-known-hosts", knownHosts, "--ssh-keep-created-keys", "--sandbox-transition-ms", "50"]);
    const kp = await p.client.call("CreateKeyPair", { key_pair_name: "flow-key" });
    expect(kp.key_pair.public_key).toStartWith("ssh-ed25519 ");
    sshd.authorize(kp.key_pair.public_key);
    const created = await p.client.call("CreateInstance", {
      name: "ssh-flow",
      type: "t3.micro",
      image_id: "ami-0abcdef1234567890",
      key_pair_name: "flow-key",
      tags: { "ssh-user": sshd.user },
      wait_until_running: true,
    });
    const res = await p.client.call("ExecuteInstanceCommand", { instance_id: created.instance.id, command: "id -un" });
    expect(res.stdout).toBe(`${sshd.user}\n`);
    expect(res.success).toBe(true);
  });

  test("the call deadline ends a running command and its SSH connection (DEADLINE_EXCEEDED)", async () => {
    const disconnects = () => sshd.logs.join("").split("Disconnected from").length;
    const before = disconnects();
    const err = await grpcError(
      provider.client.call(
        "ExecuteInstanceCommand",
        { instance_id: instanceId, command: "while true; do echo tick; sleep 0.2; done", timeout_seconds: 300, key_pair_name: sshd.keyName },
        { deadlineMs: 1500 },
      ),
    );
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    // The provider hung up rather than waiting out the 300 s timeout.
    for (let i = 0; i < 100 && disconnects() === before; i++) await Bun.sleep(100);
    expect(disconnects()).toBeGreaterThan(before);
  }, 30_000);
});

describe("tunnels", () => {
  test("a tunnel carries real bytes to a loopback echo service and stops on close", async () => {
    const res = await provider.client.call("CreateInstanceSSHTunnel", { instance_id: instanceId, local_port: 0, remote_port: echo.port, key_pair_name: sshd.keyName });
    expect(res.success).toBe(true);
    expect(res.tunnel_id).not.toBe("");
    expect(res.local_endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(res.local_endpoint).not.toBe("127.0.0.1:0");
    const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    expect((await roundTrip(res.local_endpoint, payload)).equals(payload)).toBe(true);

    const closed = await provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: res.tunnel_id });
    expect(closed.success).toBe(true);
    expect(await connectOutcome(res.local_endpoint)).toBe("ECONNREFUSED");
    const again = await grpcError(provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: res.tunnel_id }));
    expect(again.code).toBe(status.NOT_FOUND);
  });

  test("an unknown tunnel id is NOT_FOUND", async () => {
    const err = await grpcError(provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: "tun-0000000000000000" }));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  test("the tunnel count is limited (RESOURCE_EXHAUSTED) and a closed tunnel frees its slot", async () => {
    const open = () => provider.client.call("CreateInstanceSSHTunnel", { instance_id: instanceId, remote_port: echo.port, key_pair_name: sshd.keyName });
    const a = await open();
    const b = await open();
    const err = await grpcError(open());
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    await provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: a.tunnel_id });
    const c = await open();
    expect((await roundTrip(c.local_endpoint, Buffer.from("slot"))).toString()).toBe("slot");
    for (const t of [b, c]) await provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: t.tunnel_id });
  });

  test("an idle tunnel is closed by itself", async () => {
    const p = await extraProvider(baseArgs(["--ssh-tunnel-idle-seconds", "1"]));
    const id = await runningInstance(p);
    const res = await p.client.call("CreateInstanceSSHTunnel", { instance_id: id, remote_port: echo.port, key_pair_name: sshd.keyName });
    // Watch the log, not the tunnel: probing it would count as activity.
    const closedByIdle = () => p.logs.some((l) => l.includes(res.tunnel_id) && l.includes("idle timeout"));
    for (let i = 0; i < 100 && !closedByIdle(); i++) await Bun.sleep(200);
    expect(closedByIdle()).toBe(true);
    expect(await connectOutcome(res.local_endpoint)).toBe("ECONNREFUSED");
    const err = await grpcError(p.client.call("CloseInstanceSSHTunnel", { tunnel_id: res.tunnel_id }));
    expect(err.code).toBe(status.NOT_FOUND);
  }, 30_000);

  test("server shutdown closes every tunnel", async () => {
    const p = await startTestProvider(awsProvider, baseArgs());
    const id = await runningInstance(p);
    const res = await p.client.call("CreateInstanceSSHTunnel", { instance_id: id, remote_port: echo.port, key_pair_name: sshd.keyName });
    expect((await roundTrip(res.local_endpoint, Buffer.from("before"))).toString()).toBe("before");
    await p.close();
    expect(await connectOutcome(res.local_endpoint)).toBe("ECONNREFUSED");
  });

  test("a requested local_port is used; one already in use is FAILED_PRECONDITION", async () => {
    const echoPortProbe = await startEchoServer();
    const wanted = echoPortProbe.port;
    await echoPortProbe.close();
    const res = await provider.client.call("CreateInstanceSSHTunnel", { instance_id: instanceId, local_port: wanted, remote_port: echo.port, key_pair_name: sshd.keyName });
    expect(res.local_endpoint).toBe(`127.0.0.1:${wanted}`);
    const clash = await grpcError(provider.client.call("CreateInstanceSSHTunnel", { instance_id: instanceId, local_port: wanted, remote_port: echo.port, key_pair_name: sshd.keyName }));
    expect(clash.code).toBe(status.FAILED_PRECONDITION);
    await provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: res.tunnel_id });
  });
});
