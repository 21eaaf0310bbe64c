// The shipped IAM policies (providers/aws/policy/*.json) proven against moto
// with IAM enforcement on: an IAM user is created with exactly the policy
// under test, the provider runs with that user's keys, and every RPC is
// called through the real gRPC client. moto evaluates each EC2 action
// against the user's policy as IAM does (Allow/Deny by action; it does not
// evaluate Resource ARNs or Conditions, so ec2:CreateTags, needed on AWS to
// tag at launch, is listed but cannot be proven here).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { CreateKeyPairCommand, DescribeVpcsCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair } from "../../shared/keys";
import { grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { awsProvider } from "./definition";
import { startMoto, type MotoServer } from "./moto-server";
import { ALLOW_ALL, createIamUser, enforceIam, type AccessKeys } from "./testing/moto-iam";

type PolicyDoc = { Version: string; Statement: { Sid?: string; Effect: string; Action: string | string[]; Resource: string; Condition?: unknown }[] };
const POLICY_DIR = join(import.meta.dir, "policy");
const load = (name: string): PolicyDoc => JSON.parse(readFileSync(join(POLICY_DIR, `${name}.json`), "utf8"));
const READ_ONLY = load("read-only");
const FULL: PolicyDoc = { Version: "2012-10-17", Statement: ["read-only", "lifecycle", "key-pairs"].flatMap((n) => load(n).Statement) };
const actionsOf = (doc: PolicyDoc) => doc.Statement.flatMap((s) => [s.Action].flat());
/** `doc` without `action` (statements left empty are dropped). */
const without = (doc: PolicyDoc, action: string): PolicyDoc => ({
  ...doc,
  Statement: doc.Statement.map((s) => ({ ...s, Action: [s.Action].flat().filter((a) => a !== action) })).filter((s) => s.Action.length > 0),
});
// Granted only under a Condition moto does not evaluate (see above).
const UNPROVABLE = new Set(["ec2:CreateTags"]);
const PROVABLE = [...new Set(actionsOf(FULL))].filter((a) => !UNPROVABLE.has(a)).sort();

const REGION = "us-east-1";
const AMI = "ami-04681a1dbd79675a5";
let moto: MotoServer;
let admin: EC2Client;
let defaultVpc: string;
const keys = new Map<string, AccessKeys>();
let seq = 0;
const unique = (what: string) => `${what}-${Date.now().toString(36)}-${++seq}`;

async function freshInstance(): Promise<string> {
  const out = await admin.send(new RunInstancesCommand({ ImageId: AMI, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 }));
  return out.Instances![0]!.InstanceId!;
}

interface RpcCase {
  rpc: string;
  /** The EC2 actions this RPC cannot do without (with the request below). */
  needs: string[];
  /** Actions it uses when allowed and does without otherwise (extra facts). */
  optional?: string[];
  read: boolean;
  request(): Promise<object>;
}

const CASES: RpcCase[] = [
  { rpc: "GetProviderInfo", needs: ["ec2:DescribeRegions"], read: true, request: async () => ({}) },
  // DescribeAvailabilityZones fills each region's zones when allowed; without it regions come without zones.
  { rpc: "ListRegions", needs: ["ec2:DescribeRegions"], optional: ["ec2:DescribeAvailabilityZones"], read: true, request: async () => ({}) },
  { rpc: "ListInstances", needs: ["ec2:DescribeInstances"], read: true, request: async () => ({ region: REGION }) },
  // DescribeInstanceStatus adds the status checks (instance_status_check, system_status_check) when allowed.
  { rpc: "GetInstanceStatus", needs: ["ec2:DescribeInstances"], optional: ["ec2:DescribeInstanceStatus"], read: true, request: async () => ({ instance_id: await freshInstance(), region: REGION }) },
  { rpc: "ListKeyPairs", needs: ["ec2:DescribeKeyPairs"], read: true, request: async () => ({ region: REGION }) },
  { rpc: "GetCostEstimate", needs: [], read: true, request: async () => ({ instance_type: "t3.micro", region: REGION, duration: "1h" }) },
  {
    rpc: "CreateInstance",
    // The idempotency lookup, the subnet of the VPC and the AMI's root device (root_volume_size), then the launch.
    needs: ["ec2:DescribeInstances", "ec2:DescribeSubnets", "ec2:DescribeImages", "ec2:RunInstances"],
    read: false,
    request: async () => ({ name: unique("web"), type: "t3.micro", image_id: AMI, region: REGION, vpc_id: defaultVpc, root_volume_size: 20, idempotency_key: unique("key") }),
  },
  { rpc: "StartInstance", needs: ["ec2:DescribeInstances", "ec2:StartInstances"], read: false, request: async () => ({ instance_id: await freshInstance(), region: REGION }) },
  { rpc: "StopInstance", needs: ["ec2:DescribeInstances", "ec2:StopInstances"], read: false, request: async () => ({ instance_id: await freshInstance(), region: REGION }) },
  { rpc: "RestartInstance", needs: ["ec2:DescribeInstances", "ec2:RebootInstances"], read: false, request: async () => ({ instance_id: await freshInstance(), region: REGION }) },
  { rpc: "DeleteInstance", needs: ["ec2:TerminateInstances"], read: false, request: async () => ({ instance_id: await freshInstance(), region: REGION }) },
  { rpc: "CreateKeyPair", needs: ["ec2:CreateKeyPair"], read: false, request: async () => ({ key_pair_name: unique("kp"), region: REGION }) },
  {
    rpc: "ImportKeyPair",
    needs: ["ec2:ImportKeyPair"],
    read: false,
    request: async () => ({ key_pair_name: unique("imported"), region: REGION, public_key: generateKeyPair("ed25519", "policy-test").publicKey }),
  },
  {
    rpc: "DeleteKeyPair",
    needs: ["ec2:DescribeKeyPairs", "ec2:DeleteKeyPair"],
    read: false,
    request: async () => {
      const name = unique("doomed");
      await admin.send(new CreateKeyPairCommand({ KeyName: name }));
      return { key_pair_name: name, region: REGION };
    },
  },
];

beforeAll(async () => {
  moto = await startMoto();
  // Users first, while moto still lets unsigned requests through; then enforcement.
  keys.set("admin", await createIamUser(moto.url, "setup-admin", ALLOW_ALL));
  keys.set("full", await createIamUser(moto.url, "skyclust-full", FULL));
  keys.set("read-only", await createIamUser(moto.url, "skyclust-read-only", READ_ONLY));
  for (const action of PROVABLE) keys.set(`without ${action}`, await createIamUser(moto.url, `skyclust-without-${action.replace(":", "-")}`, without(FULL, action)));
  await enforceIam(moto.url);
  admin = new EC2Client({ region: REGION, endpoint: moto.url, credentials: keys.get("admin")! });
  const vpcs = await admin.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }));
  defaultVpc = vpcs.Vpcs![0]!.VpcId!;
}, 120_000);

