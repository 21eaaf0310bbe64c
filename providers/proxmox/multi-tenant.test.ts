// Two tenants on one Proxmox provider, each with its own API token scoped
// to its own resource pool (as PVE permissions scope real tenants; the
// stand-in models pool ACLs, testing/fake-pve.ts tokenPools). The provider
// has the cluster's host and CA but no identity of its own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { collectOutput } from "../../shared/testing/written-output";
import { CREDENTIALS_METADATA, encodeCredentialDocument } from "../../shared/tenancy/credential-document";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { KEY_POOL_PREFIX, keyPoolId } from "./keystore";
import { FakePve } from "./testing/fake-pve";

/** Everything the provider writes (logs, /metrics, OTLP spans), scanned for secrets at the end. */
const output = collectOutput("multi-tenant-proxmox");

const ALICE = { PROXMOX_TOKEN_ID: "alice@pve!skyclust", PROXMOX_TOKEN_SECRET: "0a1b2c3d-1111-4111-8111-aaaaaaaaaaaa", PROXMOX_POOL: "tenant-alice" };
const BOB = { PROXMOX_TOKEN_ID: "bob@pve!skyclust", PROXMOX_TOKEN_SECRET: "9f8e7d6c-2222-4222-8222-bbbbbbbbbbbb", PROXMOX_POOL: "tenant-bob" };
const as = (creds: Record<string, string>) => ({ metadata: { [CREDENTIALS_METADATA]: encodeCredentialDocument(creds) }, deadlineMs: 20_000 });

let pki: TestPki;
let pve: FakePve;
let stateDir: string;
let p: TestProvider;
const errors: string[] = [];

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({
    cert: pki.cert,
    key: pki.key,
    tokens: { [ALICE.PROXMOX_TOKEN_ID]: ALICE.PROXMOX_TOKEN_SECRET, [BOB.PROXMOX_TOKEN_ID]: BOB.PROXMOX_TOKEN_SECRET },
    tokenPools: { [ALICE.PROXMOX_TOKEN_ID]: ALICE.PROXMOX_POOL, [BOB.PROXMOX_TOKEN_ID]: BOB.PROXMOX_POOL },
    taskPolls: 1,
  }).start();
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-tenants-"));
  p = await startTestProvider(proxmoxProvider, ["--per-call-credentials", ...output.args], {
    ...output.env,
    PROXMOX_HOST: pve.host,
    PROXMOX_CA_FILE: pki.caFile,
    PROXMOX_STATE_DIR: stateDir,
    PROXMOX_TASK_POLL_MS: "10",
    PROXMOX_LOCK_RETRY_MS: "10",
  });
}, 120_000);

afterAll(async () => {
  await p?.close();
  output.stop();
  await pve?.stop();
  pki?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function refused(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  const err = await grpcError(promise);
  errors.push(err.details);
  return err;
}

describe("per-call credentials on Proxmox (two API tokens, one pool each)", () => {
  test("each tenant creates and lists its own guests; the same idempotency key makes two guests", async () => {
    const create = (who: Record<string, string>, name: string) =>
      p.client.call("CreateInstance", { name, type: "small", region: "vmpvetest", image_id: "900", idempotency_key: "same-key" }, as(who));
    const ids = async (who: Record<string, string>) => (await p.client.call("ListInstances", {}, as(who))).instances.map((i: any) => i.id);
    expect(await ids(ALICE)).toEqual([]); // the recorded guests are in no tenant's pool
    const a = (await create(ALICE, "alice-web")).instance;
    const b = (await create(BOB, "bob-web")).instance;
    expect(a.id).not.toBe(b.id);
    expect((await create(ALICE, "alice-web")).instance.id).toBe(a.id);
    expect(pve.guest(Number(a.extra.vmid))!.resource.pool).toBe(ALICE.PROXMOX_POOL);
    expect(await ids(ALICE)).toEqual([a.id]);
    expect(await ids(BOB)).toEqual([b.id]);
    const foreign = await refused(p.client.call("GetInstanceStatus", { instance_id: a.id }, as(BOB)));
    expect([grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED]).toContain(foreign.code);
    // Each clone reached PVE with its own tenant's token, into its own pool.
    const clones = pve.requestsTo("POST", /\/clone$/).map((r) => [r.user, r.params.pool, r.params.newid]);
    expect(clones).toEqual([
      [ALICE.PROXMOX_TOKEN_ID, ALICE.PROXMOX_POOL, a.extra.vmid],
      [BOB.PROXMOX_TOKEN_ID, BOB.PROXMOX_POOL, b.extra.vmid],
    ]);
  }, 120_000);

  test("key pairs are per tenant (one store each)", async () => {
    await p.client.call("CreateKeyPair", { key_pair_name: "deploy" }, as(ALICE));
    const names = async (who: Record<string, string>) => (await p.client.call("ListKeyPairs", {}, as(who))).key_pairs.map((k: any) => k.key_pair_name);
    expect(await names(ALICE)).toEqual(["deploy"]);
    expect(await names(BOB)).toEqual([]);
    await p.client.call("CreateKeyPair", { key_pair_name: "deploy" }, as(BOB)); // no clash across tenants
    expect(await names(BOB)).toEqual(["deploy"]);
    // Each tenant's key pairs are nested pools under its own pool, which its token's ACL reaches.
    for (const t of [ALICE, BOB]) expect(pve.pools.has(keyPoolId("deploy", t.PROXMOX_POOL))).toBe(true);
    expect([...pve.pools.keys()].filter((id) => id.startsWith(KEY_POOL_PREFIX))).toEqual([]);
  }, 120_000);

  test("a caller-supplied PROXMOX_HOST must be allowed: loopback never, others only when listed", async () => {
    const loop = await refused(p.client.call("ListRegions", {}, as({ ...ALICE, PROXMOX_HOST: pve.host })));
    expect(loop.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(loop.details).toContain("never loopback");
    const other = await refused(p.client.call("ListRegions", {}, as({ ...ALICE, PROXMOX_HOST: "pve.example.com" })));
    expect(other.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(other.details).toContain("not in --allowed-endpoints");
    const bad = await refused(p.client.call("ListRegions", {}, as({ ...ALICE, PROXMOX_HOST: "http://pve.example.com" })));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toContain("only https");
  }, 120_000);

  test("a wrong token secret is UNAUTHENTICATED with PVE's reason and no secret; a file path key is refused", async () => {
    const wrong = await refused(p.client.call("ListInstances", {}, as({ ...ALICE, PROXMOX_TOKEN_SECRET: "00000000-dead-4bee-8f00-000000000000" })));
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
    const file = await refused(p.client.call("ListInstances", {}, as({ ...ALICE, PROXMOX_CA_FILE: "/etc/shadow" })));
    expect(file.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(file.details).toContain('"PROXMOX_CA_FILE"');
  }, 120_000);

  test("no log line, error, metric or span holds a token secret", async () => {
    await output.scrape(p.started.metrics!.address);
    for (let i = 0; i < 100 && output.spans.length === 0; i++) await Bun.sleep(200);
    expect(output.spans.length).toBeGreaterThan(0);
    const all = [output.everything(p.logs), ...errors].join("\n");
    expect(all).toContain("tenant");
    for (const s of [ALICE.PROXMOX_TOKEN_SECRET, BOB.PROXMOX_TOKEN_SECRET, "00000000-dead-4bee-8f00-000000000000"]) expect(all.includes(s)).toBe(false);
  }, 120_000);
});
