// The EC2 backend against moto's EC2 emulator, driven through the real gRPC
// server and client exactly as a caller would use it. moto is started here
// on a free loopback port and stopped in afterAll.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { freePort } from "../../scripts/chroot";
import { generateKeyPair } from "../../shared/keys";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { awsProvider } from "./definition";
import { startMoto, type MotoServer } from "./moto-server";
import { capabilityFlags, capabilityProblems } from "../../shared/testing/capabilities";

// An Amazon Linux 2 AMI that moto serves in every region.
const AMI = "ami-04681a1dbd79675a5";
const KEYS = { accessKeyId: "testing", secretAccessKey: "testing" };
// A region whose per-region endpoint points at a closed port, so a "*"
// listing has one region that fails.
const BROKEN_REGION = "eu-west-1";

let moto: MotoServer;
let provider: TestProvider;
let deadEndpoint: string;
const ec2 = (region: string) => new EC2Client({ region, endpoint: moto.url, credentials: KEYS });
const call = <T = any>(method: string, req: object = {}, metadata?: Record<string, string>) =>
  provider.client.call<T>(method, req, { deadlineMs: 60_000, metadata });

beforeAll(async () => {
  moto = await startMoto();
  deadEndpoint = `http://127.0.0.1:${await freePort()}`;
  provider = await startTestProvider(
    awsProvider,
    ["--endpoint", moto.url, "--region", "us-east-1", "--max-attempts", "1", "--region-endpoints", `${BROKEN_REGION}=${deadEndpoint}`],
    { AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey },
  );
}, 90_000);

afterAll(async () => {
  await provider?.close();
  await moto?.stop();
});

const create = (req: Record<string, unknown>, metadata?: Record<string, string>) =>
  call("CreateInstance", { type: "t3.micro", image_id: AMI, ...req }, metadata).then((r) => r.instance);

async function listAll(req: Record<string, unknown>): Promise<{ pages: any[][]; ids: string[]; totals: number[]; unreachable: string[] }> {
  const pages: any[][] = [];
  const totals: number[] = [];
  const unreachable: string[] = [];
  let token = "";
  do {
    const res = await call("ListInstances", { ...req, page_token: token });
    pages.push(res.instances);
    totals.push(res.total_count);
    unreachable.push(...res.unreachable);
    token = res.next_page_token;
    if (pages.length > 100) throw new Error("paging does not end");
  } while (token);
  return { pages, ids: pages.flat().map((i) => i.id), totals, unreachable };
}

