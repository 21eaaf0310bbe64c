// WatchInstances served: the registry of shared watch engines for this
// server, the server-streaming envelope (auth, tenant, metrics, log), and
// the end of every watch at shutdown (UNAVAILABLE, so watchers reconnect to
// another replica with their resume token).
import type * as grpc from "@grpc/grpc-js";
import type { CallContext, CloudBackend } from "../provider";
import { WatchRegistry } from "../watch/registry";
import type { WatchSettings } from "../watch/settings";
import type { CallDeps } from "./calls";
import type { RegionsCache } from "./handlers/regions-cache";
import { serverStream } from "./stream-call";
import { serveWatch, type WatchRequest } from "./watch-instances";

export const WATCH_METHOD = "WatchInstances";

export interface WatchServiceOptions {
  backend: CloudBackend;
  regions: RegionsCache;
  settings: WatchSettings;
  /** Regions listed at once by a "*" watch. */
  fanoutConcurrency: number;
  /** Longest one region's listing may take per poll. */
  regionBudgetMs: number;
}

export interface WatchService {
  implementation: grpc.UntypedServiceImplementation;
  /** Ends every watch (shutdown). */
  closeAll(): void;
}

export function watchService(deps: CallDeps, opts: WatchServiceOptions): WatchService {
  const metrics = deps.metrics?.watch;
  const registry = new WatchRegistry(
    { timing: opts.settings.timing, limits: opts.settings.limits, maxEngines: opts.settings.maxEngines, lingerMs: opts.settings.lingerMs },
    { onPoll: (ok) => metrics?.poll(ok), onCutOff: () => metrics?.subscriberCutOff(), onNotice: () => metrics?.notice() },
  );
  metrics?.countWith(() => ({ engines: registry.size, subscribers: registry.subscribers }));
  const engineContext = (caller: CallContext, signal: AbortSignal): CallContext => ({
    signal,
    requestId: `watch-${caller.requestId}`,
    log: deps.log,
    telemetry: caller.telemetry,
    tenant: caller.tenant,
  });
  return {
    implementation: {
      [WATCH_METHOD]: serverStream<WatchRequest, unknown>(WATCH_METHOD, deps, (call, ctx) =>
        serveWatch(
          {
            backend: opts.backend,
            registry,
            regions: (c) => opts.regions.available(c),
            engineContext,
            regionBudgetMs: opts.regionBudgetMs,
            concurrency: opts.fanoutConcurrency,
            maxInstances: opts.settings.maxInstances,
          },
          call,
          ctx,
        ),
      ),
    },
    closeAll: () => registry.closeAll(),
  };
}
