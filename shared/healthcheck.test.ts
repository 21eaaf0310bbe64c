// The healthcheck subcommand's hand-written grpc.health.v1 codec agrees with
// the real one generated from health.proto (the descriptor set the server
// uses), for every status and for names long enough for multi-byte lengths.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { SERVICE_NAME } from "./grpc/descriptors";
import { packageDefinition } from "./grpc/package-definition";
import { probeHealthH2c } from "./grpc/h2c-health-probe";
import { checkHealth, decodeServingStatus, encodeHealthCheckRequest } from "./healthcheck";
import { createHealth } from "./server/health";

const check = (packageDefinition()["grpc.health.v1.Health"] as Record<string, any>).Check;

describe("healthcheck codec", () => {
  test.each(["", "skyclust.provider.v1.CloudProviderService", "x".repeat(200), "ü".repeat(5000)])("request for %#", (service) => {
    const ours = encodeHealthCheckRequest({ service });
    expect(check.requestDeserialize(ours).service).toBe(service);
    // protobufjs writes an empty string explicitly; proto3 allows leaving it out.
    if (service) expect(ours).toEqual(check.requestSerialize({ service }));
  });

  test.each(["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"])("response %s", (status) => {
    expect(decodeServingStatus(check.responseSerialize({ status }))).toBe(status);
  });

  test("unknown fields are skipped; a truncated reply is an error", () => {
    const withExtra = Buffer.concat([Buffer.from([0x12, 0x02, 0x41, 0x42]), check.responseSerialize({ status: "SERVING" })]);
    expect(decodeServingStatus(withExtra)).toBe("SERVING");
    expect(() => decodeServingStatus(Buffer.from([0x08, 0x80]))).toThrow("truncated");
  });
});

describe("healthcheck over a raw HTTP/2 socket (the subcommand's fast path)", () => {
  let server: grpc.Server;
  let port: number;
  let setAll: (s: "SERVING" | "NOT_SERVING") => void;

  beforeAll(async () => {
    server = new grpc.Server();
    const health = createHealth();
    setAll = health.setAll;
    health.health.addToServer(server);
    port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  });
  afterAll(() => server.forceShutdown());

  test("reads SERVING and NOT_SERVING from a real grpc-js health service, for the server and a named service", async () => {
    expect(await probeHealthH2c("127.0.0.1", port, "", 5000)).toBe("SERVING");
    expect(await probeHealthH2c("127.0.0.1", port, SERVICE_NAME, 5000)).toBe("SERVING");
    setAll("NOT_SERVING");
    try {
      expect(await probeHealthH2c("127.0.0.1", port, "", 5000)).toBe("NOT_SERVING");
    } finally {
      setAll("SERVING");
    }
  });

  test("an answer without a reply message (unknown service: NOT_FOUND) is left to the full client, which names the error", async () => {
    expect(await probeHealthH2c("127.0.0.1", port, "no.such.Service", 5000)).toBeUndefined();
    expect(await checkHealth({ addr: `127.0.0.1:${port}`, service: "no.such.Service", timeoutMs: 5000 })).toMatch(/^error: NOT_FOUND/);
  });

  test("nothing listening, or a peer that is not HTTP/2, gives no answer instead of a wrong one", async () => {
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const closedPort = closed.port;
    closed.stop(true);
    expect(await probeHealthH2c("127.0.0.1", closedPort, "", 5000)).toBeUndefined();
    // An HTTP/1.1 server answering with an error page, then closing.
    const http1 = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data(s) { s.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"); } },
    });
    try {
      expect(await probeHealthH2c("127.0.0.1", http1.port, "", 5000)).toBeUndefined();
    } finally {
      http1.stop(true);
    }
    // A peer that never answers: the timeout ends the probe.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      expect(await probeHealthH2c("127.0.0.1", silent.port, "", 200)).toBeUndefined();
    } finally {
      silent.stop(true);
    }
  });
});
