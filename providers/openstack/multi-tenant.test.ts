// Two tenants on one OpenStack provider against the REAL testbed: the test
// makes two projects, each with its own member user, through Keystone's API
// with the testbed's admin credentials, and removes them afterwards. The
// provider knows only the Keystone URL and the region; every call brings
// its own user's openrc variables.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { collectOutput } from "../../shared/testing/written-output";
import { CREDENTIALS_METADATA, encodeCredentialDocument } from "../../shared/tenancy/credential-document";
import { openstackProvider } from "./definition";
import { keystoneLogin, requireTestbed, testbedEnv } from "./testing/testbed";

/** Everything the provider writes (logs, /metrics, OTLP spans), scanned for secrets at the end. */
const output = collectOutput("multi-tenant-openstack");

const RUN = `skymt${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
const REGION = "RegionOne";
let admin: Record<string, string>;
let adminToken = "";
let p: TestProvider;
const tenants: { name: string; projectId: string; userId: string; creds: Record<string, string> }[] = [];
const servers: { who: Record<string, string>; id: string }[] = [];
const errors: string[] = [];

async function keystone(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${admin.OS_AUTH_URL}${path}`, {
    method,
    headers: { "x-auth-token": adminToken, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Keystone ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** A project with one member user, as a workspace would get from its cloud admin. */
async function makeTenant(name: string) {
  const project = (await keystone("POST", "/projects", { project: { name: `${RUN}-${name}`, domain_id: "default" } })).project;
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const user = (await keystone("POST", "/users", { user: { name: `${RUN}-${name}`, domain_id: "default", password, default_project_id: project.id } })).user;
  const member = (await keystone("GET", "/roles?name=member")).roles[0];
  await keystone("PUT", `/projects/${project.id}/users/${user.id}/roles/${member.id}`);
  const creds = { OS_USERNAME: user.name, OS_PASSWORD: password, OS_PROJECT_ID: project.id, OS_USER_DOMAIN_ID: "default" };
  tenants.push({ name, projectId: project.id, userId: user.id, creds });
  return creds;
}

const as = (creds: Record<string, string>) => ({ metadata: { [CREDENTIALS_METADATA]: encodeCredentialDocument(creds) }, deadlineMs: 120_000 });

let alice: Record<string, string>;
let bob: Record<string, string>;

beforeAll(async () => {
  admin = testbedEnv("admin");
  await requireTestbed(admin);
  const login = await keystoneLogin(admin);
  await login.arrayBuffer();
  adminToken = login.headers.get("x-subject-token") ?? "";
  alice = await makeTenant("alice");
  bob = await makeTenant("bob");
  p = await startTestProvider(openstackProvider, ["--per-call-credentials", ...output.args], { OS_AUTH_URL: admin.OS_AUTH_URL!, OS_REGION_NAME: REGION, ...output.env });
}, 120_000);

afterAll(async () => {
  for (const s of servers) await p.client.call("DeleteInstance", { instance_id: s.id, region: REGION }, as(s.who)).catch(() => {});
  // Projects go only once their servers are gone (Nova keeps a deleted project's servers otherwise).
  for (const s of servers) {
    for (let i = 0; i < 120; i++) {
      const gone = await p.client.call("GetInstanceStatus", { instance_id: s.id, region: REGION }, as(s.who)).then(() => false, (e) => e?.code === status.NOT_FOUND);
      if (gone) break;
      await Bun.sleep(1000);
    }
  }
  for (const t of tenants) {
    for (const k of ["deploy"]) await p.client.call("DeleteKeyPair", { key_pair_name: k, region: REGION }, as(t.creds)).catch(() => {});
    await keystone("DELETE", `/users/${t.userId}`).catch(() => {});
    await keystone("DELETE", `/projects/${t.projectId}`).catch(() => {});
  }
  await p?.close();
  output.stop();
}, 180_000);

describe("per-call credentials on OpenStack (two projects, two users)", () => {
  test("each tenant creates and lists only its own servers; one idempotency key makes two servers", async () => {
    const create = (who: Record<string, string>, name: string) =>
      p.client.call("CreateInstance", { name, type: "m1.tiny", image_id: "fake-image", region: REGION, idempotency_key: `${RUN}-same` }, as(who));
    const a = (await create(alice, `${RUN}-a`)).instance;
    servers.push({ who: alice, id: a.id });
    const b = (await create(bob, `${RUN}-b`)).instance;
    servers.push({ who: bob, id: b.id });
    expect(a.id).not.toBe(b.id);
    expect((await create(alice, `${RUN}-a`)).instance.id).toBe(a.id);
    const ids = async (who: Record<string, string>) => (await p.client.call("ListInstances", { region: REGION }, as(who))).instances.map((i: any) => i.id);
    expect(await ids(alice)).toEqual([a.id]);
    expect(await ids(bob)).toEqual([b.id]);
    const foreign = await grpcError(p.client.call("GetInstanceStatus", { instance_id: a.id, region: REGION }, as(bob)));
    errors.push(foreign.details);
    expect(foreign.code).toBe(status.NOT_FOUND);
  }, 240_000);

  test("key pairs are per user", async () => {
    await p.client.call("CreateKeyPair", { key_pair_name: "deploy", region: REGION }, as(alice));
    const names = async (who: Record<string, string>) => (await p.client.call("ListKeyPairs", { region: REGION }, as(who))).key_pairs.map((k: any) => k.key_pair_name);
    expect(await names(alice)).toEqual(["deploy"]);
    expect(await names(bob)).toEqual([]);
  }, 120_000);

  test("a wrong password is UNAUTHENTICATED with Keystone's reason and no secret; a caller's auth URL on loopback is refused", async () => {
    const wrong = await grpcError(p.client.call("ListInstances", { region: REGION }, as({ ...alice, OS_PASSWORD: "not-the-password-123" })));
    errors.push(wrong.details);
    expect(wrong.code).toBe(status.UNAUTHENTICATED);
    const ssrf = await grpcError(p.client.call("ListInstances", { region: REGION }, as({ ...alice, OS_AUTH_URL: admin.OS_AUTH_URL! })));
    errors.push(ssrf.details);
    expect(ssrf.code).toBe(status.PERMISSION_DENIED);
    expect(ssrf.details).toContain("never loopback");
    const cloud = await grpcError(p.client.call("ListInstances", { region: REGION }, as({ ...alice, OS_CLOUD: "devstack" })));
    expect(cloud.code).toBe(status.INVALID_ARGUMENT);
  }, 120_000);

  test("no log line, error, metric or span holds a tenant's password", async () => {
    await output.scrape(p.started.metrics!.address);
    // Spans leave in batches (every few seconds): wait for the first.
    for (let i = 0; i < 100 && output.spans.length === 0; i++) await Bun.sleep(200);
    expect(output.spans.length).toBeGreaterThan(0);
    const all = [output.everything(p.logs), ...errors].join("\n");
    expect(all).toContain("tenant");
    for (const t of tenants) expect(all.includes(t.creds.OS_PASSWORD!)).toBe(false);
    expect(all.includes("not-the-password-123")).toBe(false);
  }, 120_000);
});
