// Attack: the output cap counted raw bytes, but output is sent as UTF-8
// text, so bytes that are not UTF-8 tripled (each becomes U+FFFD): 1 MiB of
// 0xFF on both streams made a 6.3 MB reply, beyond a default client's 4 MiB
// receive limit. The cap now holds for the encoded reply, against a real sshd.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { startTestSshd, type TestSshd } from "./test-sshd";

const CAP = 1024 * 1024; // the default --ssh-output-max-bytes
let sshd: TestSshd;
let provider: TestProvider;
let instanceId: string;

beforeAll(async () => {
  sshd = await startTestSshd();
  const knownHosts = join(sshd.dir, "known_hosts");
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`, { mode: 0o600 });
  // Default cap; the test client keeps grpc-js's default 4 MiB receive limit.
  provider = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-ssh-target", sshd.target, "--ssh-key-dir", sshd.keyDir, "--ssh-known-hosts", knownHosts, "--ssh-user", sshd.user]);
  instanceId = (await provider.client.call("ListInstances", { filters: { status: "running" }, page_size: 1 })).instances[0].id;
}, 60_000);
afterAll(async () => {
  await provider?.close();
  await sshd?.stop();
});

const run = (command: string) =>
  provider.client.call("ExecuteInstanceCommand", { instance_id: instanceId, command, key_pair_name: sshd.keyName }, { deadlineMs: 60_000 });

test("1 MiB of 0xFF on both streams: each stream fits the cap as UTF-8 and a default client receives the reply", async () => {
  const res = await run("head -c 1048576 /dev/zero | tr '\\0' '\\377'; head -c 1048576 /dev/zero | tr '\\0' '\\377' >&2");
  expect(res.exit_code).toBe(0);
  expect(Buffer.byteLength(res.stdout)).toBeLessThanOrEqual(CAP);
  expect(Buffer.byteLength(res.stderr)).toBeLessThanOrEqual(CAP);
  expect(res.stdout).toStartWith("\uFFFD\uFFFD");
  expect(res.stdout_truncated).toBe(true);
  expect(res.stderr_truncated).toBe(true);
}, 60_000);

test("valid multi-byte output under the cap is returned whole and not flagged", async () => {
  const res = await run("printf 'h\\303\\251llo \\360\\237\\230\\200\\n'");
  expect(res.stdout).toBe("héllo 😀\n");
  expect(res.stdout_truncated).toBe(false);
}, 60_000);
