// Our server reflection (server/reflection.ts) against a client built from
// proto-loader's codecs of grpc/reflection/v1 (an implementation
// independent of the server's hand-written ones), over loopback: every
// question kind, several questions on one stream, errors that keep the
// stream open, and hostile questions (oversized names, malformed bytes).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import descriptorExt from "protobufjs/ext/descriptor/index.js";
import { fileDescriptorProtos } from "../grpc/descriptors";
import { packageDefinition } from "../grpc/package-definition";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { healthStatus } from "../testing/health-client";
import { awsProvider } from "../../providers/aws/definition";
import { DescriptorIndex, decodeRequest, encodeResponse } from "./reflection";

const PROVIDER_FILE = "skyclust/provider/v1/cloud_provider.proto";

/** One ServerReflectionInfo stream: ask questions in turn, each answered in order. */
function openStream(address: string, version: "v1" | "v1alpha" = "v1") {
  const def = packageDefinition({ keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
  const Ctor = grpc.makeClientConstructor(def[`grpc.reflection.${version}.ServerReflection`] as grpc.ServiceDefinition, "ServerReflection");
  const client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { ServerReflectionInfo: Function };
  const stream = client.ServerReflectionInfo({ deadline: Date.now() + 10_000 });
  const waiting: ((res: any) => void)[] = [];
  let failure: Error | undefined;
  stream.on("data", (res: any) => waiting.shift()?.(res));
  stream.on("error", (err: Error) => (failure = err));
  return {
    ask(request: object): Promise<any> {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve) => {
        waiting.push(resolve);
        stream.write(request);
      });
    },
    close() {
      stream.end();
      client.close();
    },
  };
}

const fileNames = (res: any): string[] =>
  (res.file_descriptor_response?.file_descriptor_proto ?? []).map((b: Buffer) => (descriptorExt.FileDescriptorProto.decode(b) as unknown as { name: string }).name);

describe("server reflection", () => {
  let p: TestProvider;
  beforeAll(async () => {
    p = await startTestProvider(awsProvider);
  });
  afterAll(() => p.close());

  for (const version of ["v1", "v1alpha"] as const) {
    test(`${version}: several questions on one stream, each answered with host and question echoed`, async () => {
      const s = openStream(p.address, version);
      try {
        const list = await s.ask({ host: "h.example", list_services: "" });
        expect(list.valid_host).toBe("h.example");
        expect(list.original_request.list_services).toBe("");
        expect(list.list_services_response.service.map((x: { name: string }) => x.name)).toContain("skyclust.provider.v1.CloudProviderService");

        // The file first, then each file it imports (transitively), once.
        const byName = await s.ask({ file_by_filename: PROVIDER_FILE });
        expect(byName.original_request.file_by_filename).toBe(PROVIDER_FILE);
        const names = fileNames(byName);
        expect(names[0]).toBe(PROVIDER_FILE);
        expect(names.slice(1).sort()).toEqual(["google/protobuf/empty.proto", "google/protobuf/timestamp.proto"]);

        // The served bytes are the compiler's, untouched.
        const embedded = fileDescriptorProtos().find((f) => (descriptorExt.FileDescriptorProto.decode(f) as unknown as { name: string }).name === PROVIDER_FILE)!;
        expect(Buffer.from(byName.file_descriptor_response.file_descriptor_proto[0])).toEqual(embedded);
      } finally {
        s.close();
      }
    });
  }

  test("every kind of symbol resolves to its file: service, method, message, nested field, enum, enum value, with or without a leading dot", async () => {
    const s = openStream(p.address);
    try {
      for (const symbol of [
        "skyclust.provider.v1.CloudProviderService",
        "skyclust.provider.v1.CloudProviderService.ListInstances",
        ".skyclust.provider.v1.ListInstancesRequest",
        "skyclust.provider.v1.ListInstancesRequest.page_size",
        "grpc.health.v1.HealthCheckResponse.ServingStatus",
        "grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING",
        "grpc.health.v1.HealthCheckResponse.SERVING",
      ]) {
        const res = await s.ask({ file_containing_symbol: symbol });
        expect([symbol, res.error_response]).toEqual([symbol, undefined]);
        expect(fileNames(res)[0]).toBe(symbol.includes("health") ? "grpc/health/v1/health.proto" : PROVIDER_FILE);
      }
    } finally {
      s.close();
    }
  });

  test("unknown names are NOT_FOUND answers on a stream that stays open; a 64 KB name is quoted bounded", async () => {
    const s = openStream(p.address);
    const huge = "x".repeat(64 * 1024);
    try {
      for (const request of [
        { file_containing_symbol: "no.such.Symbol" },
        { file_by_filename: "no/such.proto" },
        { file_containing_extension: { containing_type: "skyclust.provider.v1.Instance", extension_number: 100 } },
        { all_extension_numbers_of_type: "no.such.Type" },
        { file_containing_symbol: huge },
        { file_by_filename: huge },
      ]) {
        const res = await s.ask(request);
        expect(res.error_response.error_code).toBe(grpc.status.NOT_FOUND);
        expect(res.error_response.error_message.length).toBeLessThan(200);
      }
      expect((await s.ask({ file_containing_symbol: "no.such.Symbol" })).error_response.error_message).toBe('symbol "no.such.Symbol" not found');
      // A type without extensions has none (not an error), and the stream still answers.
      const none = await s.ask({ all_extension_numbers_of_type: "skyclust.provider.v1.Instance" });
      expect(none.all_extension_numbers_response.base_type_name).toBe("skyclust.provider.v1.Instance");
      expect(none.all_extension_numbers_response.extension_number ?? []).toEqual([]);
    } finally {
      s.close();
    }
  });

  test("a question without a message_request is INVALID_ARGUMENT", async () => {
    const s = openStream(p.address);
    try {
      const res = await s.ask({ host: "h" });
      expect(res.error_response.error_code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(res.error_response.error_message).toContain("message_request");
    } finally {
      s.close();
    }
  });

  test("malformed question bytes fail that call, and the server keeps serving", async () => {
    const client = new grpc.Client(p.address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const stream = client.makeBidiStreamRequest(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        (b: Buffer) => b,
        (b: Buffer) => b,
      );
      stream.on("data", () => {});
      stream.on("error", resolve);
      stream.write(Buffer.from([0x22, 0xff, 0xff, 0xff, 0x0f])); // field 4, length 2^32-1 with nothing after it
    });
    client.close();
    expect(err.code).not.toBe(grpc.status.OK);
    expect(await healthStatus(p.address)).toBe("SERVING");
    const s = openStream(p.address);
    try {
      expect(fileNames(await s.ask({ file_containing_symbol: "grpc.health.v1.Health" }))).toEqual(["grpc/health/v1/health.proto"]);
    } finally {
      s.close();
    }
  });
});

