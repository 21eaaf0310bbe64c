// grpc.health.v1 Check and Watch, and server reflection resolved from
// reflection alone, as grpcurl would.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { awsProvider } from "../../providers/aws/definition";
import { SERVICE_NAME } from "../grpc/descriptors";
import { healthClient, healthStatus } from "../testing/health-client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { ReflectionClient, importViolations, rootFromDescriptors } from "../testing/reflection-client";

describe("health", () => {
  test("Check reports SERVING for the server and the provider service, NOT_FOUND for others", async () => {
    const p = await startTestProvider(awsProvider);
    try {
      expect(await healthStatus(p.address)).toBe("SERVING");
      expect(await healthStatus(p.address, 2000, SERVICE_NAME)).toBe("SERVING");
      expect(healthStatus(p.address, 2000, "no.such.Service")).rejects.toThrow("NOT_FOUND");
    } finally {
      await p.close();
    }
  });

  test("Watch streams SERVING, then NOT_SERVING when shutdown begins", async () => {
    const p = await startTestProvider(awsProvider);
    const client = healthClient(p.address);
    const seen: string[] = [];
    const stream = client.Watch({ service: "" });
    stream.on("data", (m: { status: string }) => seen.push(m.status));
    stream.on("error", () => {});
    const until = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < until) await Bun.sleep(20);
    expect(seen).toEqual(["SERVING"]);
    await p.close();
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    client.close();
  });
});

describe("reflection", () => {
  let p: TestProvider;
  beforeAll(async () => {
    p = await startTestProvider(awsProvider);
  });
  afterAll(() => p.close());

  for (const version of ["v1", "v1alpha"] as const) {
    test(`${version}: lists the services and resolves every type, imports included`, async () => {
      const r = new ReflectionClient(p.address, version);
      try {
        expect((await r.listServices()).sort()).toEqual([
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
          SERVICE_NAME,
        ]);
        const files = await r.resolveClosure(SERVICE_NAME);
        expect([...files.keys()].sort()).toEqual([
          "google/protobuf/empty.proto",
          "google/protobuf/timestamp.proto",
          "skyclust/provider/v1/cloud_provider.proto",
        ]);
        expect(importViolations(files)).toEqual([]);
        // Every RPC's request and response type resolves from reflection alone.
        const root = rootFromDescriptors(files);
        const service = root.lookupService(SERVICE_NAME);
        expect(service.methodsArray.length).toBe(21);
        for (const m of service.methodsArray) {
          m.resolve();
          expect(m.resolvedRequestType).not.toBeNull();
          expect(m.resolvedResponseType).not.toBeNull();
        }
        expect(root.lookupType("google.protobuf.Timestamp").fieldsArray.map((f) => f.name)).toEqual(["seconds", "nanos"]);
      } finally {
        r.close();
      }
    });
  }

  test("a dynamic call built only from reflected descriptors works", async () => {
    const r = new ReflectionClient(p.address);
    const root = rootFromDescriptors(await r.resolveClosure(SERVICE_NAME));
    r.close();
    const Req = root.lookupType("skyclust.provider.v1.ListRegionsRequest");
    const Res = root.lookupType("skyclust.provider.v1.ListRegionsResponse");
    const client = new grpc.Client(p.address, grpc.credentials.createInsecure());
    const res: any = await new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        `/${SERVICE_NAME}/ListRegions`,
        (v: object) => Buffer.from(Req.encode(Req.fromObject(v)).finish()),
        (b: Buffer) => Res.toObject(Res.decode(b)),
        {},
        (err, v) => (err ? reject(err) : resolve(v)),
      ),
    );
    client.close();
    expect(res.regions.length).toBe(8);
  });

  test("--no-reflection turns it off", async () => {
    const q = await startTestProvider(awsProvider, ["--sandbox", "--no-reflection"]);
    const r = new ReflectionClient(q.address);
    try {
      await expect(r.listServices()).rejects.toThrow(/UNIMPLEMENTED/);
      expect((await q.client.call("GetProviderInfo")).capabilities.reflection).toBe("false");
    } finally {
      r.close();
      await q.close();
    }
  });
});
