// Two EC2 provider replicas behind one round_robin client. Across replicas
// EC2 de-duplicates RunInstances by ClientToken (derived from the
// idempotency key); moto ignores ClientToken, so the replicas talk to moto
// through a stand-in that honours it as EC2 documents
// (testing/client-token-ec2.ts), and the stand-in itself is checked here
// against EC2's documented behaviour with the real SDK.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { startTestProvider } from "../../shared/testing/harness";
import { twoReplicaSuite } from "../../shared/testing/replicas";
import { awsProvider } from "./definition";
import { startMoto, type MotoServer } from "./moto-server";
import { startClientTokenEc2, type ClientTokenEc2 } from "./testing/client-token-ec2";

const AMI = "ami-04681a1dbd79675a5";
const KEYS = { accessKeyId: "testing", secretAccessKey: "testing" };
let moto: MotoServer;
let ec2: ClientTokenEc2;
let seq = 0;

beforeAll(async () => {
  moto = await startMoto();
  ec2 = await startClientTokenEc2(moto.url);
}, 90_000);

afterAll(async () => {
  await ec2?.stop();
  await moto?.stop();
});

const sdk = (endpoint: string) => new EC2Client({ region: "us-east-1", endpoint, credentials: KEYS, maxAttempts: 1 });

describe("the ClientToken stand-in behaves as EC2 documents", () => {
  test("same token and parameters: the first call's reservation, one launch; different parameters: IdempotentParameterMismatch", async () => {
    const client = sdk(ec2.url);
    const input = { ImageId: AMI, InstanceType: "t3.micro" as const, MinCount: 1, MaxCount: 1, ClientToken: `tok-${Date.now()}` };
    const forwarded = ec2.launchesForwarded;
    const [x, y] = await Promise.all([client.send(new RunInstancesCommand(input)), client.send(new RunInstancesCommand(input))]);
    expect(y.ReservationId).toBe(x.ReservationId!);
    expect(y.Instances!.map((i) => i.InstanceId)).toEqual(x.Instances!.map((i) => i.InstanceId));
    expect(ec2.launchesForwarded - forwarded).toBe(1);
    const err = await client.send(new RunInstancesCommand({ ...input, InstanceType: "t3.small" })).catch((e) => e);
    expect(err.name).toBe("IdempotentParameterMismatch");
    // Another region is another token scope.
    const west = new EC2Client({ region: "us-west-2", endpoint: ec2.url, credentials: KEYS, maxAttempts: 1 });
    const w = await west.send(new RunInstancesCommand({ ...input, ImageId: AMI }));
    expect(w.ReservationId).not.toBe(x.ReservationId!);
  }, 60_000);
});

describe("two replicas", () => {
  twoReplicaSuite({
    start: () => startTestProvider(awsProvider, ["--endpoint", ec2.url, "--region", "us-east-1", "--max-attempts", "1"], { AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey }),
    region: "us-east-1",
    name: (suffix) => `rr-${suffix}-${++seq}`,
    createRequest: (name, key) => ({ name, type: "t3.micro", image_id: AMI, region: "us-east-1", ...(key ? { idempotency_key: key } : {}) }),
    // Straight from moto: live instances carrying the Name tag.
    cloudInstancesNamed: async (name) => {
      const res = await sdk(moto.url).send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:Name", Values: [name] }] }));
      return (res.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== "terminated" && i.State?.Name !== "shutting-down").length;
    },
  });
});
