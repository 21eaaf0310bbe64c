// A sandbox start evaluates only what serving needs: no protobufjs or
// proto-loader (health and reflection answer on hand-written codecs; the
// contract's codecs are built on the first call), no SSH library, no cloud
// SDK or auth library, no price catalog. Each of those was 3-40 ms of every
// start (scripts/BENCHMARKS.md, "Start-up to SERVING"); this keeps them off
// the start path without timing anything. One process per provider (a
// module graph is per process).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { PROVIDER_NAMES } from "./index";

async function modulesOf(provider: string): Promise<{ atServing: string[]; afterFirstMessage: string[] }> {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "start-path-modules.ts"), provider], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`start-path-modules ${provider} exited ${code}: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

for (const provider of PROVIDER_NAMES) {
  test(`${provider}: serving in sandbox mode loaded none of them; the first contract message loads protobufjs (the check sees it)`, async () => {
    const { atServing, afterFirstMessage } = await modulesOf(provider);
    expect(atServing).toEqual([]);
    expect(afterFirstMessage).toContain("protobufjs");
  }, 60_000);
}
