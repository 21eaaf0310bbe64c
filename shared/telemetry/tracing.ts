// OpenTelemetry traces, configured only from the standard environment
// (OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER and
// _ARG, OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER=none) and off unless an
// endpoint is set. Spans go out over OTLP/HTTP (JSON) in batches.
//
// One SERVER span per RPC continues the caller's W3C `traceparent` (gRPC
// metadata); each cloud request is a CLIENT child of it. The parent is
// passed explicitly (no global context manager: nothing else in the
// process creates spans, and Bun needs no async-hooks shim that way).
// Attributes hold method names, codes, regions and outcomes only: never
// request bodies, metadata, tokens or cloud credentials.
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Context, type Span, type TextMapGetter, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from "@opentelemetry/sdk-trace";
import type { SamplerSpec, TracingConfig } from "./tracing-config";
import type { CloudSpan } from "./context";

export { tracingConfig, type TracingConfig } from "./tracing-config";

/** The OpenTelemetry sampler a SamplerSpec names. */
function samplerOf(spec: SamplerSpec): Sampler {
  const root = spec.root === "always_on" ? new AlwaysOnSampler() : spec.root === "always_off" ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(spec.ratio);
  return spec.parentBased ? new ParentBasedSampler({ root }) : root;
}

const metadataGetter: TextMapGetter<{ get(key: string): unknown[] }> = {
  keys: () => ["traceparent", "tracestate"],
  get(carrier, key) {
    const v = carrier.get(key)[0];
    // Bounded: a W3C traceparent is 55 characters, tracestate at most 512.
    return typeof v === "string" && v.length <= 512 ? v : undefined;
  },
};

/** Codes the server is responsible for (OpenTelemetry's gRPC conventions for server spans). */
const SERVER_FAULTS = new Set([2, 4, 12, 13, 14, 15]); // UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS

export interface RpcSpan {
  traceId: string;
  spanId: string;
  /** Starts a CLIENT child span for one cloud request. */
  startCloudSpan(name: string, attributes: Record<string, string | number>): CloudSpan;
  end(code: number, codeName: string): void;
}

export class Tracing {
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(
    readonly config: TracingConfig,
    private readonly service: string,
  ) {
    const exporter = new OTLPTraceExporter({ url: config.url, headers: config.headers });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ "service.name": config.serviceName }),
      sampler: samplerOf(config.sampler),
      spanProcessors: [new BatchSpanProcessor({ exporter })],
      spanLimits: { attributeValueLengthLimit: 256, attributeCountLimit: 32 },
    });
    this.tracer = this.provider.getTracer("skyclust-provider");
  }

  /** The SERVER span of one RPC, continuing the caller's traceparent when it sent a valid one. */
  startRpc(method: string, metadata: { get(key: string): unknown[] }, attributes: Attributes): RpcSpan {
    const parent: Context = this.propagator.extract(context.active(), metadata, metadataGetter);
    const span: Span = this.tracer.startSpan(
      `${this.service}/${method}`,
      { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc", "rpc.service": this.service, "rpc.method": method, ...attributes } },
      parent,
    );
    const own = trace.setSpan(parent, span);
    const { traceId, spanId } = span.spanContext();
    return {
      traceId,
      spanId,
      startCloudSpan: (name, attrs) => {
        const child = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: attrs }, own);
        return {
          end(outcome) {
            child.setAttribute("skyclust.cloud.outcome", outcome.outcome);
            if (outcome.attempts !== undefined) child.setAttribute("skyclust.cloud.attempts", outcome.attempts);
            if (outcome.errorCode) child.setAttribute("skyclust.error_code", outcome.errorCode);
            if (!outcome.ok) child.setStatus({ code: SpanStatusCode.ERROR });
            child.end();
          },
        };
      },
      end(code, codeName) {
        span.setAttribute("rpc.grpc.status_code", code);
        span.setAttribute("skyclust.grpc_code", codeName);
        if (SERVER_FAULTS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    };
  }

  /** Sends what is buffered and stops (after the drain, at shutdown). */
  async shutdown(): Promise<void> {
    await this.provider.shutdown().catch(() => {});
  }
}
