// Two tenants on one Compute Engine provider: two projects behind one
// endpoint (testing/fake-gce.ts FakeGceProjects), each with its own
// service-account key, and the keys' content sent per call. The provider
// knows only the endpoint.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { collectOutput } from "../../shared/testing/written-output";
import { CREDENTIALS_METADATA, encodeCredentialDocument } from "../../shared/tenancy/credential-document";
import { gcpProvider } from "./definition";
import { FakeGceProjects, makeServiceAccount, type ServiceAccount } from "./testing/fake-gce";

/** Everything the provider writes (logs, /metrics, OTLP spans), scanned for secrets at the end. */
const output = collectOutput("multi-tenant-gcp");

let alphaKey: ServiceAccount;
let betaKey: ServiceAccount;
let cloud: FakeGceProjects;
let p: TestProvider;
const errors: string[] = [];
let alpha: Record<string, string>;
let beta: Record<string, string>;
/** Beta's key with its region spelled out: a document of its own, so nothing about it is cached yet. */
const betaCreds = () => ({ ...beta, GCP_REGION: "us-central1" });
const as = (creds: Record<string, string>) => ({ metadata: { [CREDENTIALS_METADATA]: encodeCredentialDocument(creds) }, deadlineMs: 30_000 });

beforeAll(async () => {
  alphaKey = makeServiceAccount("tenant-alpha");
  betaKey = makeServiceAccount("tenant-beta");
  cloud = new FakeGceProjects([
    { project: "tenant-alpha", serviceAccount: alphaKey, accessToken: "ya29.alpha-static-token-0123456789" },
    { project: "tenant-beta", serviceAccount: betaKey },
  ]).start();
  for (const f of cloud.projects.values()) f.pollsBeforeDone = 0;
  alpha = { GOOGLE_APPLICATION_CREDENTIALS_JSON: JSON.stringify(alphaKey.json) };
  beta = { GOOGLE_APPLICATION_CREDENTIALS_JSON: JSON.stringify(betaKey.json) };
  p = await startTestProvider(gcpProvider, ["--per-call-credentials", "--region", "us-central1", ...output.args], { GCP_ENDPOINT: cloud.url, ...output.env });
});

afterAll(async () => {
  await p?.close();
  output.stop();
  await cloud?.stop();
  alphaKey?.cleanup();
  betaKey?.cleanup();
});

async function refused(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  const err = await grpcError(promise);
  errors.push(err.details);
  return err;
}

describe("per-call credentials on Compute Engine (two projects, two service-account keys)", () => {
  test("each tenant creates and lists in its own project; one idempotency key makes two VMs", async () => {
    const create = (who: Record<string, string>) => p.client.call("CreateInstance", { name: "web-1", type: "n1-standard-1", region: "us-central1", idempotency_key: "same-key" }, as(who));
    const a = (await create(alpha)).instance;
    const b = (await create(beta)).instance;
    expect((await create(alpha)).instance.id).toBe(a.id);
    expect(cloud.projects.get("tenant-alpha")!.allInstances().filter((i) => i.name === "web-1").length).toBe(1);
    expect(cloud.projects.get("tenant-beta")!.allInstances().filter((i) => i.name === "web-1").length).toBe(1);
    const names = async (who: Record<string, string>) => (await p.client.call("ListInstances", { region: "us-central1" }, as(who))).instances.map((i: any) => i.id);
    const alphaIds = await names(alpha);
    const betaIds = await names(beta);
    expect(alphaIds).toContain(a.id);
    expect(betaIds).toContain(b.id);
    // The recorded instances live in every project; the created ones only in their own.
    expect(alphaIds.filter((id: string) => !betaIds.includes(id))).toEqual([a.id]);
    expect(betaIds.filter((id: string) => !alphaIds.includes(id))).toEqual([b.id]);
    const foreign = await refused(p.client.call("GetInstanceStatus", { instance_id: a.id, region: "us-central1" }, as(beta)));
    expect(foreign.code).toBe(grpc.status.NOT_FOUND);
  }, 120_000);

  test("each tenant's own regions: GetProviderInfo never answers with another project's list", async () => {
    const beta = cloud.projects.get("tenant-beta")!;
    const kept = beta.regions.filter((r) => r.name === "us-central1");
    beta.regions.splice(0, beta.regions.length, ...kept);
    const regions = async (who: Record<string, string>) => (await p.client.call("GetProviderInfo", {}, as(who))).supported_regions;
    const alphaRegions = await regions(alpha);
    expect(alphaRegions.length).toBeGreaterThan(1);
    expect(await regions(betaCreds())).toEqual(["us-central1"]);
    expect(await regions(alpha)).toEqual(alphaRegions);
  }, 120_000);

  test("key pairs (project ssh-keys metadata) are per project", async () => {
    await p.client.call("CreateKeyPair", { key_pair_name: "deploy" }, as(alpha));
    const names = async (who: Record<string, string>) => (await p.client.call("ListKeyPairs", {}, as(who))).key_pairs.map((k: any) => k.key_pair_name);
    expect(await names(alpha)).toContain("deploy");
    expect(await names(beta)).not.toContain("deploy");
  }, 120_000);

  test("a key used on a project it holds no role in is PERMISSION_DENIED with the cloud's reason; an access token works with its project", async () => {
    const denied = await refused(p.client.call("ListInstances", { region: "us-central1" }, as({ ...alpha, GCP_PROJECT_ID: "tenant-beta" })));
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toContain("compute.instances.list");
    const viaToken = await p.client.call("ListInstances", { region: "us-central1" }, as({ GOOGLE_OAUTH_ACCESS_TOKEN: "ya29.alpha-static-token-0123456789", GCP_PROJECT_ID: "tenant-alpha" }));
    expect(viaToken.instances.length).toBeGreaterThan(0);
  }, 120_000);

  test("refusals: other key types, incomplete token documents, caller endpoints on the metadata address", async () => {
    const external = await refused(p.client.call("ListRegions", {}, as({ GOOGLE_APPLICATION_CREDENTIALS_JSON: JSON.stringify({ type: "external_account", credential_source: { url: "http://169.254.169.254/" } }) })));
    expect(external.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(external.details).toContain("only service_account keys");
    const notJson = await refused(p.client.call("ListRegions", {}, as({ GOOGLE_APPLICATION_CREDENTIALS_JSON: "{ private_key: oops" })));
    expect(notJson.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(notJson.details).not.toContain("oops");
    const tokenOnly = await refused(p.client.call("ListRegions", {}, as({ GOOGLE_OAUTH_ACCESS_TOKEN: "ya29.alpha-static-token-0123456789" })));
    expect(tokenOnly.code).toBe(grpc.status.INVALID_ARGUMENT);
    const metadata = await refused(p.client.call("ListRegions", {}, as({ ...alpha, GCP_ENDPOINT: "http://169.254.169.254" })));
    expect(metadata.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(metadata.details).toContain("never link-local");
  }, 120_000);

  test("no log line, error, metric or span holds a private key or token", async () => {
    await output.scrape(p.started.metrics!.address);
    await p.close(); // flushes the spans
    expect(output.spans.length).toBeGreaterThan(0);
    const all = [output.everything(p.logs), ...errors].join("\n");
    expect(all).toContain("tenant");
    for (const k of [alphaKey, betaKey]) {
      const body = k.json.private_key!.split("\n")[1]!; // one line of the PEM body
      expect(all.includes(body)).toBe(false);
    }
    expect(all.includes("ya29.alpha-static-token-0123456789")).toBe(false);
  }, 120_000);
});
