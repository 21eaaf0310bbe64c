// The caller's deadline reaches the backend as an aborted AbortSignal, and
// the caller gets DEADLINE_EXCEEDED at its deadline, not when the cloud
// call would have finished.
import { expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { awsProvider } from "../../providers/aws/definition";
import { createSandbox } from "../main";
import type { CallContext, Region } from "../provider";
import { grpcError } from "../testing/client";
import { startTestServerWithBackend } from "../testing/harness";
import { parseArgs } from "../config";
import { allFlags } from "../main";

test("a deadline aborts the backend's signal and fails the call with DEADLINE_EXCEEDED", async () => {
  const { settings } = parseArgs(allFlags(awsProvider), ["--sandbox"], {});
  const backend = createSandbox(awsProvider, settings);
  let seen: { aborted: boolean; reason?: string } | undefined;
  backend.listRegions = (ctx: CallContext) =>
    new Promise<Region[]>((_, reject) => {
      ctx.signal.addEventListener("abort", () => {
        seen = { aborted: true, reason: String((ctx.signal.reason as Error)?.message) };
        reject(ctx.signal.reason);
      });
    });
  const server = await startTestServerWithBackend(backend);
  try {
    const started = Date.now();
    const err = await grpcError(server.client.call("ListRegions", {}, { deadlineMs: 300 }));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // Give the server's own timer a moment to fire after the client's.
    const until = Date.now() + 2000;
    while (!seen && Date.now() < until) await Bun.sleep(10);
    expect(seen?.aborted).toBe(true);
    // The client cancels the stream at its deadline; either event aborts.
    expect(seen?.reason).toMatch(/deadline|cancelled/);
    expect(Date.now() - started).toBeLessThan(10_000);
  } finally {
    await server.close();
  }
});

test("a cancelled call aborts the backend's signal", async () => {
  const { settings } = parseArgs(allFlags(awsProvider), ["--sandbox"], {});
  const backend = createSandbox(awsProvider, settings);
  let aborted = false;
  let entered = false;
  backend.listRegions = (ctx: CallContext) =>
    new Promise<Region[]>((_, reject) => {
      entered = true;
      ctx.signal.addEventListener("abort", () => {
        aborted = true;
        reject(ctx.signal.reason);
      });
    });
  const server = await startTestServerWithBackend(backend);
  try {
    const call = (server.client.raw as any).ListRegions({}, () => {});
    while (!entered) await Bun.sleep(10);
    call.cancel();
    const until = Date.now() + 2000;
    while (!aborted && Date.now() < until) await Bun.sleep(10);
    expect(aborted).toBe(true);
  } finally {
    await server.close();
  }
});
