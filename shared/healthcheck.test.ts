// The healthcheck subcommand's hand-written grpc.health.v1 codec agrees with
// the real one generated from health.proto (the descriptor set the server
// uses), for every status and for names long enough for multi-byte lengths.
import { describe, expect, test } from "bun:test";
import { packageDefinition } from "./grpc/descriptors";
import { decodeServingStatus, encodeHealthCheckRequest } from "./healthcheck";

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
