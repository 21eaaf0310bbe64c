// Everything around one unary RPC that is not the RPC itself: request id,
// the caller's deadline turned into an AbortSignal, cancellation, in-flight
// accounting for graceful shutdown, one structured log line, and mapping
// the outcome to a gRPC status.
import { runInCallScope } from "../cloud/call-scope";
import * as grpc from "@grpc/grpc-js";
import { randomUUID } from "node:crypto";
import { ProviderError, deadlineExceeded, unavailable } from "../errors";
import type { Logger } from "../log";
import type { CallContext } from "../provider";
import type { AccessPolicy } from "./auth/access";
import { takeLastReplyBytes, type ReplyBudget } from "./reply-budget";
import { codeName, toGrpcError } from "./grpc-errors";
import type { ProviderMetrics } from "../telemetry/metrics";
import type { Tracing } from "../telemetry/tracing";
import { authFailureReason } from "./auth/access";
import type { TenantResolver } from "../tenancy/resolver";
import { tenantScope } from "../tenancy/scope";

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Counts calls in flight so shutdown can wait for them to drain. */
export class InflightCalls {
  private count = 0;
  private idleWaiters: (() => void)[] = [];
  /** Unary calls' cancellations for the end of the grace period: a Set is cheaper per call than a listener on forceAbort. */
  private readonly onForce = new Set<() => void>();
  /** Fired when the grace period ends: cancels cloud calls still running. */
  readonly forceAbort = new AbortController();

  constructor() {
    this.forceAbort.signal.addEventListener("abort", () => {
      for (const cancel of [...this.onForce]) cancel();
      this.onForce.clear();
    });
  }

  get size(): number {
    return this.count;
  }
  /** `onForce` runs if the grace period ends while the call is in flight. */
  enter(onForce?: () => void): void {
    this.count++;
    if (onForce && !this.forceAbort.signal.aborted) this.onForce.add(onForce);
  }
  leave(onForce?: () => void): void {
    if (onForce) this.onForce.delete(onForce);
    this.count--;
    if (this.count === 0 && this.idleWaiters.length > 0) for (const w of this.idleWaiters.splice(0)) w();
  }
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

export interface CallDeps {
  log: Logger;
  inflight: InflightCalls;
  /** Authentication and scopes; absent = every caller may call everything. */
  access?: AccessPolicy;
  /** Bounds unread replies (memory); absent = unbounded. */
  replies?: ReplyBudget;
  /** Prometheus instruments; absent = --metrics-addr not set. */
  metrics?: ProviderMetrics;
  /** OpenTelemetry (OTEL_* environment); absent = tracing off. */
  tracing?: Tracing;
  /** Per-call credentials: picks the tenant's backend; absent = one identity. */
  tenancy?: TenantResolver;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>;

/** The caller's "x-request-id" when it is a sane id, else a new one (every call kind: unary and streams). */
export function requestIdOf(metadata: grpc.Metadata): string {
  const given = metadata.get("x-request-id")[0];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The caller's deadline, if it set one. */
export function deadlineOf(call: { getDeadline(): grpc.Deadline }): Date | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : Number(d);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : undefined;
}

/**
 * Wraps a handler. Per call this allocates little on purpose (it is most of
 * what a provider adds to a bare grpc-js server, scripts/BENCHMARKS.md):
 * one listener on the stream's close serves both the reply budget and
 * cancellation, the deadline and the shutdown cancel the handler directly
 * (no race against an abort promise), and the outcome is handled once.
 */
export function unary<Req, Res>(method: string, deps: CallDeps, handler: UnaryHandler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = performance.now();
    const metrics = deps.metrics;
    metrics?.rpcStarted(method);
    // Read now: once the stream has ended grpc-js reports the peer as "unknown".
    const peer = call.getPeer();
    const replies = deps.replies;
    if (replies) {
      const refused = replies.refusal(peer);
      if (refused) {
        const count = replies.refused();
        if (count !== undefined) deps.log.warn("rpc", { method, code: "RESOURCE_EXHAUSTED", peer, reason: refused, refused_calls: count });
        callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `${refused}; retry later` } as grpc.ServiceError, null);
        metrics?.rpcHandled(method, grpc.status.RESOURCE_EXHAUSTED, (performance.now() - started) / 1000);
        return;
      }
      replies.enter();
    }
    const requestId = requestIdOf(call.metadata);
    const span = deps.tracing?.startRpc(method, call.metadata, { "skyclust.request_id": requestId });
    const log = deps.log.child(span ? { request_id: requestId, trace_id: span.traceId, span_id: span.spanId } : { request_id: requestId });
    const controller = new AbortController();
    const deadline = deadlineOf(call);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    let closed = false;
    let held = 0;

