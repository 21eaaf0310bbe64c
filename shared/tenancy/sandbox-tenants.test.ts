// Sandbox mode with per-call credentials: each credential fingerprint gets
// its own in-memory cloud, key pairs, SSH key directory and tunnels. The
// tunnel part runs over a real sshd (shared/ssh/test-sshd.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { startEchoServer, startTestSshd, type TestSshd } from "../ssh/test-sshd";
import { capabilityProblems } from "../testing/capabilities";
import { grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { CREDENTIALS_METADATA, encodeCredentialDocument } from "./credential-document";

const ALICE = { AWS_ACCESS_KEY_ID: "AKIAALICE0000000000", AWS_SECRET_ACCESS_KEY: "alice-secret-4f0c8e2b9d7a6135e8c4b2a1d0f9e8c7b6a5d4c3" };
const BOB = { AWS_ACCESS_KEY_ID: "AKIABOB00000000000000", AWS_SECRET_ACCESS_KEY: "bob-secret-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b" };
const as = (creds: Record<string, string>) => ({ metadata: { [CREDENTIALS_METADATA]: encodeCredentialDocument(creds) } });

let sshd: TestSshd;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let p: TestProvider;

beforeAll(async () => {
  sshd = await startTestSshd();
  echo = await startEchoServer();
  const knownHosts = join(sshd.dir, "known_hosts");
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`, { mode: 0o600 });
  p = await startTestProvider(awsProvider, [
    "--sandbox",
    "--per-call-credentials",
    "--sandbox-transition-ms",
    "0",
    "--sandbox-seed-instances",
    "1",
    "--sandbox-ssh-target",
    sshd.target,
    "--ssh-key-dir",
    sshd.keyDir,
    "--ssh-known-hosts",
    knownHosts,
    "--ssh-user",
    sshd.user,
  ]);
}, 120_000);

afterAll(async () => {
  await p?.close();
  await echo?.close();
  await sshd?.stop();
});

/** The tenant's fingerprint, as the provider logged it when it built the tenant's cloud. */
function tenantOf(accessKeyId: string, nth: number): string {
  const line = p.logs.filter((l) => l.includes("tenant backend ready"))[nth];
  if (!line) throw new Error(`no tenant built for ${accessKeyId}`);
  return JSON.parse(line).tenant;
}

describe("sandbox: one cloud per credential fingerprint", () => {
  test("instances, idempotency and key pairs are per tenant; the process's own sandbox sees neither", async () => {
    const create = (who: object, name: string) => p.client.call("CreateInstance", { name, type: "t3.micro", image_id: "ami-0abcdef1234567890", idempotency_key: "shared-key" }, who);
    const a = (await create(as(ALICE), "alice-vm")).instance;
    const b = (await create(as(BOB), "bob-vm")).instance;
    expect(a.id).not.toBe(b.id);
    expect((await create(as(ALICE), "alice-vm")).instance.id).toBe(a.id);
    const names = async (who: object) => (await p.client.call("ListInstances", { region: "us-east-1" }, who)).instances.map((i: any) => i.name);
    expect(await names(as(ALICE))).toContain("alice-vm");
    expect(await names(as(ALICE))).not.toContain("bob-vm");
    expect(await names(as(BOB))).toContain("bob-vm");
    expect(await names(as(BOB))).not.toContain("alice-vm");
    expect(await names({})).not.toContain("alice-vm");
    expect((await grpcError(p.client.call("GetInstanceStatus", { instance_id: a.id }, as(BOB)))).code).toBe(grpc.status.NOT_FOUND);

    await p.client.call("CreateKeyPair", { key_pair_name: "alice-key" }, as(ALICE));
    const keys = async (who: object) => (await p.client.call("ListKeyPairs", {}, who)).key_pairs.map((k: any) => k.key_pair_name);
    expect(await keys(as(ALICE))).toContain("alice-key");
    expect(await keys(as(BOB))).not.toContain("alice-key");
  }, 120_000);

  test("GetProviderInfo: the tenant's capabilities in the fixed vocabulary, marked per_call_credentials", async () => {
    for (const who of [as(ALICE), {}]) {
      const { capabilities } = await p.client.call<{ capabilities: Record<string, string> }>("GetProviderInfo", {}, who);
      expect(capabilityProblems(capabilities)).toEqual([]);
      expect(capabilities.per_call_credentials).toBe("true");
    }
  });

  test("a tunnel is closable only by the tenant that opened it; keys come from the tenant's own directory", async () => {
    const running = await p.client.call("ListInstances", { region: "us-east-1", filters: { status: "running" }, page_size: 1 }, as(ALICE));
    const instanceId = running.instances[0].id;
    const open = () => p.client.call("CreateInstanceSSHTunnel", { instance_id: instanceId, local_port: 0, remote_port: echo.port, key_pair_name: sshd.keyName }, as(ALICE));
    // Alice has no key of her own yet: the operator's key directory is not hers.
    const noKey = await grpcError(open());
    expect(noKey.code).toBe(grpc.status.FAILED_PRECONDITION);
    const aliceDir = join(sshd.keyDir, "tenants", tenantOf(ALICE.AWS_ACCESS_KEY_ID, 0) /* Alice's cloud was built first */);
    mkdirSync(aliceDir, { recursive: true, mode: 0o700 });
    copyFileSync(join(sshd.keyDir, sshd.keyName), join(aliceDir, sshd.keyName));
    const tunnel = await open();
    expect(tunnel.tunnel_id).not.toBe("");
    for (const other of [as(BOB), {}]) {
      expect((await grpcError(p.client.call("CloseInstanceSSHTunnel", { tunnel_id: tunnel.tunnel_id }, other))).code).toBe(grpc.status.NOT_FOUND);
    }
    expect((await p.client.call("CloseInstanceSSHTunnel", { tunnel_id: tunnel.tunnel_id }, as(ALICE))).success).toBe(true);
  }, 120_000);

  test("no log line holds a tenant's secret", () => {
    const all = p.logs.join("\n");
    expect(all).toContain("tenant");
    for (const s of [ALICE.AWS_SECRET_ACCESS_KEY, BOB.AWS_SECRET_ACCESS_KEY]) expect(all.includes(s)).toBe(false);
  }, 120_000);
});

describe("watches are per tenant", () => {
  test("each tenant's WatchInstances sees its own cloud only, and a resume token does not cross tenants", async () => {
    const { WatchSubscriber } = await import("../testing/watch-client");
    const filters = { "tag:watch": "tenants" };
    const create = (who: Record<string, string>, name: string) =>
      p.client.call("CreateInstance", { name, type: "t3.micro", region: "us-east-1", tags: { watch: "tenants" } }, as(who));
    const a = (await create(ALICE, "alice-watched")).instance;
    const b = (await create(BOB, "bob-watched")).instance;
    const meta = (who: Record<string, string>) => ({ [CREDENTIALS_METADATA]: encodeCredentialDocument(who) });
    const alice = new WatchSubscriber(p.client, { region: "us-east-1", filters }, meta(ALICE));
    const bob = new WatchSubscriber(p.client, { region: "us-east-1", filters }, meta(BOB));
    try {
      await alice.until((w) => w.lines().includes("SYNCED"), "alice synced");
      await bob.until((w) => w.lines().includes("SYNCED"), "bob synced");
      const ids = (w: InstanceType<typeof WatchSubscriber>) => w.events.filter((e) => e.instance && e.type === "ADDED").map((e) => e.instance!.id);
      expect(ids(alice)).toEqual([a.id]);
      expect(ids(bob)).toEqual([b.id]);
      // Alice's token names her watch; presented with Bob's credentials it is another query.
      const crossed = new WatchSubscriber(p.client, { region: "us-east-1", filters, resume_token: alice.lastToken }, meta(BOB));
      await crossed.until((w) => w.ended !== undefined, "refused");
      expect(crossed.ended!.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(crossed.ended!.details).toContain("resume_token");
    } finally {
      alice.cancel();
      bob.cancel();
    }
  }, 120_000);
});
