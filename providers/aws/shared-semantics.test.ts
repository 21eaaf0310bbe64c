// The service layer's shared semantics with the EC2 backend against moto,
// through the real gRPC server and client: one create per idempotency key
// whatever the callers' deadlines, a key bound to its request across
// replicas, wait_until_running answering before the deadline while a poll
// hangs, and a "*" listing with one region's endpoint black-holed.
// shared/server/create-semantics.test.ts and fanout-budget.test.ts run the
// same scenarios against the sandbox.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import net from "node:net";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { GateProxy } from "../../shared/testing/gate-proxy";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { sameKeyRace } from "../../shared/testing/same-key-race";
import { metricSample } from "../../shared/testing/metrics-sample";
import { awsProvider } from "./definition";
import { startMoto, type MotoServer } from "./moto-server";

const AMI = "ami-04681a1dbd79675a5";
const KEYS = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
const HUNG_REGION = "eu-west-1";

let moto: MotoServer;
let gate: GateProxy;
let viaGate: TestProvider;
let blackHole: net.Server;
const blackHoleSockets = new Set<net.Socket>();

const start = (args: string[]) => startTestProvider(awsProvider, ["--region", "us-east-1", "--max-attempts", "1", ...args], KEYS);

beforeAll(async () => {
  moto = await startMoto();
  gate = await GateProxy.start(moto.url);
  viaGate = await start(["--endpoint", gate.url]);
  // Accepts connections and never answers: a region whose endpoint hangs.
  blackHole = net.createServer((socket) => {
    blackHoleSockets.add(socket);
    socket.on("close", () => blackHoleSockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
}, 90_000);

afterAll(async () => {
  await viaGate?.close();
  await gate?.stop();
  for (const s of blackHoleSockets) s.destroy();
  blackHole?.close();
  await moto?.stop();
});

async function tagged(key: string): Promise<string[]> {
  const ec2 = new EC2Client({ region: "us-east-1", endpoint: moto.url, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:skyclust:idempotency-key", Values: [key] }] }));
  ec2.destroy();
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId!);
}

const runInstances = () => gate.requests.filter((r) => r.body.includes("Action=RunInstances")).length;

describe("idempotency keys (moto)", () => {
  test("20 concurrent creates with one key, one at 0.5 s and 19 at 60 s: one RunInstances, the 19 all get its instance, the short one DEADLINE_EXCEEDED", async () => {
    const req = { name: "sf-moto", type: "t3.micro", image_id: AMI, idempotency_key: "sf-moto-20" };
    const launchesBefore = runInstances();
    // EC2's answer to the launch is held until the short caller has given up.
    const hold = gate.holdNext((r) => r.body.includes("Action=RunInstances"));
    const { short, ids } = await sameKeyRace(viaGate.client, req, hold);
    expect(short.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(ids.size).toBe(1);
    expect(runInstances() - launchesBefore).toBe(1);
    expect(await tagged("sf-moto-20")).toEqual([...ids]);
  }, 90_000);

  test("the same key with another request: INVALID_ARGUMENT naming idempotency_key, also from a replica that never saw the first call", async () => {
    const req = { name: "bound-a", type: "t3.micro", image_id: AMI, idempotency_key: "sf-moto-bound" };
    const first = (await viaGate.client.call("CreateInstance", req, { deadlineMs: 60_000 })).instance;
    const here = await grpcError(viaGate.client.call("CreateInstance", { ...req, type: "t3.small" }, { deadlineMs: 60_000 }));
    const replica = await start(["--endpoint", moto.url]);
    try {
      const there = await grpcError(replica.client.call("CreateInstance", { ...req, name: "bound-b" }, { deadlineMs: 60_000 }));
      for (const err of [here, there]) {
        expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(badRequestFields(err)).toEqual(["idempotency_key"]);
      }
      expect(there.details).toContain(first.id);
      // The same request through the replica is answered by the cloud-side de-duplication (the key's tag).
      expect((await replica.client.call("CreateInstance", req, { deadlineMs: 60_000 })).instance.id).toBe(first.id);
    } finally {
      await replica.close();
    }
    expect(await tagged("sf-moto-bound")).toEqual([first.id]);
  }, 90_000);
});

describe("wait_until_running (moto)", () => {
  test("polls until the instance runs", async () => {
    const { instance } = await viaGate.client.call("CreateInstance", { name: "w-moto", type: "t3.micro", image_id: AMI, wait_until_running: true }, { deadlineMs: 60_000 });
    expect(instance.status).toBe("running");
  }, 60_000);

  test("a poll that hangs past the deadline: OK before the deadline, with the id as last seen", async () => {
    const hold = gate.holdNext((r) => r.body.includes("Action=DescribeInstances") && r.body.includes("InstanceId.1="));
    try {
      const { instance } = await viaGate.client.call("CreateInstance", { name: "w-moto-hung", type: "t3.micro", image_id: AMI, wait_until_running: true }, { deadlineMs: 4_000 });
      expect(instance.id).toMatch(/^i-/);
      // RunInstances' own answer: EC2 launches into pending.
      expect(instance.status).toBe("pending");
      expect((await hold.arrived).body).toContain(instance.id);
    } finally {
      hold.release();
    }
  }, 60_000);
});

describe('region "*" with one region black-holed (moto)', () => {
  let p: TestProvider;
  beforeAll(async () => {
    p = await start(["--metrics-addr", "127.0.0.1:0", "--endpoint", moto.url, "--region-endpoints", `${HUNG_REGION}=http://127.0.0.1:${(blackHole.address() as net.AddressInfo).port}`, "--fanout-region-timeout-seconds", "2"]);
    await p.client.call("CreateInstance", { name: "fan-east", type: "t3.micro", image_id: AMI }, { deadlineMs: 60_000 });
  }, 60_000);
  afterAll(() => p?.close());

  function checkPage(res: any) {
    expect(res.unreachable.filter((u: string) => u.startsWith(`${HUNG_REGION}:`))).toEqual([expect.stringMatching(/^eu-west-1: timed out after \d+ ms$/)]);
    expect(res.instances.some((i: any) => i.name === "fan-east" && i.region === "us-east-1")).toBe(true);
  }

  test("5 s and 20 s deadlines: OK before the deadline, the region unreachable, its request aborted", async () => {
    const aborted = () => metricSample(p.started.metrics!.address, "skyclust_cloud_requests_total", { provider: "aws", operation: "DescribeInstances", region: HUNG_REGION, outcome: "timeout" });
    const abortedBefore = await aborted();
    const [five, twenty] = await Promise.all([
      p.client.call("ListInstances", { region: "*", page_size: 500 }, { deadlineMs: 5_000 }),
      p.client.call("ListInstances", { region: "*", page_size: 500 }, { deadlineMs: 20_000 }),
    ]);
    checkPage(five);
    checkPage(twenty);
    // The budget aborted both SDK requests to the hung endpoint (they ended as timeouts, not by themselves).
    expect((await aborted()) - abortedBefore).toBe(2);
  }, 60_000);

  test("no deadline: OK within --fanout-region-timeout-seconds", async () => {
    checkPage(await p.client.call("ListInstances", { region: "*", page_size: 500 }));
  }, 60_000);
});
