// Waiting for a Compute Engine operation. operations.wait returns when the
// operation is DONE *or* after about two minutes, whichever is first, so it
// is called in a loop. A failed wait call is only ever retried as a wait:
// the mutation that started the operation is never sent again from here.
import type { google } from "@google-cloud/compute/build/protos/protos";
import { abortError, unavailable, type ProviderError } from "../../shared/errors";
import type { CallContext } from "../../shared/provider";
import { operationError } from "./errors";
import { abortableSleep, gceCall, WAIT_TIMEOUT_MS, type GceClients } from "./gce-api";
import { lastSegment } from "./instances";

export type GceOperation = google.cloud.compute.v1.IOperation;

export interface OperationScope {
  project: string;
  /** Zone name for a zonal operation; absent for a global one. */
  zone?: string;
}

/** The Operation inside what the generated client resolves to (a LRO wrapper or the operation itself). */
export function unwrapOperation(result: unknown): GceOperation {
  const r = result as { latestResponse?: GceOperation } & GceOperation;
  return r?.latestResponse ?? r;
}

/**
 * Waits until `op` is DONE and returns it; throws the operation's own error
 * mapped to a boundary code, or the caller's deadline.
 */
/** Failed wait calls in a row after which we stop (only matters without a caller deadline). */
const MAX_FAILED_WAITS = 10;

export async function waitForOperation(ctx: CallContext, clients: GceClients, scope: OperationScope, start: GceOperation, field?: string): Promise<GceOperation> {
  let op = start;
  let rounds = 0;
  let failedWaits = 0;
  while (op.status !== "DONE") {
    const name = op.name ?? "";
    const began = Date.now();
    try {
      const [next] = scope.zone
        ? await gceCall(ctx, "zoneOperations.wait", { safe: true, blame: "provider", timeoutMs: WAIT_TIMEOUT_MS }, (o) =>
            clients.zoneOperations.wait({ project: scope.project, zone: scope.zone ?? lastSegment(op.zone), operation: name }, o),
          )
        : await gceCall(ctx, "globalOperations.wait", { safe: true, blame: "provider", timeoutMs: WAIT_TIMEOUT_MS }, (o) =>
            clients.globalOperations.wait({ project: scope.project, operation: name }, o),
          );
      op = next as GceOperation;
      failedWaits = 0;
    } catch (err) {
      const e = err as ProviderError;
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      // The wait itself failed (outage, throttling) even after gceCall's own
      // retries: keep waiting, never redo the mutation.
      if (e.code !== "UNAVAILABLE" && e.code !== "RESOURCE_EXHAUSTED" && e.code !== "DEADLINE_EXCEEDED") throw e;
      if (++failedWaits >= MAX_FAILED_WAITS) {
        throw unavailable(`lost track of Compute Engine operation ${name} (${op.operationType ?? "operation"}); it may still complete: check the resource before retrying`, { cloudCode: e.details.cloudCode });
      }
      ctx.log.warn("waiting for a Compute Engine operation failed; still waiting", { operation: name, code: e.code });
    }
    rounds++;
    // A wait that came back quickly without DONE: back off a little so a
    // misbehaving endpoint is not hammered.
    if (op.status !== "DONE" && Date.now() - began < 1000) {
      try {
        await abortableSleep(Math.min(2000, 100 * 2 ** Math.min(rounds, 5)), ctx.signal);
      } catch {
        throw abortError(ctx.signal);
      }
    }
  }
  const failure = operationError(op, field);
  if (failure) throw failure;
  return op;
}
