// Traces end to end: a provider configured only through the standard OTEL_*
// variables exports over OTLP/HTTP to a receiver in this test; a call made
// with a known W3C traceparent yields a SERVER span continuing it, with one
// CLIENT child per (sandbox) cloud request; the trace id is in the RPC's log
// line; no bearer token or collector credential appears in any span.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { ConfigError } from "../config";
import { grpcError } from "../testing/client";
import { startTestProvider } from "../testing/harness";
import { tracingConfig } from "./tracing";

const TOKEN = "trace-test-bearer-9d8c7b6a";
const COLLECTOR_KEY = "collector-s3cret-key";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN = "00f067aa0ba902b7";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}

/** An OTLP/HTTP JSON receiver: every POST to /v1/traces, body and headers kept. */
function startReceiver() {
  const bodies: string[] = [];
  const headers: Headers[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/traces") return new Response("no", { status: 404 });
      bodies.push(await req.text());
      headers.push(req.headers);
      return Response.json({});
    },
  });
  const spans = (): (OtlpSpan & { service: string })[] =>
    bodies.flatMap((b) =>
      (JSON.parse(b).resourceSpans as any[]).flatMap((rs) => {
        const service = rs.resource.attributes.find((a: any) => a.key === "service.name")?.value.stringValue;
        return (rs.scopeSpans as any[]).flatMap((ss) => (ss.spans as OtlpSpan[]).map((s) => ({ ...s, service })));
      }),
    );
  return { url: `http://127.0.0.1:${server.port}`, bodies, headers, spans, stop: () => server.stop(true) };
}

const attr = (span: OtlpSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : (v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue));
};