    /** Cancels the handler (its signal) and answers with `reason` on the next microtask, unless it has answered. */
    const abort = (reason: ProviderError) => {
      if (settled || controller.signal.aborted) return;
      controller.abort(reason);
      queueMicrotask(() => fail(reason));
    };
    // grpc-js reports every stream's close, read to the end or not, as
    // "cancelled": the reply budget is held until then, and a call still
    // running is cancelled by the caller.
    const onClose = () => {
      if (closed) return;
      closed = true;
      if (replies) replies.leave(peer, held);
      // Most closes come after the reply: no error (and its stack) to make then.
      if (!settled) abort(new ProviderError("CANCELLED", `${method}: cancelled by the caller`));
    };
    call.on("cancelled", onClose);
    if (deadline) {
      const ms = Math.max(0, deadline.getTime() - Date.now());
      timer = setTimeout(() => abort(deadlineExceeded(`${method}: the caller's deadline passed`)), Math.min(ms, 2 ** 31 - 1));
    }
    const onForce = () => abort(unavailable(`${method}: the provider is shutting down`));
    deps.inflight.enter(onForce);

    const ctx: CallContext = {
      signal: controller.signal,
      deadline,
      requestId,
      log,
      telemetry: metrics || span ? { metrics, startCloudSpan: span?.startCloudSpan } : undefined,
    };

    const finish = (code: grpc.status) => {
      if (timer) clearTimeout(timer);
      // The budget's part of the listener stays until the stream closes.
      if (!replies) call.removeListener("cancelled", onClose);
      deps.inflight.leave(onForce);
      metrics?.rpcHandled(method, code, (performance.now() - started) / 1000);
      span?.end(code, codeName(code));
      const fields = { method, code: codeName(code), duration_ms: Math.round((performance.now() - started) * 10) / 10, peer };
      if (code === grpc.status.OK || code === grpc.status.NOT_FOUND || code === grpc.status.INVALID_ARGUMENT) log.info("rpc", fields);
      else log.warn("rpc", fields);
    };
    const succeed = (response: Res) => {
      if (settled) return;
      settled = true;
      const trailer = new grpc.Metadata();
      trailer.set("x-request-id", requestId);
      takeLastReplyBytes();
      callback(null, response, trailer);
      const bytes = takeLastReplyBytes();
      if (replies && !closed && bytes > 0) {
        held = bytes;
        replies.hold(peer, bytes);
      }
      finish(grpc.status.OK);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      const mapped = toGrpcError(err);
      mapped.status.metadata ??= new grpc.Metadata();
      mapped.status.metadata.set("x-request-id", requestId);
      callback(mapped.status as grpc.ServiceError, null);
      if (mapped.logDetail) log.error("unexpected error", { method, error: mapped.logDetail });
      finish(mapped.status.code);
    };

    let result: Promise<Res>;
    try {
      if (deps.access) {
        try {
          deps.access.check(method, call, peer);
        } catch (err) {
          metrics?.authFailure(authFailureReason(err));
          throw err;
        }
      }
      // In scope, the backends' HTTP clients find the call's telemetry and deadline (shared/cloud/call-scope.ts).
      result = runInCallScope(ctx, deps.tenancy ? () => inTenantScope(deps.tenancy!, call, peer, ctx, handler) : () => handler(call.request, ctx, call));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(succeed, fail);
  };
}

/**
 * The tenant's backend is leased until the handler settles (not just until
 * the reply), so eviction never closes it under a running call.
 */
async function inTenantScope<Req, Res>(
  tenancy: TenantResolver,
  call: grpc.ServerUnaryCall<Req, Res>,
  peer: string,
  ctx: CallContext,
  handler: UnaryHandler<Req, Res>,
): Promise<Res> {
  const entered = await tenancy.enter(call, peer, ctx);
  try {
    return await tenantScope.run(entered.scope, () => handler(call.request, ctx, call));
  } finally {
    entered.release();
  }
}
