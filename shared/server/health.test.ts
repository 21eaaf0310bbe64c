// grpc.health.v1 on the server's hand-written codecs (server/health.ts),
// checked with proto-loader's codecs on the client side: List, the bound on
// what a NOT_FOUND quotes, and malformed request bytes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { SERVICE_NAME } from "../grpc/descriptors";
import { packageDefinition } from "../grpc/package-definition";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { healthClient, healthStatus } from "../testing/health-client";
import { awsProvider } from "../../providers/aws/definition";

describe("health", () => {
  let p: TestProvider;
  beforeAll(async () => {
    p = await startTestProvider(awsProvider);
  });
  afterAll(() => p.close());

  test("List reports every service's status", async () => {
    const Health = grpc.makeClientConstructor(packageDefinition()["grpc.health.v1.Health"] as grpc.ServiceDefinition, "Health");
    const client = new Health(p.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { List: Function };
    const res = await new Promise<any>((resolve, reject) => client.List({}, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))));
    client.close();
    expect(res.statuses).toEqual({ "": { status: "SERVING" }, [SERVICE_NAME]: { status: "SERVING" } });
  });

  test("Watch of an unknown service streams SERVICE_UNKNOWN", async () => {
    const client = healthClient(p.address);
    const first = await new Promise<string>((resolve, reject) => {
      const stream = client.Watch({ service: "no.such.Service" });
      stream.on("data", (m: { status: string }) => {
        resolve(m.status);
        stream.cancel();
      });
      stream.on("error", (err: grpc.ServiceError) => err.code !== grpc.status.CANCELLED && reject(err));
    });
    client.close();
    expect(first).toBe("SERVICE_UNKNOWN");
  });

  test("a 64 KB service name is NOT_FOUND with the name quoted bounded", async () => {
    const err = await healthStatus(p.address, 10_000, "x".repeat(64 * 1024)).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toStartWith("NOT_FOUND: Health status unknown for service \"xxx");
    expect(err!.message.length).toBeLessThan(200);
  });

  test("malformed request bytes fail that call, and the server keeps serving", async () => {
    const client = new grpc.Client(p.address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest("/grpc.health.v1.Health/Check", (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0x05, 0x61]), (e) => resolve(e)),
    );
    client.close();
    expect(err?.code).toBe(grpc.status.INTERNAL);
    expect(await healthStatus(p.address)).toBe("SERVING");
  });
});
