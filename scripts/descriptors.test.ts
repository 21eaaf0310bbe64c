// The embedded descriptors and the generated service types must match
// proto/ exactly: a stale generated file would serve an old contract, or
// type the handlers against one.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { buildServiceTypes, staleTypeFiles } from "./gen-descriptors";

test("shared/grpc/descriptor-set.generated.ts and shared/grpc/types/ are up to date with proto/", () => {
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "gen-descriptors.ts"), "--check"]);
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
});

test("the staleness check sees a changed, a missing and an extra type file (so it cannot pass vacuously)", async () => {
  const fresh = await buildServiceTypes();
  expect(fresh.get("skyclust/provider/v1/CreateInstanceRequest.ts")).toContain("'idempotency_key': (string);");
  expect(staleTypeFiles(fresh, new Map(fresh))).toEqual([]);
  const edited = new Map(fresh);
  edited.set("skyclust/provider/v1/Instance.ts", "// hand-edited\n");
  edited.delete("skyclust/provider/v1/Zone.ts");
  edited.set("skyclust/provider/v1/Removed.ts", "export {};\n");
  expect(staleTypeFiles(fresh, edited)).toEqual(["skyclust/provider/v1/Instance.ts", "skyclust/provider/v1/Removed.ts", "skyclust/provider/v1/Zone.ts"]);
});
