// Bearer tokens (--auth-token-file): scopes per RPC over all 21 methods,
// UNAUTHENTICATED vs PERMISSION_DENIED, rotation without restart, the file
// mode check, tokens never logged, health and reflection open.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { awsProvider } from "../../providers/aws/definition";
import { ConfigError } from "../config";
import { PROTOBUF_JSON } from "../grpc/descriptor-set.generated";
import { SERVICE_NAME } from "../grpc/descriptors";
import { grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { healthStatus } from "../testing/health-client";
import { ReflectionClient } from "../testing/reflection-client";
import { METHOD_SCOPES, type Scope } from "./auth/scopes";

const SERVICE = protobuf.Root.fromJSON(JSON.parse(PROTOBUF_JSON)).lookupService(SERVICE_NAME);
const METHODS = SERVICE.methodsArray.map((m) => m.name);
/** Client-streaming methods (TunnelInstancePort): called by opening the stream and ending it at once. */
const STREAMING = new Set(SERVICE.methodsArray.filter((m) => m.requestStream).map((m) => m.name));
const TOKENS: Record<string, Scope[]> = {
  "reader-3b9c1f0e7d": ["read"],
  "writer-a81e44c2b6": ["read", "write"],
  "shell-5d02f7e9c1": ["ssh"],
  "admin-c47a90d3e2": ["read", "write", "ssh"],
};

let dir: string;
let tokenFile: string;
let p: TestProvider;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
function streamOutcome(method: string, metadata: Record<string, string> = {}): Promise<number> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const stream = (p.client.raw[method] as (m: grpc.Metadata) => grpc.ClientDuplexStream<unknown, unknown>).call(p.client.raw, md);
  stream.on("data", () => {});
  const code = new Promise<number>((resolve) => {
    stream.on("error", (e: grpc.ServiceError) => resolve(e.code));
    stream.on("status", (st: grpc.StatusObject) => st.code === grpc.status.OK && resolve(grpc.status.OK));
  });
  stream.end();
  return code;
}
const outcome = (method: string, metadata?: Record<string, string>) =>
  STREAMING.has(method) ? streamOutcome(method, metadata) : p.client.call(method, {}, { metadata, deadlineMs: 10_000 }).then(
    () => grpc.status.OK,
    (err: grpc.ServiceError) => err.code,
  );

beforeAll(async () => {
  dir = mkdtempSync("/tmp/skyclust-tokens-");
  tokenFile = join(dir, "tokens");
  writeFileSync(tokenFile, "# token scopes\n" + Object.entries(TOKENS).map(([t, s]) => `${t} ${s.join(",")}  # ${s.join("+")}`).join("\n") + "\n", { mode: 0o600 });
  p = await startTestProvider(awsProvider, ["--sandbox", "--auth-token-file", tokenFile]);
});
afterAll(async () => {
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("bearer tokens", () => {
  test("every one of the 21 methods has a scope", () => {
    expect(METHODS.length).toBe(21);
    expect(METHODS.filter((m) => !METHOD_SCOPES[m])).toEqual([]);
  });

  test("without a token, or with a wrong or malformed one, every method is UNAUTHENTICATED", async () => {
    for (const method of METHODS) {
      expect([method, await outcome(method)]).toEqual([method, grpc.status.UNAUTHENTICATED]);
      expect([method, await outcome(method, bearer("not-a-token"))]).toEqual([method, grpc.status.UNAUTHENTICATED]);
      expect([method, await outcome(method, { authorization: "reader-3b9c1f0e7d" })]).toEqual([method, grpc.status.UNAUTHENTICATED]);
    }
    const err = await grpcError(p.client.call("ListRegions"));
    expect(err.details).toContain("authorization: Bearer");
  });

  test("each token reaches exactly the methods of its scopes (table over 21 methods x 4 tokens)", async () => {
    for (const [token, scopes] of Object.entries(TOKENS)) {
      for (const method of METHODS) {
        const code = await outcome(method, bearer(token));
        const allowed = scopes.includes(METHOD_SCOPES[method]!);
        const row = `${scopes.join(",")} ${method}`;
        if (allowed) {
          // Past the gate: the call itself may still fail (empty request), never on access.
          expect([row, code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED]).toEqual([row, false]);
        } else {
          expect([row, code]).toEqual([row, grpc.status.PERMISSION_DENIED]);
        }
      }
    }
  });

  test("health and reflection need no token", async () => {
    expect(await healthStatus(p.address)).toBe("SERVING");
    expect(await new ReflectionClient(p.address).listServices()).toContain(SERVICE_NAME);
  });

  test("tokens never reach the log", () => {
    const logs = p.logs.join("\n");
    for (const token of Object.keys(TOKENS)) expect(logs).not.toContain(token);
    expect(logs).not.toContain("not-a-token");
  });

  test("rotation: a rewritten file takes effect without a restart", async () => {
    expect(await outcome("ListRegions", bearer("reader-3b9c1f0e7d"))).toBe(grpc.status.OK);
    writeFileSync(tokenFile, "rotated-77e1c2d9aa read\n", { mode: 0o600 });
    await Bun.sleep(1100); // the file is re-checked at most once a second
    expect(await outcome("ListRegions", bearer("reader-3b9c1f0e7d"))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await outcome("ListRegions", bearer("rotated-77e1c2d9aa"))).toBe(grpc.status.OK);
    // A broken new version keeps the last good one in force.
    writeFileSync(tokenFile, "rotated-77e1c2d9aa no-such-scope\n", { mode: 0o600 });
    await Bun.sleep(1100);
    expect(await outcome("ListRegions", bearer("rotated-77e1c2d9aa"))).toBe(grpc.status.OK);
  });
});

describe("token file checks at start", () => {
  test("a file readable by group or others is refused", async () => {
    const loose = join(dir, "loose");
    writeFileSync(loose, "t0k3n-1234567 read\n");
    chmodSync(loose, 0o644);
    await expect(startTestProvider(awsProvider, ["--sandbox", "--auth-token-file", loose])).rejects.toThrow(ConfigError);
    await expect(startTestProvider(awsProvider, ["--sandbox", "--auth-token-file", loose])).rejects.toThrow(/readable by others/);
  });

  test("a line without scopes, or with an unknown scope, is refused without echoing the token", async () => {
    for (const content of ["s3cr3t-token-a\n", "s3cr3t-token-a admin\n"]) {
      const bad = join(dir, "bad");
      writeFileSync(bad, content, { mode: 0o600 });
      const err = await startTestProvider(awsProvider, ["--sandbox", "--auth-token-file", bad]).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect(err!.message).not.toContain("s3cr3t");
    }
  });
});
