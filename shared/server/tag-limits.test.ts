// Attack: ten creates with 28,000 tags each took the sandbox from 81 to
// 601 MiB and broke the region's listing. Every provider now refuses more
// tags (or longer keys/values) than its cloud allows, before any cloud call,
// with INVALID_ARGUMENT naming the field.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { badRequestFields, grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { ALL_PROVIDERS } from "../../providers/testing";

const manyTags = (n: number, key = (i: number) => `k${i}`, value = (_i: number) => "") =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), value(i)]));

for (const def of ALL_PROVIDERS) {
  describe(`${def.name}: tag limits`, () => {
    let p: TestProvider;
    const limits = def.sandboxProfile({}).tagLimits;
    let type: string;
    beforeAll(async () => {
      p = await startTestProvider(def, ["--sandbox", "--sandbox-seed-instances", "0", "--sandbox-transition-ms", "0"]);
      type = def.sandboxProfile({}).instanceTypes[0]!.name;
    });
    afterAll(() => p.close());
    const create = (tags: Record<string, string>) => p.client.call("CreateInstance", { name: "tagged", type, tags });

    test("28,000 tags: INVALID_ARGUMENT naming tags, nothing created", async () => {
      const err = await grpcError(create(manyTags(28_000)));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["tags"]);
      expect(err.details).toContain(`at most ${limits.maxTags}`);
      expect((await p.client.call("ListInstances", {})).instances).toEqual([]);
    });

    test(`one tag over the limit (${limits.maxTags + 1}) is refused`, async () => {
      const err = await grpcError(create(manyTags(limits.maxTags + 1)));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["tags"]);
    });

    test("a key or value longer than the cloud allows is refused, naming the tag", async () => {
      const longKey = "k".repeat(limits.maxKeyLength + 1);
      const keyErr = await grpcError(create({ [longKey]: "" }));
      expect(keyErr.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(keyErr)[0]).toStartWith("tags[");
      const valueErr = await grpcError(create({ env: "v".repeat(limits.maxValueLength + 1) }));
      expect(valueErr.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(valueErr)).toEqual(["tags[env]"]);
    });

    test("exactly the limit, at the longest key and value, is accepted", async () => {
      const key = (i: number) => `k${i}`.padEnd(limits.maxKeyLength, "k");
      const res = await create(manyTags(limits.maxTags, key, () => "v".repeat(limits.maxValueLength)));
      expect(Object.keys(res.instance.tags).length).toBeGreaterThanOrEqual(limits.maxTags);
    });

    test("key pairs obey the same limits", async () => {
      const err = await grpcError(p.client.call("CreateKeyPair", { key_pair_name: "kp1", tags: manyTags(28_000) }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["tags"]);
    });

    test("listings take at most 32 filters", async () => {
      const err = await grpcError(p.client.call("ListInstances", { filters: manyTags(10_000, (i) => `tag:k${i}`, () => "x") }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["filters"]);
    });
  });
}
