// The pure translation rules of the gcp backend: filters, labels, locations,
// status words, ssh-keys lines, operation errors. The gRPC tests cover them
// end to end; these pin the edge cases.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProviderError } from "../../shared/errors";
import { generateKeyPair } from "../../shared/keys";
import { operationError } from "./errors";
import { buildFilter, reLiteral } from "./filters";
import { STATUS_TABLE, toInstance } from "./instances";
import { parseLocation, tagsToLabels } from "./rules";
import { formatSshKeys, managedLines, parseSshKeys, sshKeyLine } from "./ssh-keys";
import { compileFilter } from "./testing/gce-filter";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as ProviderError).code + ":" + ((e as ProviderError).details.field ?? "");
  }
  return "ok";
};

describe("filters", () => {
  test("values are matched literally, and the expression selects what GCE would", () => {
    expect(reLiteral("a.b*c(d)")).toBe("a\\.b\\*c\\(d\\)");
    const f = buildFilter({ name: "web.1", status: "pending" }, { kind: "region", region: "us-central1" });
    expect(f.expression).toBe('(zone eq ".*/zones/us-central1-[a-z]+") (name eq "web\\.1") (status eq "PROVISIONING|STAGING")');
    const match = compileFilter(f.expression);
    const zone = "https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-b";
    expect(match({ name: "web.1", status: "STAGING", zone })).toBe(true);
    expect(match({ name: "webx1", status: "STAGING", zone })).toBe(false);
    expect(match({ name: "web.1", status: "RUNNING", zone })).toBe(false);
    expect(match({ name: "web.1", status: "STAGING", zone: zone.replace("us-central1-b", "us-central10-b") })).toBe(false);
  });

  test("a zone location adds no zone term; unknown keys must look like GCE fields", () => {
    expect(buildFilter({ "scheduling.preemptible": "true" }, { kind: "zone", region: "us-central1", zone: "us-central1-a" }).expression).toBe('(scheduling.preemptible eq "true")');
    expect(codeOf(() => buildFilter({ "bad key!": "x" }, { kind: "region", region: "us-central1" }))).toBe("INVALID_ARGUMENT:filters[bad key!]");
    expect(codeOf(() => buildFilter({ name: 'a"b' }, { kind: "region", region: "us-central1" }))).toBe("INVALID_ARGUMENT:filters[name]");
    expect(buildFilter({ status: "terminated" }, { kind: "region", region: "us-central1" }).matchesNothing).toBe(true);
    expect(buildFilter({ status: "TERMINATED" }, { kind: "region", region: "us-central1" }).expression).toContain('(status eq "TERMINATED")');
  });
});

describe("labels and locations", () => {
  test("keys are lower-cased; everything else breaking GCE's rules is refused, naming the tag", () => {
    expect(tagsToLabels({ Env: "prod", "cost-center": "r_and_d-7", straße: "münchen" })).toEqual({ env: "prod", "cost-center": "r_and_d-7", straße: "münchen" });
    expect(codeOf(() => tagsToLabels({ Name: "My Server" }))).toBe("INVALID_ARGUMENT:tags[Name]");
    expect(codeOf(() => tagsToLabels({ "1st": "x" }))).toBe("INVALID_ARGUMENT:tags[1st]");
    expect(codeOf(() => tagsToLabels({ a: "x".repeat(64) }))).toBe("INVALID_ARGUMENT:tags[a]");
    expect(codeOf(() => tagsToLabels({ Env: "a", env: "b" }))).toBe("INVALID_ARGUMENT:tags[env]");
    expect(codeOf(() => tagsToLabels(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]))))).toBe("INVALID_ARGUMENT:tags");
  });

  test("a region means its zones, a zone that zone", () => {
    expect(parseLocation("europe-west1")).toEqual({ kind: "region", region: "europe-west1" });
    expect(parseLocation("europe-west1-b")).toEqual({ kind: "zone", region: "europe-west1", zone: "europe-west1-b" });
    expect(codeOf(() => parseLocation("us-east-1"))).toBe("INVALID_ARGUMENT:region");
  });
});

test("every status word in the recorded responses maps to a known status", () => {
  const recorded = JSON.parse(readFileSync(join(import.meta.dir, "testing/fixtures/aggregated_instances.json"), "utf8"));
  const instances = Object.values<any>(recorded.items).flatMap((s) => s.instances ?? []);
  for (const raw of instances) expect(toInstance(raw).status).not.toBe("unknown");
  expect(Object.keys(STATUS_TABLE).sort()).toEqual(["PROVISIONING", "REPAIRING", "RUNNING", "STAGING", "STOPPING", "SUSPENDED", "SUSPENDING", "TERMINATED"]);
});

test("ssh-keys lines round-trip and foreign lines are kept verbatim", () => {
  const key = generateKeyPair("ed25519", "laptop");
  const foreign = 'bob:ecdsa-sha2-nistp256 AAAA google-ssh {"userName":"bob@example.com","expireOn":"2030-01-01T00:00:00+0000"}';
  const lines = parseSshKeys(`${foreign}\n`);
  expect(managedLines(lines)).toEqual([]);
  const withAlice = [...lines, sshKeyLine("alice", parseSshKeys(`alice:${key.publicKey}`)[0]!.key!)];
  const text = formatSshKeys(withAlice);
  expect(text.split("\n")[0]).toBe(foreign);
  expect(text.split("\n")[1]).toBe(`alice:${key.publicKey.split(" ").slice(0, 2).join(" ")} alice`);
  expect(managedLines(parseSshKeys(text)).map((l) => l.user)).toEqual(["alice"]);
});

test("operation errors keep GCE's code and map to the boundary's", () => {
  const op = (code: string, http?: number) => operationError({ operationType: "insert", httpErrorStatusCode: http, error: { errors: [{ code, message: "m" }] } });
  expect(op("ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS")?.code).toBe("RESOURCE_EXHAUSTED");
  expect(op("QUOTA_EXCEEDED")?.details.cloudCode).toBe("QUOTA_EXCEEDED");
  expect(op("RESOURCE_NOT_FOUND")?.code).toBe("NOT_FOUND");
  expect(op("SOMETHING_NEW", 503)?.code).toBe("UNAVAILABLE");
  expect(op("SOMETHING_NEW")?.code).toBe("INTERNAL");
  expect(operationError({ status: "DONE" } as never)).toBeUndefined();
});