afterAll(async () => {
  admin?.destroy();
  await moto?.stop();
});

async function withProvider<T>(user: string, fn: (p: TestProvider) => Promise<T>): Promise<T> {
  const k = keys.get(user)!;
  const p = await startTestProvider(awsProvider, ["--endpoint", moto.url, "--region", REGION, "--max-attempts", "1"], {
    AWS_ACCESS_KEY_ID: k.accessKeyId,
    AWS_SECRET_ACCESS_KEY: k.secretAccessKey,
  });
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

type Outcome = { ok: true } | { ok: false; code: number; details: string };
async function run(p: TestProvider, c: RpcCase): Promise<Outcome> {
  const req = await c.request();
  try {
    await p.client.call(c.rpc, req, { deadlineMs: 30_000 });
    return { ok: true };
  } catch (err) {
    const e = await grpcError(Promise.reject(err));
    return { ok: false, code: e.code, details: e.details };
  }
}

test("the policy files are valid IAM documents and every action the RPC table uses is granted by exactly one file", () => {
  const files = readdirSync(POLICY_DIR).filter((f) => f.endsWith(".json")).sort();
  expect(files).toEqual(["key-pairs.json", "lifecycle.json", "read-only.json"]);
  const granted = new Map<string, string[]>();
  for (const f of files) {
    const doc = load(f.replace(/\.json$/, ""));
    expect(doc.Version).toBe("2012-10-17");
    for (const s of doc.Statement) {
      expect(s.Effect).toBe("Allow");
      for (const a of [s.Action].flat()) {
        expect(a).toMatch(/^ec2:[A-Z][A-Za-z]+$/); // no wildcards: least privilege is a list
        if (!s.Condition) granted.set(a, [...(granted.get(a) ?? []), f]);
      }
    }
  }
  const used = new Set(CASES.flatMap((c) => [...c.needs, ...(c.optional ?? [])]));
  expect([...used].sort()).toEqual(PROVABLE);
  for (const a of used) expect(granted.get(a)).toHaveLength(1);
  // The read-only policy grants exactly what the read RPCs use.
  expect(actionsOf(READ_ONLY).sort()).toEqual([...new Set(CASES.filter((c) => c.read).flatMap((c) => [...c.needs, ...(c.optional ?? [])]))].sort());
});

test("moto enforces IAM: unknown keys are UNAUTHENTICATED", async () => {
  keys.set("stranger", { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" });
  await withProvider("stranger", async (p) => {
    expect((await grpcError(p.client.call("ListRegions"))).code).toBe(status.UNAUTHENTICATED);
  });
});

test("full policy (read-only + lifecycle + key-pairs): every RPC succeeds and HealthCheck is healthy", async () => {
  await withProvider("full", async (p) => {
    for (const c of CASES) expect({ rpc: c.rpc, ...(await run(p, c)) }).toEqual({ rpc: c.rpc, ok: true });
    expect((await p.client.call("HealthCheck")).healthy).toBe(true);
  });
}, 60_000);

test("read-only policy: exactly the read RPCs succeed; every other RPC is PERMISSION_DENIED naming the action it lacks", async () => {
  await withProvider("read-only", async (p) => {
    for (const c of CASES) {
      const outcome = await run(p, c);
      if (c.read) {
        expect({ rpc: c.rpc, ...outcome }).toEqual({ rpc: c.rpc, ok: true });
        continue;
      }
      // CreateInstance looks up the subnet and the AMI at once: either denial may come first.
      const missing = c.needs.filter((a) => !actionsOf(READ_ONLY).includes(a));
      expect({ rpc: c.rpc, code: (outcome as any).code }).toEqual({ rpc: c.rpc, code: status.PERMISSION_DENIED });
      expect(missing.filter((a) => (outcome as any).details.includes(`not authorized to perform: ${a}`))).toHaveLength(1);
    }
    expect((await p.client.call("HealthCheck")).healthy).toBe(true);
  });
}, 60_000);

test("zones need ec2:DescribeAvailabilityZones: with it each region has its zones, without it ListRegions still answers, without zones", async () => {
  const east = (regions: any[]) => regions.find((r) => r.id === REGION);
  await withProvider("read-only", async (p) => {
    expect(east((await p.client.call<any>("ListRegions")).regions).zones.length).toBeGreaterThan(0);
  });
  await withProvider("without ec2:DescribeAvailabilityZones", async (p) => {
    const { regions } = await p.client.call<any>("ListRegions");
    expect(east(regions)).toMatchObject({ status: "available", zones: [], zone_details: [] });
  });
}, 60_000);

describe("one permission removed from the full policy", () => {
  for (const action of PROVABLE) {
    test(`without ${action}: the RPCs that need it are PERMISSION_DENIED naming it, all others succeed, nothing is INTERNAL`, async () => {
      await withProvider(`without ${action}`, async (p) => {
        for (const c of CASES) {
          const outcome = await run(p, c);
          if (!c.needs.includes(action)) {
            expect({ rpc: c.rpc, ...outcome }).toEqual({ rpc: c.rpc, ok: true });
            continue;
          }
          expect({ rpc: c.rpc, code: (outcome as any).code }).toEqual({ rpc: c.rpc, code: status.PERMISSION_DENIED });
          expect((outcome as any).details).toContain(`not authorized to perform: ${action}`);
        }
        if (action === "ec2:DescribeRegions") {
          const health = await p.client.call("HealthCheck");
          expect(health.healthy).toBe(false);
          expect(health.message).toContain(action);
        }
      });
    }, 60_000);
  }
});
