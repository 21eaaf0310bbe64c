// WatchInstances: validates the request, finds (or starts) the shared watch
// engine for (tenant, region, filters) and streams its events to this
// caller, respecting the caller's flow control: when the call's send
// buffer is full the engine queues for it (bounded) instead of writing
// more, and a caller that falls too far behind is cut off with
// RESOURCE_EXHAUSTED while the other subscribers go on.
import type * as grpc from "@grpc/grpc-js";
import { ProviderError } from "../errors";
import type { CallContext, CloudBackend } from "../provider";
import { WatchError, type Subscriber, type WatchEvent } from "../watch/engine";
import type { WatchRegistry } from "../watch/registry";
import { RelistSource } from "../watch/relist-source";
import { decodeResumeToken, encodeResumeToken, watchQueryKey } from "../watch/resume-token";
import { tenantScope } from "../tenancy/scope";
import { instanceToWire, toTimestamp } from "./convert";
import { defaultRegionOf } from "./handlers/env";
import { checkRegion, checkStringMap } from "./validation";

export interface WatchRequest {
  region?: string;
  filters?: Record<string, string>;
  resume_token?: string;
}

export interface WatchServiceOptions {
  backend: CloudBackend;
  registry: WatchRegistry;
  /** Available regions (cached by the service layer). */
  regions(ctx: CallContext): Promise<string[]>;
  /** Builds the context the engine's own cloud calls run with (no caller's deadline: the engine outlives callers). */
  engineContext(caller: CallContext, signal: AbortSignal): CallContext;
  regionBudgetMs: number;
  concurrency: number;
  maxInstances: number;
}

function toProviderError(err: WatchError): ProviderError {
  return new ProviderError(err.code, err.message);
}

/**
 * Streams events to `call` until the caller leaves (resolves), or the
 * stream must end with a status (rejects with a ProviderError).
 */
export async function serveWatch(opts: WatchServiceOptions, call: grpc.ServerWritableStream<WatchRequest, unknown>, ctx: CallContext): Promise<void> {
  const req = call.request ?? {};
  const backend = opts.backend;
  const regionValue = checkRegion("region", req.region, true);
  const filters = checkStringMap("filters", req.filters);
  const region = regionValue === "" ? await defaultRegionOf(backend, ctx.signal) : regionValue;
  const tenant = ctx.tenant ?? "";
  const queryKey = watchQueryKey(tenant, region, filters);
  const token = (req.resume_token ?? "").trim();
  const after = token ? decodeResumeToken(token, queryKey) : undefined;

  // With per-call credentials, the tenant's own backend (the call's scope),
  // since the engine's polls run outside any one call.
  const cloud = tenantScope.getStore()?.backend ?? backend;
  const engine = opts.registry.engine(
    queryKey,
    () =>
      new RelistSource({
        backend: cloud,
        region,
        filters,
        regions: (c) => opts.regions(c),
        context: (signal) => opts.engineContext(ctx, signal),
        regionBudgetMs: opts.regionBudgetMs,
        concurrency: opts.concurrency,
        maxInstances: opts.maxInstances,
      }),
  );

  if (engine.source instanceof RelistSource) engine.source.useBackend(cloud);

  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: ProviderError) => {
      if (done) return;
      done = true;
      call.removeListener("drain", onDrain);
      ctx.signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    const toWire = (e: WatchEvent) => ({
      type: e.type,
      instance: e.instance ? instanceToWire(e.instance, backend.provider) : null,
      observed_at: toTimestamp(e.observedAt),
      resume_token: encodeResumeToken({ epoch: engine.epoch, seq: e.seq }, queryKey),
      region: e.region ?? "",
      message: e.message ?? "",
    });
    const subscriber: Subscriber = {
      push: (e) => call.write(toWire(e)),
      end: (err) => {
        subscription?.close();
        finish(err ? toProviderError(err) : undefined);
      },
    };
    let subscription: ReturnType<typeof engine.subscribe> | undefined;
    const onDrain = () => subscription?.resume();
    const onAbort = () => {
      subscription?.close();
      // The caller left or the server is stopping: the wrapper reports why (the signal's reason).
      const reason = ctx.signal.reason;
      finish(reason instanceof ProviderError ? reason : undefined);
    };
    try {
      subscription = engine.subscribe(subscriber, after);
    } catch (err) {
      finish(err instanceof WatchError ? toProviderError(err) : (err as ProviderError));
      return;
    }
    call.on("drain", onDrain);
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
}