describe("the descriptor index", () => {
  // The embedded set declares no extensions: a file that does, built here.
  const file = (name: string, body: object) => Buffer.from(descriptorExt.FileDescriptorProto.encode(descriptorExt.FileDescriptorProto.fromObject({ name, ...body })).finish());
  const base = file("base.proto", { package: "t", messageType: [{ name: "Base", extensionRange: [{ start: 100, end: 200 }] }] });
  const ext = file("ext.proto", {
    package: "t.x",
    dependency: ["base.proto"],
    extension: [{ name: "top", number: 100, label: "LABEL_OPTIONAL", type: "TYPE_STRING", extendee: ".t.Base" }],
    messageType: [{ name: "Holder", extension: [{ name: "nested", number: 101, label: "LABEL_OPTIONAL", type: "TYPE_INT32", extendee: ".t.Base" }] }],
  });
  const index = new DescriptorIndex([base, ext]);
  const ask = (bytes: Buffer) => decodeRequest(bytes);

  test("extensions, top-level and nested, answer file_containing_extension and all_extension_numbers_of_type", () => {
    const req = (containing: string, n: number) => ask(Buffer.from([0x2a, 4 + containing.length, 0x0a, containing.length, ...Buffer.from(containing), 0x10, n]));
    expect(index.answer(req("t.Base", 100))).toEqual({ files: [ext, base] });
    expect(index.answer(req("t.Base", 101))).toEqual({ files: [ext, base] });
    expect(index.answer(req(".t.Base", 101))).toEqual({ files: [ext, base] });
    expect(index.answer(req("t.Base", 102))).toMatchObject({ error: { code: grpc.status.NOT_FOUND } });
    const all = ask(Buffer.concat([Buffer.from([0x32, 6]), Buffer.from("t.Base")]));
    expect(index.answer(all)).toEqual({ extensionNumbers: { baseTypeName: "t.Base", numbers: [100, 101] } });
    expect(index.symbols.get("t.x.top")).toBe("ext.proto");
    expect(index.symbols.get("t.x.Holder.nested")).toBe("ext.proto");
  });

  test("a file imported twice in the closure is served once", () => {
    const top = file("top.proto", { dependency: ["ext.proto", "base.proto"] });
    const i = new DescriptorIndex([base, ext, top]);
    expect(i.withDependencies("top.proto")).toEqual([top, ext, base]);
  });

  test("the answer round-trips: original_request is the question's own bytes", () => {
    const question = Buffer.concat([Buffer.from([0x0a, 1, 0x68, 0x3a, 0]), Buffer.from([])]); // host "h", list_services ""
    const decoded = ask(question);
    expect(decoded.kind).toBe("list_services");
    const answer = encodeResponse(decoded, index.answer(decoded));
    const def = packageDefinition({ keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
    const method = (def["grpc.reflection.v1.ServerReflection"] as grpc.ServiceDefinition).ServerReflectionInfo!;
    const res = method.responseDeserialize(answer) as any;
    expect(res.valid_host).toBe("h");
    expect(res.original_request).toEqual({ host: "h", list_services: "", message_request: "list_services" });
    expect(res.list_services_response.service ?? []).toEqual([]);
  });
});
