// A sandbox start evaluates only what serving needs: no protobufjs or
// proto-loader (health and reflection answer on hand-written codecs; the
// contract's codecs are built on the first call), no SSH library, no cloud
// SDK or auth library, no price catalog. Each of those was 3-40 ms of every
// start (scripts/BENCHMARKS.md, "Start-up to SERVING"); this keeps them off
// the start path without timing anything. One process per provider (a
// module graph is per process).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runModuleProbe } from "../shared/testing/module-probe";
import { PROVIDER_NAMES } from "./index";

const modulesOf = (provider: string) =>
  runModuleProbe<{ atServing: string[]; afterFirstMessage: string[] }>(join(import.meta.dir, "start-path-modules.ts"), [provider]);

for (const provider of PROVIDER_NAMES) {
  test(`${provider}: serving in sandbox mode loaded none of them; the first contract message loads protobufjs (the check sees it)`, async () => {
    const { atServing, afterFirstMessage } = await modulesOf(provider);
    expect(atServing).toEqual([]);
    expect(afterFirstMessage).toContain("protobufjs");
  }, 60_000);
}