let dir: string;
let tokenFile: string;
beforeAll(() => {
  dir = mkdtempSync("/tmp/skyclust-tracing-");
  tokenFile = join(dir, "tokens");
  writeFileSync(tokenFile, `${TOKEN} read,write\n`, { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("OpenTelemetry traces over OTLP/HTTP", () => {
  test("a call with a traceparent: SERVER span continues it, cloud calls are its CLIENT children, the log has the trace id", async () => {
    const receiver = startReceiver();
    const p = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-fail-regions", "eu-west-1", "--auth-token-file", tokenFile], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: "skyclust-trace-test",
      OTEL_EXPORTER_OTLP_HEADERS: `x-collector-key=${COLLECTOR_KEY}`,
    });
    const metadata = { authorization: `Bearer ${TOKEN}`, traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01`, "x-request-id": "traced-call-1" };
    const listed = await p.client.call("ListInstances", { region: "*" }, { metadata });
    expect(listed.unreachable.length).toBe(1);
    const missing = await grpcError(p.client.call("GetInstanceStatus", { instance_id: "i-0123456789abcdef0" }, { metadata: { authorization: `Bearer ${TOKEN}` } }));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    await p.close(); // flushes the batch
    receiver.stop();

    const spans = receiver.spans();
    const server = spans.find((s) => s.name === "skyclust.provider.v1.CloudProviderService/ListInstances")!;
    expect(server).toBeDefined();
    expect(server.service).toBe("skyclust-trace-test");
    expect(server.traceId).toBe(TRACE_ID);
    expect(server.parentSpanId).toBe(PARENT_SPAN);
    expect(server.kind).toBe(2); // SERVER
    expect(attr(server, "rpc.system")).toBe("grpc");
    expect(attr(server, "rpc.method")).toBe("ListInstances");
    expect(attr(server, "rpc.grpc.status_code")).toBe(0);
    expect(attr(server, "skyclust.request_id")).toBe("traced-call-1");

    const children = spans.filter((s) => s.parentSpanId === server.spanId);
    expect(children.every((c) => c.traceId === TRACE_ID && c.kind === 3)).toBe(true); // CLIENT
    expect(children.map((c) => c.name)).toContain("aws/listRegions");
    const failed = children.find((c) => c.name === "aws/listInstances" && attr(c, "cloud.region") === "eu-west-1")!;
    expect(attr(failed, "skyclust.cloud.outcome")).toBe("unavailable");
    expect(failed.status?.code).toBe(2); // ERROR
    expect(children.filter((c) => c.name === "aws/listInstances" && attr(c, "skyclust.cloud.outcome") === "ok").length).toBeGreaterThan(1);

    // Without a traceparent: a new trace, a root span.
    const root = spans.find((s) => s.name.endsWith("/GetInstanceStatus"))!;
    expect(root.traceId).not.toBe(TRACE_ID);
    expect(root.parentSpanId ?? "").toBe("");
    expect(attr(root, "rpc.grpc.status_code")).toBe(grpc.status.NOT_FOUND);
    expect(spans.some((s) => s.parentSpanId === root.spanId && attr(s, "skyclust.cloud.outcome") === "not_found")).toBe(true);

    // The RPC's log line carries the trace id.
    const rpcLine = p.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "rpc" && l.method === "ListInstances");
    expect(rpcLine.trace_id).toBe(TRACE_ID);
    expect(rpcLine.span_id).toBe(server.spanId);

    // Credentials reach the collector only as its own header, never inside spans.
    expect(receiver.headers[0]!.get("x-collector-key")).toBe(COLLECTOR_KEY);
    for (const body of receiver.bodies) {
      expect(body).not.toContain(TOKEN);
      expect(body).not.toContain(COLLECTOR_KEY);
      expect(body.toLowerCase()).not.toContain("authorization");
    }
  });

  test("without OTEL_EXPORTER_OTLP_ENDPOINT, or with the always_off sampler, nothing is exported and logs carry no trace id", async () => {
    const receiver = startReceiver();
    const off = await startTestProvider(awsProvider, ["--sandbox"], {});
    await off.client.call("ListInstances", {}, { metadata: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` } });
    await off.close();
    expect(off.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "rpc")!.trace_id).toBeUndefined();

    const sampledOut = await startTestProvider(awsProvider, ["--sandbox"], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: "always_off" });
    await sampledOut.client.call("ListInstances", {});
    await sampledOut.close();
    receiver.stop();
    expect(receiver.bodies).toEqual([]);
  });

  test("a forged or oversized traceparent is ignored: the call succeeds under a new root span", async () => {
    const receiver = startReceiver();
    const p = await startTestProvider(awsProvider, ["--sandbox"], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const forged = [`00-${"f".repeat(32)}-${"f".repeat(16)}-01`.replace("00-", "ff-"), `00-${TRACE_ID}-${PARENT_SPAN}-01${"x".repeat(6000)}`, "not a traceparent"];
    for (const traceparent of forged) await p.client.call("GetProviderInfo", {}, { metadata: { traceparent, tracestate: "k=".padEnd(4000, "v") } });
    await p.close();
    receiver.stop();
    const servers = receiver.spans().filter((s) => s.name.endsWith("/GetProviderInfo"));
    expect(servers).toHaveLength(forged.length);
    for (const s of servers) {
      expect(s.parentSpanId ?? "").toBe("");
      expect(s.traceId).not.toBe(TRACE_ID);
    }
    expect(receiver.bodies.join("")).not.toContain("vvvvvvvv");
  });

  test("the standard variables are read as the specification says, and bad values are refused by name", () => {
    expect(tracingConfig({}, "d")).toBeUndefined();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }, "d")).toBeUndefined();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }, "d")).toBeUndefined();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/" }, "d")!.url).toBe("http://c:4318/v1/traces");
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/custom" }, "d")!.url).toBe("http://c:4318/custom");
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "skyclust-aws-provider")!.serviceName).toBe("skyclust-aws-provider");
    expect(() => tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER: "sometimes" }, "d")).toThrow(ConfigError);
    expect(() => tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }, "d")).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://c" }, "d")).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    // A malformed header list is refused without quoting it (it may hold a key).
    let message = "";
    try {
      tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_HEADERS: "api-key-s3cret" }, "d");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("OTEL_EXPORTER_OTLP_HEADERS");
    expect(message).not.toContain("s3cret");
  });
});
