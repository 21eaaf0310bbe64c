// Protected mode, observed from a real non-loopback address: a client runs
// in a network namespace this test creates (veth pair, 10.213.N.0/30) and
// calls the provider on the host side of the pair. With a real cloud
// backend (EC2 on moto) and no authentication configured, such callers are
// UNAUTHENTICATED with a message naming the options; loopback callers,
// --allow-unauthenticated, tokens and the sandbox behave as documented.
// Health stays open so probes from the node work.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { startMoto, type MotoServer } from "../../providers/aws/moto-server";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { createNetns, type TestNetns } from "../testing/netns";

const CALL_ONCE = join(import.meta.dir, "..", "testing", "call-once.ts");
const AWS_ENV = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
let moto: MotoServer;
let netns: TestNetns;
let dir: string;

beforeAll(async () => {
  netns = createNetns();
  moto = await startMoto();
  dir = mkdtempSync("/tmp/skyclust-protected-");
}, 90_000);
afterAll(async () => {
  netns?.remove();
  await moto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A provider listening on the veth's host address and on loopback (0.0.0.0). */
async function provider(args: string[]): Promise<TestProvider> {
  return startTestProvider(awsProvider, ["--host", "0.0.0.0", "--endpoint", moto.url, "--region", "us-east-1", "--max-attempts", "1", ...args], AWS_ENV);
}

async function fromNamespace(p: TestProvider, method: string, token?: string): Promise<{ code: number; details: string }> {
  const r = await netns.run([process.execPath, CALL_ONCE, `${netns.hostAddress}:${p.port}`, method, ...(token ? [token] : [])]);
  if (r.code !== 0 || !r.stdout.trim()) throw new Error(`client in ${netns.name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

describe("protected mode (real cloud, no authentication configured)", () => {
  test("a non-loopback caller is UNAUTHENTICATED, told how to configure access; loopback and health are open", async () => {
    const p = await provider([]);
    try {
      const remote = await fromNamespace(p, "ListRegions");
      expect(remote.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(remote.details).toContain("--auth-token-file");
      expect(remote.details).toContain("--allow-unauthenticated");
      expect(remote.details).toContain("--tls-client-ca");
      for (const method of ["CreateInstance", "ExecuteInstanceCommand", "DeleteKeyPair"]) {
        expect((await fromNamespace(p, method)).code).toBe(grpc.status.UNAUTHENTICATED);
      }
      expect(await fromNamespace(p, "health")).toEqual({ code: grpc.status.OK, details: "SERVING" });
      expect((await p.client.call("ListRegions", {}, { deadlineMs: 30_000 })).regions.length).toBeGreaterThan(0);
      expect(p.logs.join("\n")).toContain("protected mode");
    } finally {
      await p.close();
    }
  }, 60_000);

  test("--allow-unauthenticated answers non-loopback callers", async () => {
    const p = await provider(["--allow-unauthenticated"]);
    try {
      expect((await fromNamespace(p, "ListRegions")).code).toBe(grpc.status.OK);
    } finally {
      await p.close();
    }
  }, 60_000);

  test("with tokens, a non-loopback caller with a token is answered and one without is not", async () => {
    const tokens = join(dir, "tokens");
    writeFileSync(tokens, "remote-caller-9f1e2d read\n", { mode: 0o600 });
    const p = await provider(["--auth-token-file", tokens]);
    try {
      expect((await fromNamespace(p, "ListRegions", "remote-caller-9f1e2d")).code).toBe(grpc.status.OK);
      expect((await fromNamespace(p, "ListRegions")).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await fromNamespace(p, "CreateInstance", "remote-caller-9f1e2d")).code).toBe(grpc.status.PERMISSION_DENIED);
    } finally {
      await p.close();
    }
  }, 60_000);

  test("the sandbox is not restricted", async () => {
    const p = await startTestProvider(awsProvider, ["--host", "0.0.0.0", "--sandbox"]);
    try {
      expect((await fromNamespace(p, "ListRegions")).code).toBe(grpc.status.OK);
    } finally {
      await p.close();
    }
  }, 60_000);
});
