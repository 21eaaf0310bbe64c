// Many tenants on one EC2 provider, against moto with two (and three)
// accounts: each tenant's credentials come from STS AssumeRole into its own
// account id (moto scopes every resource by the account its access key
// belongs to). The provider itself has no credentials. Checked: isolation of
// instances, key pairs and idempotency; refusals (missing, malformed,
// disallowed endpoints, plaintext from another host); the cache bound; and
// that no secret reaches a log line, an error, a metric or a span.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/nested-clients/sts";
import { grpcError, badRequestFields } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { metricSample } from "../../shared/testing/metrics-sample";

/** A sample without labels ("name VALUE"), 0 when absent. */
async function plainSample(metricsAddress: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}
import { createNetns, type TestNetns } from "../../shared/testing/netns";
import { makeTestPki, type TestPki } from "../../shared/testing/certs";
import { CREDENTIALS_METADATA, encodeCredentialDocument } from "../../shared/tenancy/credential-document";
import { awsProvider } from "./definition";
import { startMoto, type MotoServer } from "./moto-server";
import { collectOutput } from "../../shared/testing/written-output";

const AMI = "ami-04681a1dbd79675a5";
const CALL_ONCE = `${import.meta.dir}/../../shared/testing/call-once.ts`;
let moto: MotoServer;
/** Every secret any tenant used: none may appear anywhere the provider writes. */
const secrets: string[] = [];
const errors: string[] = [];
/** Everything the providers write (logs, /metrics, OTLP spans), scanned for secrets at the end. */
const output = collectOutput("multi-tenant-test");

