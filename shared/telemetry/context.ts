// What one RPC carries for telemetry into the backends (CallContext.telemetry):
// where cloud calls are counted, and (when tracing is on) the RPC's span,
// parent of one span per cloud call.
import type { ProviderMetrics } from "./metrics";

export interface RpcTelemetry {
  metrics?: ProviderMetrics;
  /** Starts a child span of the RPC's span for one cloud call; absent = tracing off. */
  startCloudSpan?: (name: string, attributes: Record<string, string | number>) => CloudSpan;
}

export interface CloudSpan {
  end(outcome: { ok: boolean; outcome: string; attempts?: number; errorCode?: string }): void;
}
