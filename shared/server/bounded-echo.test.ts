// Attack: a 64 KB value in any request field must not be echoed into the
// status. Before, checkRegion, the duration parser and sandbox checks copied
// it into grpc-message and twice into BadRequest details: at ~2.7 KB C-core
// clients failed on metadata size, at 64 KB the server could not send the
// status and the connection (with a Health Watch on it) went down.
// For every RPC of every provider, each string field (map keys and values,
// repeated strings) gets 64 KB in turn; the status must stay far below the
// default 8 KB metadata limit and a Health Watch on the same channel must
// live on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { PROTOBUF_JSON } from "../grpc/descriptor-set.generated";
import { SERVICE_NAME } from "../grpc/descriptors";
import { ProviderClient } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { healthClient } from "../testing/health-client";
import { ALL_PROVIDERS } from "../../providers/testing";

const HUGE = "x".repeat(64 * 1024);
const NON_ASCII = "é".repeat(32 * 1024);
/** Well under 8 KB: the status must not grow with the input. */
const STATUS_BUDGET = 4096;

const root = protobuf.Root.fromJSON(JSON.parse(PROTOBUF_JSON));
const service = root.lookupService(SERVICE_NAME);

/** Every (field path, request) pair with one oversized string. */
function attacks(method: protobuf.Method, base: Record<string, unknown>, value: string): [string, Record<string, unknown>][] {
  const type = root.lookupType(method.requestType);
  const out: [string, Record<string, unknown>][] = [];
  for (const field of type.fieldsArray) {
    if (field instanceof protobuf.MapField) {
      out.push([`${field.name}{key}`, { ...base, [field.name]: { [value]: "v" } }]);
      out.push([`${field.name}{value}`, { ...base, [field.name]: { k: value } }]);
    } else if (field.type === "string") {
      out.push([field.name, { ...base, [field.name]: field.repeated ? [value] : value }]);
    }
  }
  return out;
}

/** Bytes the status occupies in trailers (grpc-message is percent-encoded). */
function statusBytes(err: grpc.ServiceError): number {
  let n = Buffer.byteLength(encodeURIComponent(err.details ?? ""));
  for (const [key, values] of Object.entries(err.metadata?.getMap() ?? {})) {
    n += key.length + (Buffer.isBuffer(values) ? Math.ceil((values.length * 4) / 3) : Buffer.byteLength(String(values)));
  }
  return n;
}

for (const def of ALL_PROVIDERS) {
  describe(`${def.name}: no RPC echoes a 64 KB value`, () => {
    let p: TestProvider;
    let channel: grpc.Channel;
    let client: ProviderClient;
    let watch: grpc.ClientReadableStream<unknown>;
    let watchError: Error | undefined;
    const base: Record<string, unknown> = {};

    beforeAll(async () => {
      p = await startTestProvider(def, ["--sandbox", "--sandbox-seed-instances", "1"]);
      channel = new grpc.Channel(p.address, grpc.credentials.createInsecure(), { "grpc.max_metadata_size": 8192 });
      client = new ProviderClient(p.address, grpc.credentials.createInsecure(), { channelOverride: channel });
      const health = healthClient(p.address, grpc.credentials.createInsecure(), { channelOverride: channel });
      watch = health.Watch({ service: "" });
      watch.on("data", () => {});
      watch.on("error", (err: Error) => (watchError = err));
      const profile = def.sandboxProfile({});
      const instance = (await client.call("ListInstances", { page_size: 1 })).instances[0];
      Object.assign(base, {
        instance_id: instance.id,
        region: "",
        instance_type: profile.instanceTypes[0]!.name,
        type: profile.instanceTypes[0]!.name,
        name: "n",
        duration: "1h",
        key_pair_name: "k1",
        tunnel_id: "t1",
        command: "true",
        remote_port: 22,
      });
    });
    afterAll(async () => {
      watch?.cancel();
      client?.close();
      await p?.close();
    });

    for (const method of service.methodsArray) {
      test(method.name, async () => {
        for (const value of [HUGE, NON_ASCII]) {
          for (const [field, request] of attacks(method, base, value)) {
            const outcome = await client.call(method.name, request, { deadlineMs: 30_000 }).then(
              () => undefined,
              (err: grpc.ServiceError) => err,
            );
            if (!outcome) continue;
            const where = `${method.name} ${field}`;
            expect([where, outcome.code]).not.toEqual([where, grpc.status.UNKNOWN]);
            expect([where, outcome.code]).not.toEqual([where, grpc.status.UNAVAILABLE]);
            expect([where, outcome.code]).not.toEqual([where, grpc.status.RESOURCE_EXHAUSTED]);
            expect([where, statusBytes(outcome)]).toEqual([where, expect.any(Number)]);
            expect(statusBytes(outcome)).toBeLessThan(STATUS_BUDGET);
          }
        }
        expect(watchError).toBeUndefined();
      }, 60_000);
    }

    test("the Health Watch on the same channel is still alive", async () => {
      expect(watchError).toBeUndefined();
      const health = healthClient(p.address, grpc.credentials.createInsecure(), { channelOverride: channel });
      const status = await new Promise<string>((resolve, reject) =>
        health.Check({ service: "" }, (err: grpc.ServiceError | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
      );
      expect(status).toBe("SERVING");
    });
  });
}