describe("regions and health", () => {
  test("ListRegions maps DescribeRegions(AllRegions) opt-in status", async () => {
    const { regions } = await call("ListRegions");
    const byId = new Map<string, any>(regions.map((r: any) => [r.id, r]));
    expect(byId.get("us-east-1")).toMatchObject({ id: "us-east-1", status: "available", display_name: "US East (N. Virginia)" });
    // moto reports ap-east-1 (Hong Kong) as an opt-in region not opted into.
    expect(byId.get("ap-east-1")?.status).toBe("not-opted-in");
    expect(regions.length).toBeGreaterThan(20);

    const info = await call("GetProviderInfo");
    expect(info.name).toBe("aws");
    expect(info.capabilities.mode).toBe("cloud");
    expect(capabilityProblems(info.capabilities)).toEqual([]);
    // EC2: forced stop yes, no hard reboot, regions fanned out, tagged key pairs, catalog prices.
    expect(capabilityFlags(info.capabilities)).toMatchObject({ stop_force: true, restart_force: false, list_all_regions_native: false, key_pair_tags: true, cost_estimates: true });
    expect(info.capabilities).toMatchObject({ price_source: "catalog", idempotency_mechanism: "client-token+tag" });
    expect(info.supported_regions).toContain("us-east-1");
    expect(info.supported_regions).not.toContain("ap-east-1");
  });

  test("ListRegions fills every usable region's zones from DescribeAvailabilityZones", async () => {
    const { regions } = await call("ListRegions");
    const byId = new Map<string, any>(regions.map((r: any) => [r.id, r]));
    // moto's us-east-1 has six availability zones with their real zone ids.
    const east = byId.get("us-east-1");
    expect(east.zones).toEqual(["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]);
    expect(east.zone_details[0]).toMatchObject({
      name: "us-east-1a",
      id: "use1-az6",
      status: "available",
      zone_type: "availability-zone",
      opt_in_required: false,
      opt_in_status: "opt-in-not-required",
    });
    // Each region's own zones (the call was signed for that region).
    expect(byId.get("us-west-2").zones.length).toBeGreaterThan(0);
    expect(byId.get("us-west-2").zones.every((z: string) => z.startsWith("us-west-2"))).toBe(true);
    // Not opted in: not asked, no zones. Unreachable endpoint: listed without zones.
    expect(byId.get("ap-east-1").zones).toEqual([]);
    expect(byId.get(BROKEN_REGION)).toMatchObject({ status: "available", zones: [], zone_details: [] });
    const usable = regions.filter((r: any) => r.status === "available" && r.id !== BROKEN_REGION);
    expect(usable.filter((r: any) => r.zones.length === 0).map((r: any) => r.id)).toEqual([]);
  });

  test("HealthCheck makes a real EC2 call and reports healthy", async () => {
    const res = await call("HealthCheck");
    expect(res.healthy).toBe(true);
    expect(res.checks.cloud_api).toStartWith("ok (");
  });
});

describe("instances", () => {
  let keyName: string;
  let created: any[] = [];

  beforeAll(async () => {
    keyName = (await call("CreateKeyPair", { key_pair_name: "fleet-key" })).key_pair.key_pair_name;
    const script = "#!/bin/sh\necho hello from skyclust > /tmp/hello\n";
    for (const [i, team] of ["blue", "blue", "green"].entries()) {
      created.push(
        await create({
          name: `web-${i}`,
          tags: { team, tier: "web" },
          key_pair_name: keyName,
          user_data: script,
        }),
      );
    }
  }, 60_000);

  test("CreateInstance fills the instance from EC2", async () => {
    const [first] = created;
    expect(first.id).toMatch(/^i-[0-9a-f]{17}$/);
    expect(first.name).toBe("web-0");
    expect(first.tags).toEqual({ team: "blue", tier: "web" });
    expect(first.key_pair_name).toBe("fleet-key");
    expect(first.type).toBe("t3.micro");
    expect(first.region).toBe("us-east-1");
    expect(first.zone).toStartWith("us-east-1");
    expect(first.image_id).toBe(AMI);
    expect(first.provider).toBe("aws");
    expect(["pending", "running"]).toContain(first.status);
    expect(first.raw_status).toBe(first.status);
    expect(first.private_ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(Number(first.created_at.seconds)).toBeGreaterThan(0);
  });

  test("user data reaches EC2 base64-encoded exactly once", async () => {
    const attr = await ec2("us-east-1").send(new DescribeInstanceAttributeCommand({ InstanceId: created[0].id, Attribute: "userData" }));
    expect(Buffer.from(attr.UserData!.Value!, "base64").toString()).toBe("#!/bin/sh\necho hello from skyclust > /tmp/hello\n");
  });

  test("root volume, public IP and wait_until_running", async () => {
    const inst = await create({ name: "big-disk", root_volume_size: 40, root_volume_type: "gp3", public_ip: true, wait_until_running: true });
    expect(inst.status).toBe("running");
    expect(inst.public_ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const volumes = await ec2("us-east-1").send(new DescribeVolumesCommand({ Filters: [{ Name: "attachment.instance-id", Values: [inst.id] }] }));
    expect(volumes.Volumes?.map((v) => [v.Size, v.VolumeType])).toEqual([[40, "gp3"]]);
    await call("DeleteInstance", { instance_id: inst.id });
  });

  test("vpc_id without subnet picks a subnet in the zone; security group ids; key_pair_id is resolved to its name", async () => {
    const sdk = ec2("us-east-1");
    const vpc = (await sdk.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }))).Vpcs![0]!.VpcId!;
    const group = (await sdk.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "vpc-id", Values: [vpc] }, { Name: "group-name", Values: ["default"] }] })))
      .SecurityGroups![0]!.GroupId!;
    const key = (await call("ListKeyPairs", { filters: { name: "fleet-key" } })).key_pairs[0];
    const inst = await create({ name: "placed", vpc_id: vpc, zone: "us-east-1b", security_groups: [group], key_pair_id: key.key_pair_id });
    expect(inst.zone).toBe("us-east-1b");
    expect(inst.extra.vpc_id).toBe(vpc);
    expect(inst.extra.security_group_ids).toBe(group);
    expect(inst.key_pair_name).toBe("fleet-key");
    const subnet = (await sdk.send(new DescribeSubnetsCommand({ SubnetIds: [inst.extra.subnet_id] }))).Subnets![0]!;
    expect(subnet).toMatchObject({ VpcId: vpc, AvailabilityZone: "us-east-1b" });
    await call("DeleteInstance", { instance_id: inst.id });

    const noSubnet = await grpcError(call("CreateInstance", { name: "x", type: "t3.micro", image_id: AMI, vpc_id: "vpc-0123456789abcdef0" }));
    expect(badRequestFields(noSubnet)).toEqual(["vpc_id"]);
  });

  test("a missing image_id is INVALID_ARGUMENT naming the field", async () => {
    const err = await grpcError(call("CreateInstance", { name: "x", type: "t3.micro" }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["image_id"]);
  });

  test("filters: tag, name, type, EC2 pass-through, and bad status", async () => {
    const ids = (res: any) => res.instances.map((i: any) => i.id).sort();
    const blue = await call("ListInstances", { filters: { "tag:team": "blue" } });
    expect(ids(blue)).toEqual([created[0].id, created[1].id].sort());
    const byName = await call("ListInstances", { filters: { name: "web-2" } });
    expect(ids(byName)).toEqual([created[2].id]);
    const passThrough = await call("ListInstances", { filters: { "key-name": "fleet-key", "tag:team": "green" } });
    expect(ids(passThrough)).toEqual([created[2].id]);
    const wrongType = await call("ListInstances", { filters: { type: "m5.large", "tag:tier": "web" } });
    expect(wrongType.instances).toEqual([]);
    const err = await grpcError(call("ListInstances", { filters: { status: "asleep" } }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["filters[status]"]);
  });

  test("stop, start, restart, delete with the resulting statuses", async () => {
    const id = created[2].id;
    const status = async () => (await call("GetInstanceStatus", { instance_id: id })) as { status: string; raw_status: string; instance_id: string };

    const stop = await call("StopInstance", { instance_id: id, force: true });
    expect(stop.success).toBe(true);
    expect(["stopping", "stopped"]).toContain((await status()).status);
    const stopped = await call("ListInstances", { filters: { status: "stopped", "tag:tier": "web" } });
    expect(stopped.instances.map((i: any) => i.id)).toEqual([id]);
    const running = await call("ListInstances", { filters: { status: "running", "tag:tier": "web" } });
    expect(running.instances.map((i: any) => i.id).sort()).toEqual([created[0].id, created[1].id].sort());

    // A stopped instance cannot be rebooted.
    expect((await grpcError(call("RestartInstance", { instance_id: id }))).code).toBe(grpc.status.FAILED_PRECONDITION);

    await call("StartInstance", { instance_id: id });
    expect(["pending", "running"]).toContain((await status()).status);
    const restart = await call("RestartInstance", { instance_id: id });
    expect(restart.success).toBe(true);
    const afterRestart = await status();
    expect(afterRestart).toMatchObject({ instance_id: id, status: "running", raw_status: "running" });

    const del = await call("DeleteInstance", { instance_id: id });
    expect(del.success).toBe(true);
    const gone = await status();
    expect(["terminating", "terminated"]).toContain(gone.status);
    expect(["shutting-down", "terminated"]).toContain(gone.raw_status);

    // Wrong state: a terminated instance cannot be started or stopped.
    const start = await grpcError(call("StartInstance", { instance_id: id }));
    expect(start.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(start.details).toContain("terminated");
    expect((await grpcError(call("StopInstance", { instance_id: id }))).code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  test("unknown instance ids are NOT_FOUND, malformed ones INVALID_ARGUMENT", async () => {
    const unknown = "i-0123456789abcdef0";
    for (const method of ["GetInstanceStatus", "StartInstance", "StopInstance", "RestartInstance", "DeleteInstance"]) {
      const err = await grpcError(call(method, { instance_id: unknown }));
      expect(`${method} ${err.code}`).toBe(`${method} ${grpc.status.NOT_FOUND}`);
      expect(err.details).toContain(unknown);
    }
    const notFound = await grpcError(call("GetInstanceStatus", { instance_id: unknown }));
    expect(notFound.details).toContain("InvalidInstanceID.NotFound");
    expect(notFound.details).toMatch(/request id \S+/);
    const bad = await grpcError(call("GetInstanceStatus", { instance_id: "web-0" }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(bad)).toEqual(["instance_id"]);
  });
});

describe("paging", () => {
  const region = "eu-central-1";
  const expected: string[] = [];

  beforeAll(async () => {
    // Seven instances in seven reservations (EC2 pages of up to 5
    // reservations: the NextToken path) ...
    for (let i = 0; i < 7; i++) expected.push((await create({ region, name: `page-${i}`, tags: { suite: "paging" } })).id);
    // ... and one reservation of four, which moto returns whole however
    // small MaxResults is (the position-inside-an-EC2-page path).
    const res = await ec2(region).send(
      new RunInstancesCommand({
        ImageId: AMI,
        InstanceType: "t3.micro",
        MinCount: 4,
        MaxCount: 4,
        TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "suite", Value: "paging" }, { Key: "Name", Value: "batch" }] }],
      }),
    );
    expected.push(...res.Instances!.map((i) => i.InstanceId!));
  }, 60_000);

  test("pages of 2 return every instance exactly once", async () => {
    const { pages, ids, totals } = await listAll({ region, page_size: 2 });
    expect(pages.every((p) => p.length <= 2)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...expected].sort());
    expect(totals.at(-1)).toBe(expected.length);
    expect(totals.slice(0, -1).every((t) => t === -1)).toBe(true);
  });

  test("pages of 3 with a filter, and a token replayed with other filters is rejected", async () => {
    const { pages, ids } = await listAll({ region, page_size: 3, filters: { "tag:suite": "paging" } });
    expect(pages.every((p) => p.length <= 3)).toBe(true);
    expect([...ids].sort()).toEqual([...expected].sort());
    const first = await call("ListInstances", { region, page_size: 3 });
    expect(first.next_page_token).not.toBe("");
    const err = await grpcError(call("ListInstances", { region, page_size: 3, page_token: first.next_page_token, filters: { name: "x" } }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test('region "*" lists every region and reports the one whose endpoint fails', async () => {
    const west = await create({ region: "us-west-2", name: "far-away" });
    const { pages, ids, unreachable } = await listAll({ region: "*", page_size: 5 });
    expect(pages.every((p) => p.length <= 5)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [...expected, west.id]) expect(ids).toContain(id);
    expect(unreachable).toHaveLength(1);
    expect(unreachable[0]).toStartWith(`${BROKEN_REGION}: UNAVAILABLE`);
    const regionsSeen = new Set(pages.flat().map((i) => i.region));
    expect(regionsSeen).toContain("us-west-2");
    expect(regionsSeen).toContain(region);
  }, 60_000);
});

describe("idempotent create", () => {
  test("the same key twice (field, then metadata) yields one instance", async () => {
    const first = await create({ name: "once", idempotency_key: "order-42", tags: { run: "idem" } });
    const retried = await create({ name: "once", tags: { run: "idem" } }, { "idempotency-key": "order-42" });
    expect(retried.id).toBe(first.id);
    const listed = await call("ListInstances", { filters: { name: "once" } });
    expect(listed.instances.map((i: any) => i.id)).toEqual([first.id]);
    expect(listed.instances[0].extra.idempotency_key).toBe("order-42");
    expect(listed.instances[0].tags).toEqual({ run: "idem" });
  });

  test("concurrent retries with one key still create one instance", async () => {
    const results = await Promise.all([1, 2, 3].map(() => create({ name: "racer", idempotency_key: "race-7" })));
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    const out = await ec2("us-east-1").send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:Name", Values: ["racer"] }] }));
    expect(out.Reservations!.flatMap((r) => r.Instances!)).toHaveLength(1);
  });

  test("a different key creates a different instance", async () => {
    const a = await create({ name: "twin", idempotency_key: "twin-a" });
    const b = await create({ name: "twin", idempotency_key: "twin-b" });
    expect(a.id).not.toBe(b.id);
  });
});

describe("key pairs", () => {
  test("create returns the private key once and never logs it; duplicates are ALREADY_EXISTS", async () => {
    const res = await call("CreateKeyPair", { key_pair_name: "deploy", key_type: "ed25519", tags: { owner: "ops" } });
    expect(res.private_key).toStartWith("-----BEGIN OPENSSH PRIVATE KEY-----");
    expect(res.key_pair).toMatchObject({ key_pair_name: "deploy", region: "us-east-1", key_type: "ed25519" });
    expect(res.key_pair.key_pair_id).toStartWith("key-");
    expect(res.key_pair.fingerprint).not.toBe("");
    const body = res.private_key.split("\n")[1];
    expect(provider.logs.join("\n")).not.toContain(body);

    const rsa = await call("CreateKeyPair", { key_pair_name: "deploy-rsa", key_type: "rsa" });
    expect(rsa.private_key).toContain("PRIVATE KEY-----");

    const dup = await grpcError(call("CreateKeyPair", { key_pair_name: "deploy" }));
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(dup.details).toContain("InvalidKeyPair.Duplicate");
  });

  test("import ed25519 and RSA keys; a duplicate name and a malformed key are rejected", async () => {
    const ed = generateKeyPair("ed25519", "alice@laptop");
    const rsa = generateKeyPair("rsa", "bob@laptop");
    const a = await call("ImportKeyPair", { key_pair_name: "alice", public_key: ed.publicKey, tags: { who: "alice" } });
    expect(a.key_pair).toMatchObject({ key_pair_name: "alice", key_type: "ed25519", tags: { who: "alice" } });
    const b = await call("ImportKeyPair", { key_pair_name: "bob", public_key: rsa.publicKey });
    expect(b.key_pair).toMatchObject({ key_pair_name: "bob", key_type: "rsa" });
    // EC2 shows an imported RSA key's fingerprint as an MD5 (of the DER public key).
    expect(b.key_pair.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);

    expect((await grpcError(call("ImportKeyPair", { key_pair_name: "alice", public_key: rsa.publicKey }))).code).toBe(grpc.status.ALREADY_EXISTS);
    const bad = await grpcError(call("ImportKeyPair", { key_pair_name: "mallory", public_key: "ssh-ed25519 AAAAnotakey" }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(bad)).toEqual(["public_key"]);
  });

  test("list with filters, delete, and unknown names", async () => {
    const all = await call("ListKeyPairs");
    const names = all.key_pairs.map((k: any) => k.key_pair_name);
    for (const n of ["deploy", "alice", "bob"]) expect(names).toContain(n);
    const alice = all.key_pairs.find((k: any) => k.key_pair_name === "alice");
    expect(alice.public_key).toStartWith("ssh-ed25519 ");

    const byName = await call("ListKeyPairs", { filters: { name: "bob" } });
    expect(byName.key_pairs.map((k: any) => k.key_pair_name)).toEqual(["bob"]);
    const byTag = await call("ListKeyPairs", { filters: { "tag:who": "alice" } });
    expect(byTag.key_pairs.map((k: any) => k.key_pair_name)).toEqual(["alice"]);

    expect((await call("DeleteKeyPair", { key_pair_name: "bob" })).success).toBe(true);
    const after = await call("ListKeyPairs", { filters: { name: "bob" } });
    expect(after.key_pairs).toEqual([]);
    const again = await grpcError(call("DeleteKeyPair", { key_pair_name: "bob" }));
    expect(again.code).toBe(grpc.status.NOT_FOUND);
  });
});

describe("cost", () => {
  test("GetCostEstimate uses the bundled EC2 price catalog", async () => {
    const res = await call("GetCostEstimate", { instance_type: "t3.micro", region: "us-east-1", duration: "10h" });
    expect(res.hourly_rate).toBeGreaterThan(0);
    expect(res.cost).toBeCloseTo(res.hourly_rate * 10, 6);
    expect(res.price_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const err = await grpcError(call("GetCostEstimate", { instance_type: "no.such-type", region: "us-east-1" }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["instance_type"]);
  });
});
