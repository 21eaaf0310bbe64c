// The tracing configuration from the standard OTEL_* variables, read
// without loading OpenTelemetry: main.ts imports the SDK (tracing.ts) only
// when this says tracing is on, so a provider without it pays nothing.
import { ConfigError } from "../config";

type Env = Record<string, string | undefined>;

/** Which sampler the OTEL_TRACES_SAMPLER variables ask for (built by tracing.ts). */
export interface SamplerSpec {
  root: "always_on" | "always_off" | "ratio";
  ratio: number;
  /** Follow the caller's sampling decision when a traceparent comes in. */
  parentBased: boolean;
}

export interface TracingConfig {
  url: string;
  headers: Record<string, string>;
  serviceName: string;
  sampler: SamplerSpec;
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

function samplerFrom(name: string | undefined, arg: string | undefined): SamplerSpec {
  const ratio = () => {
    const r = arg === undefined || arg.trim() === "" ? 1 : Number(arg);
    if (!Number.isFinite(r) || r < 0 || r > 1) throw new ConfigError("OTEL_TRACES_SAMPLER_ARG: expected a ratio between 0 and 1");
    return r;
  };
  switch ((name ?? "parentbased_always_on").trim().toLowerCase()) {
    case "always_on":
      return { root: "always_on", ratio: 1, parentBased: false };
    case "always_off":
      return { root: "always_off", ratio: 0, parentBased: false };
    case "traceidratio":
      return { root: "ratio", ratio: ratio(), parentBased: false };
    case "parentbased_always_on":
      return { root: "always_on", ratio: 1, parentBased: true };
    case "parentbased_always_off":
      return { root: "always_off", ratio: 0, parentBased: true };
    case "parentbased_traceidratio":
      return { root: "ratio", ratio: ratio(), parentBased: true };
    default:
      throw new ConfigError(
        "OTEL_TRACES_SAMPLER: expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
      );
  }
}
