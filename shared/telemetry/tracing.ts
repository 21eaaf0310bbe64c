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
import { ConfigError } from "../config";
import type { CloudSpan } from "./context";

type Env = Record<string, string | undefined>;

export interface TracingConfig {
  url: string;
  headers: Record<string, string>;
  serviceName: string;
  sampler: Sampler;
}

/** The tracing configuration from the standard OTEL_* variables; undefined = tracing off. */
export function tracingConfig(env: Env, defaultServiceName: string): TracingConfig | undefined {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").map((s) => s.trim().toLowerCase());
  if (!exporters.includes("otlp")) return undefined;
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!tracesEndpoint && !endpoint) return undefined;
  // The per-signal variable is used as is; the generic one gets the signal path (OTLP spec).
  const url = tracesEndpoint || `${endpoint!.replace(/\/+$/, "")}/v1/traces`;
  const field = tracesEndpoint ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${field}: not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new ConfigError(`${field}: expected an http:// or https:// URL`);
  return {
    url,
    headers: { ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS, "OTEL_EXPORTER_OTLP_HEADERS"), ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, "OTEL_EXPORTER_OTLP_TRACES_HEADERS") },
    serviceName: env.OTEL_SERVICE_NAME?.trim() || defaultServiceName,
    sampler: samplerFrom(env.OTEL_TRACES_SAMPLER, env.OTEL_TRACES_SAMPLER_ARG),
  };
}

/** "k1=v1,k2=v2" (values percent-encoded). The values may be credentials: errors never quote them. */
function parseHeaders(value: string | undefined, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? "").split(",")) {
    if (!pair.trim()) continue;
    const at = pair.indexOf("=");
    if (at <= 0) throw new ConfigError(`${field}: expected key=value pairs separated by commas`);
    try {
      out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new ConfigError(`${field}: a value is not valid percent-encoding`);
    }
  }
  return out;
}

function samplerFrom(name: string | undefined, arg: string | undefined): Sampler {
  const ratio = () => {
    const r = arg === undefined || arg.trim() === "" ? 1 : Number(arg);
    if (!Number.isFinite(r) || r < 0 || r > 1) throw new ConfigError("OTEL_TRACES_SAMPLER_ARG: expected a ratio between 0 and 1");
    return new TraceIdRatioBasedSampler(r);
  };
  switch ((name ?? "parentbased_always_on").trim().toLowerCase()) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio();
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio() });
    default:
      throw new ConfigError(
        "OTEL_TRACES_SAMPLER: expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
      );
  }
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
      sampler: config.sampler,
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
