// Everything around one server-streaming RPC that is not the RPC itself,
// as calls.ts does for unary ones: request id, the caller's deadline and
// cancellation as an AbortSignal, authentication and scopes, the tenant of
// per-call credentials (leased for the stream's life), metrics, one log
// line when the stream ends, and the final status.
//
// Long-lived streams (watches) are not counted as calls in flight: a
// graceful shutdown does not wait for them (they would hold it for the
// whole grace period) but ends them with UNAVAILABLE, so clients reconnect
// to another replica.
import * as grpc from "@grpc/grpc-js";
import { ProviderError, deadlineExceeded, unavailable } from "../errors";
import type { CallContext } from "../provider";
import { tenantScope } from "../tenancy/scope";
import { authFailureReason } from "./auth/access";
import { deadlineOf, requestIdOf, type CallDeps } from "./calls";
import { codeName, toGrpcError } from "./grpc-errors";

/**
 * Serves one server-streaming call: `body` writes to the call and resolves
 * when the stream should end OK, or rejects with the status to end it with.
 */
export function serverStream<Req, Res>(
  method: string,
  deps: CallDeps,
  body: (call: grpc.ServerWritableStream<Req, Res>, ctx: CallContext) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const started = performance.now();
    const metrics = deps.metrics;
    metrics?.rpcStarted(method, "server_stream");
    const peer = call.getPeer();
    const requestId = requestIdOf(call.metadata);
    const log = deps.log.child({ request_id: requestId });
    const controller = new AbortController();
    const deadline = deadlineOf(call);
    const timer = deadline
      ? setTimeout(() => controller.abort(deadlineExceeded(`${method}: the caller's deadline passed`)), Math.min(Math.max(0, deadline.getTime() - Date.now()), 2 ** 31 - 1))
      : undefined;
    const onCancelled = () => controller.abort(new ProviderError("CANCELLED", `${method}: cancelled by the caller`));
    call.on("cancelled", onCancelled);
    const onForce = () => controller.abort(unavailable(`${method}: the provider is shutting down; reconnect`));
    deps.inflight.forceAbort.signal.addEventListener("abort", onForce, { once: true });
    const ctx: CallContext = { signal: controller.signal, deadline, requestId, log, telemetry: metrics ? { metrics } : undefined };
    let release = () => {};

    const run = async () => {
      try {
        deps.access?.check(method, call, peer);
      } catch (err) {
        metrics?.authFailure(authFailureReason(err));
        throw err;
      }
      const entered = deps.tenancy ? await deps.tenancy.enter(call, peer, ctx) : undefined;
      if (!entered) return body(call, ctx);
      release = entered.release;
      return tenantScope.run(entered.scope, () => body(call, ctx));
    };
    run()
      .then(
        () => {
          if (!call.cancelled) call.end();
          return grpc.status.OK;
        },
        (err: unknown) => {
          const mapped = toGrpcError(err);
          mapped.status.metadata ??= new grpc.Metadata();
          mapped.status.metadata.set("x-request-id", requestId);
          if (!call.cancelled) call.emit("error", mapped.status);
          if (mapped.logDetail) log.error("unexpected error", { method, error: mapped.logDetail });
          return mapped.status.code ?? grpc.status.UNKNOWN;
        },
      )
      .then((code) => {
        if (timer) clearTimeout(timer);
        release();
        call.removeListener("cancelled", onCancelled);
        deps.inflight.forceAbort.signal.removeEventListener("abort", onForce);
        metrics?.rpcHandled(method, code, (performance.now() - started) / 1000, "server_stream");
        const fields = { method, code: codeName(code), duration_ms: Math.round(performance.now() - started), peer };
        if (code === grpc.status.OK || code === grpc.status.CANCELLED || code === grpc.status.UNAVAILABLE) log.info("rpc", fields);
        else log.warn("rpc", fields);
      });
  };
}