async function accountCredentials(account: string): Promise<Record<string, string>> {
  const sts = new STSClient({ region: "us-east-1", endpoint: moto.url, credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } });
  const r = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/skyclust-tenant`, RoleSessionName: `tenant-${account}` }));
  const c = r.Credentials!;
  secrets.push(c.SecretAccessKey!, c.SessionToken!);
  return { AWS_ACCESS_KEY_ID: c.AccessKeyId!, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey!, AWS_SESSION_TOKEN: c.SessionToken! };
}

const as = (creds: Record<string, string>) => ({ [CREDENTIALS_METADATA]: encodeCredentialDocument(creds) });

async function provider(extra: string[] = []): Promise<TestProvider> {
  return startTestProvider(
    awsProvider,
    ["--per-call-credentials", "--endpoint", moto.url, "--sts-endpoint", moto.url, "--region", "us-east-1", "--max-attempts", "1", ...output.args, ...extra],
    { ...output.env, HOME: "/nonexistent" },
  );
}

async function refused(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const err = await grpcError(p);
  errors.push(err.details);
  return err;
}

let alice: Record<string, string>;
let bob: Record<string, string>;
let carol: Record<string, string>;
let p: TestProvider;
/** Log lines of every provider the suite started (scanned with the rest at the end). */
const providerLogs: string[] = [];

beforeAll(async () => {
  moto = await startMoto();
  alice = await accountCredentials("111111111111");
  bob = await accountCredentials("222222222222");
  carol = await accountCredentials("333333333333");
  p = await provider();
}, 90_000);

afterAll(async () => {
  await p?.close();
  await moto?.stop();
  output.stop();
}, 30_000);

describe("per-call credentials on EC2 (moto, one account per tenant)", () => {
  test("two tenants create and list; neither sees the other's instances, key pairs or idempotency results", async () => {
    const call = (who: Record<string, string>, method: string, req: Record<string, unknown> = {}) =>
      p.client.call(method, req, { metadata: as(who), deadlineMs: 60_000 });
    const a = (await call(alice, "CreateInstance", { name: "a-1", type: "t3.micro", image_id: AMI, idempotency_key: "same-key-in-both" })).instance;
    const b = (await call(bob, "CreateInstance", { name: "b-1", type: "t3.micro", image_id: AMI, idempotency_key: "same-key-in-both" })).instance;
    expect(a.id).not.toBe(b.id);
    // The retry in each tenant returns that tenant's own first instance.
    expect((await call(alice, "CreateInstance", { name: "a-1", type: "t3.micro", image_id: AMI, idempotency_key: "same-key-in-both" })).instance.id).toBe(a.id);
    expect((await call(bob, "CreateInstance", { name: "b-1", type: "t3.micro", image_id: AMI, idempotency_key: "same-key-in-both" })).instance.id).toBe(b.id);

    const ids = async (who: Record<string, string>) => (await call(who, "ListInstances", { region: "us-east-1" })).instances.map((i: any) => i.id);
    expect(await ids(alice)).toEqual([a.id]);
    expect(await ids(bob)).toEqual([b.id]);
    errors.push((await refused(call(bob, "GetInstanceStatus", { instance_id: a.id }))).details);

    await call(alice, "CreateKeyPair", { key_pair_name: "deploy" });
    await call(bob, "CreateKeyPair", { key_pair_name: "deploy" }); // same name, other account: no clash
    await call(bob, "CreateKeyPair", { key_pair_name: "bob-only" });
    const names = async (who: Record<string, string>) => (await call(who, "ListKeyPairs", {})).key_pairs.map((k: any) => k.key_pair_name).sort();
    expect(await names(alice)).toEqual(["deploy"]);
    expect(await names(bob)).toEqual(["bob-only", "deploy"]);
  }, 120_000);

  test("AWS_ROLE_ARN: the tenant's keys assume a role in another account, and the calls land there", async () => {
    const base = { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7BASEKEY", AWS_SECRET_ACCESS_KEY: "base-secret-7c1e0f6a9b2d4e8f0a1b3c5d7e9f1a2b3c4d5e6f" };
    secrets.push(base.AWS_SECRET_ACCESS_KEY);
    const viaRole = { ...base, AWS_ROLE_ARN: "arn:aws:iam::444444444444:role/skyclust-workspace" };
    const made = (await p.client.call("CreateInstance", { name: "role-1", type: "t3.micro", image_id: AMI }, { metadata: as(viaRole), deadlineMs: 60_000 })).instance;
    // Seen from account 444444444444 itself (its own assumed-role keys), and not from the base keys' account.
    const sameAccount = await accountCredentials("444444444444");
    const ids = async (who: Record<string, string>) => (await p.client.call("ListInstances", { region: "us-east-1" }, { metadata: as(who), deadlineMs: 60_000 })).instances.map((i: any) => i.id);
    expect(await ids(sameAccount)).toEqual([made.id]);
    expect(await ids(base)).not.toContain(made.id);
  }, 120_000);

  test("a call without credentials is UNAUTHENTICATED when the provider has none of its own", async () => {
    const err = await refused(p.client.call("ListInstances", { region: "us-east-1" }));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toContain(CREDENTIALS_METADATA);
  }, 120_000);

  test("malformed documents are INVALID_ARGUMENT naming the metadata and the fault, never a value", async () => {
    const raw = (value: string) => refused(p.client.call("ListRegions", {}, { metadata: { [CREDENTIALS_METADATA]: value } }));
    const cases: [string, string][] = [
      ["not base64!", "base64url"],
      [Buffer.from("{not json").toString("base64url"), "not JSON"],
      [Buffer.from("[1,2]").toString("base64url"), "JSON object"],
      [encodeCredentialDocument({ ...alice, AWS_PROFILE: "x", OS_PASSWORD: "y" }), '"AWS_PROFILE", "OS_PASSWORD"'],
      [Buffer.from(JSON.stringify({ AWS_ACCESS_KEY_ID: 7 })).toString("base64url"), "AWS_ACCESS_KEY_ID must be a string"],
      [encodeCredentialDocument({ AWS_ACCESS_KEY_ID: alice.AWS_ACCESS_KEY_ID! }), "incomplete credentials"],
      ["A".repeat(20_000), "at most 16384"],
    ];
    for (const [value, says] of cases) {
      const err = await raw(value);
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toContain(says);
      expect(err.details).toContain(CREDENTIALS_METADATA);
      expect(badRequestFields(err)).toEqual([CREDENTIALS_METADATA]);
      expect(err.details).not.toContain(alice.AWS_SECRET_ACCESS_KEY!);
    }
    // A thousand unknown keys: the error names five and counts the rest.
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`UNKNOWN_${i}`, "v"]));
    const err = await raw(encodeCredentialDocument(many));
    expect(err.details).toContain("and 25 more");
    expect(err.details.length).toBeLessThan(1000);
  }, 120_000);

  test("caller-supplied endpoints: metadata address, loopback and private addresses are PERMISSION_DENIED naming the rule", async () => {
    const q = await provider(["--allowed-endpoints", "https://*.amazonaws.com,http://*"]);
    try {
      const tryEndpoint = (url: string) => refused(q.client.call("ListRegions", {}, { metadata: as({ ...alice, AWS_ENDPOINT_URL_EC2: url }), deadlineMs: 30_000 }));
      const cases: [string, string][] = [
        ["http://169.254.169.254/latest/meta-data/", "never link-local"],
        [moto.url, "never loopback"],
        ["http://localhost:1", "never loopback"],
        ["http://[::ffff:127.0.0.1]:80", "never loopback"],
        ["http://10.1.2.3", "private addresses only when"],
        ["http://192.168.0.10:8080", "private addresses only when"],
      ];
      for (const [url, rule] of cases) {
        const err = await tryEndpoint(url);
        expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
        expect(err.details).toContain("AWS_ENDPOINT_URL_EC2");
        expect(err.details).toContain(rule);
      }
      // The default allow-list (the first provider): a custom host is not on it.
      const off = await refused(p.client.call("ListRegions", {}, { metadata: as({ ...alice, AWS_ENDPOINT_URL_EC2: "https://ec2.example.com" }), deadlineMs: 30_000 }));
      expect(off.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(off.details).toContain("not in --allowed-endpoints");
      // Nothing was cached for refused documents; the operator's endpoint still serves the tenant.
      expect((await q.client.call("ListRegions", {}, { metadata: as(alice), deadlineMs: 30_000 })).regions.length).toBeGreaterThan(0);
    } finally {
      providerLogs.push(q.logs.join("\n"));
      await q.close();
    }
  }, 120_000);

  test("with a cache of 2, a third tenant evicts the least recently used, which still works on its next call", async () => {
    const q = await provider(["--tenant-cache-size", "2"]);
    try {
      const list = (who: Record<string, string>) => q.client.call("ListInstances", { region: "us-east-1" }, { metadata: as(who), deadlineMs: 60_000 });
      const aliceFirst = (await list(alice)).instances.map((i: any) => i.id);
      await list(bob);
      await list(carol); // evicts alice
      const metrics = q.started.metrics!.address;
      expect(await metricSample(metrics, "skyclust_tenant_cache_evictions_total", { reason: "size" })).toBe(1);
      expect((await list(alice)).instances.map((i: any) => i.id)).toEqual(aliceFirst);
      expect(await plainSample(metrics, "skyclust_tenant_cache_misses_total")).toBe(4);
      await list(alice);
      expect(await plainSample(metrics, "skyclust_tenant_cache_hits_total")).toBe(1);
      expect(await plainSample(metrics, "skyclust_tenant_cache_size")).toBe(2);
      await output.scrape(metrics);
    } finally {
      providerLogs.push(q.logs.join("\n"));
      await q.close();
    }
  }, 120_000);
});

describe("per-call credentials only over a protected channel", () => {
  let netns: TestNetns;
  beforeAll(() => {
    netns = createNetns();
  }, 120_000);
  afterAll(() => netns?.remove());

  test("plaintext from another host is UNAUTHENTICATED; the same call from loopback works", async () => {
    // --allow-unauthenticated: the access policy lets the namespace in, so the credential rule is what answers.
    const q = await provider(["--host", "0.0.0.0", "--allow-unauthenticated"]);
    try {
      const r = await netns.run([process.execPath, CALL_ONCE, `${netns.hostAddress}:${q.port}`, "ListRegions"], { CALL_ONCE_METADATA: JSON.stringify(as(alice)) });
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      errors.push(out.details);
      expect(out.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(out.details).toContain("only over TLS or from loopback");
      expect((await q.client.call("ListRegions", {}, { metadata: as(alice), deadlineMs: 30_000 })).regions.length).toBeGreaterThan(0);
    } finally {
      providerLogs.push(q.logs.join("\n"));
      await q.close();
    }
  }, 120_000);
});

describe("per-call credentials over TLS from another host", () => {
  let netns: TestNetns;
  let pki: TestPki;
  beforeAll(() => {
    netns = createNetns();
    pki = makeTestPki();
  });
  afterAll(() => {
    netns?.remove();
    pki?.cleanup();
  });

  test("the same call that plaintext refuses is answered over TLS", async () => {
    const q = await provider(["--host", "0.0.0.0", "--allow-unauthenticated", "--tls-cert", pki.serverCert, "--tls-key", pki.serverKey]);
    try {
      const r = await netns.run([process.execPath, CALL_ONCE, `${netns.hostAddress}:${q.port}`, "ListRegions"], { CALL_ONCE_METADATA: JSON.stringify(as(alice)), CALL_ONCE_CA: pki.caCert });
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      errors.push(out.details);
      expect(out).toEqual({ code: grpc.status.OK, details: "" });
    } finally {
      providerLogs.push(q.logs.join("\n"));
      await q.close();
    }
  }, 120_000);
});

describe("no secret anywhere", () => {
  test("log lines, errors, metrics and spans hold none of the tenants' secrets", async () => {
    await output.scrape(p.started.metrics!.address);
    await p.close(); // flushes the spans
    providerLogs.push(p.logs.join("\n"));
    expect(output.spans.length).toBeGreaterThan(0);
    expect(providerLogs.join("\n")).toContain("tenant"); // the fingerprints are logged, so the scan reads real output
    const everything = [output.everything(providerLogs), ...errors].join("\n");
    for (const s of secrets) {
      expect(everything.includes(s)).toBe(false);
      expect(everything.includes(encodeURIComponent(s))).toBe(false);
    }
    for (const c of [alice, bob, carol]) expect(everything.includes(encodeCredentialDocument(c))).toBe(false);
  }, 120_000);
});
