// The embedded descriptors must match proto/ exactly: a stale generated
// file would serve an old contract.
import { expect, test } from "bun:test";
import { join } from "node:path";

test("shared/grpc/descriptor-set.generated.ts is up to date with proto/", () => {
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "gen-descriptors.ts"), "--check"]);
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
});
