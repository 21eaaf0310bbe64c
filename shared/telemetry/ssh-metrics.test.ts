// skyclust_ssh_*: sessions, commands by how they ended, and open tunnels,
// read from the provider's own /metrics listener while a real gRPC client
// drives the SSH RPCs against a real OpenSSH server on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { metricSample } from "../testing/metrics-sample";
import { startTestSshd, type TestSshd } from "../ssh/test-sshd";

let sshd: TestSshd;
let provider: TestProvider;
let instanceId: string;

const sample = (name: string, labels: Record<string, string> = {}) => metricSample(provider.started.metrics!.address, name, labels);
const exec = (command: string, timeout_seconds = 0) => provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command, timeout_seconds, key_pair_name: sshd.keyName });

beforeAll(async () => {
  sshd = await startTestSshd();
  const knownHosts = join(sshd.dir, "known_hosts");
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`, { mode: 0o600 });
  provider = await startTestProvider(awsProvider, [
    "--sandbox",
    "--sandbox-ssh-target",
    sshd.target,
    "--ssh-key-dir",
    sshd.keyDir,
    "--ssh-known-hosts",
    knownHosts,
    "--ssh-user",
    sshd.user,
    "--metrics-addr",
    "127.0.0.1:0",
  ]);
  const page = await provider.client.call("ListInstances", { filters: { status: "running" }, page_size: 1 });
  instanceId = page.instances[0].id;
});

afterAll(async () => {
  await provider?.close();
  await sshd?.stop();
});

describe("SSH metrics", () => {
  test("commands are counted by how they ended, each over one counted session", async () => {
    expect((await exec("true")).exit_code).toBe(0);
    expect((await exec("exit 3")).exit_code).toBe(3);
    expect((await exec("exit 4")).exit_code).toBe(4);
    expect((await exec("sleep 30", 1)).timed_out).toBe(true);
    expect(await sample("skyclust_ssh_commands_total", { outcome: "exit_zero" })).toBe(1);
    expect(await sample("skyclust_ssh_commands_total", { outcome: "exit_nonzero" })).toBe(2);
    expect(await sample("skyclust_ssh_commands_total", { outcome: "timed_out" })).toBe(1);
    expect(await sample("skyclust_ssh_sessions_total", { kind: "exec", outcome: "ok" })).toBe(4);
  });

  test("the open-tunnel gauge follows opens and closes", async () => {
    expect(await sample("skyclust_ssh_tunnels_open")).toBe(0);
    const a = await provider.client.call("CreateInstanceSSHTunnel", { instance_id: instanceId, remote_port: 22, key_pair_name: sshd.keyName });
    const b = await provider.client.call("CreateInstanceSSHTunnel", { instance_id: instanceId, remote_port: 22, key_pair_name: sshd.keyName });
    expect(await sample("skyclust_ssh_tunnels_open")).toBe(2);
    expect(await sample("skyclust_ssh_sessions_total", { kind: "tunnel", outcome: "ok" })).toBe(2);
    await provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: a.tunnel_id });
    expect(await sample("skyclust_ssh_tunnels_open")).toBe(1);
    await provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: b.tunnel_id });
    expect(await sample("skyclust_ssh_tunnels_open")).toBe(0);
  });

  test("a session the server refuses is counted as refused, not ok", async () => {
    // A known_hosts line for another key: the real host key is refused.
    const wrong = join(sshd.dir, "wrong_known_hosts");
    writeFileSync(wrong, `${sshd.knownHostsLine.replace(/ \S+$/, " AAAAC3NzaC1lZDI1NTE5AAAAIBr6ZKPHdPkBwu0fIrqmCJNWGk5BXBEGvpNdGs9vpLvU")}\n`, { mode: 0o600 });
    const strict = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-ssh-target", sshd.target, "--ssh-key-dir", sshd.keyDir, "--ssh-known-hosts", wrong, "--ssh-user", sshd.user, "--metrics-addr", "127.0.0.1:0"]);
    try {
      const page = await strict.client.call("ListInstances", { filters: { status: "running" }, page_size: 1 });
      const err = await grpcError(strict.client.call("ExecuteInstanceCommand", { instance_id: page.instances[0].id, command: "true", key_pair_name: sshd.keyName }));
      expect(err.code).not.toBe(0);
      const at = strict.started.metrics!.address;
      expect(await metricSample(at, "skyclust_ssh_sessions_total", { kind: "exec", outcome: "refused" })).toBe(1);
      expect(await metricSample(at, "skyclust_ssh_sessions_total", { kind: "exec", outcome: "ok" })).toBe(0);
      expect(await metricSample(at, "skyclust_ssh_commands_total", { outcome: "exit_zero" })).toBe(0);
    } finally {
      await strict.close();
    }
  });
});
