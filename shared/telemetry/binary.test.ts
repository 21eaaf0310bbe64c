// Design trap 1 for telemetry: prom-client (and its process metrics, which
// read /proc) and the OpenTelemetry SDK and OTLP exporter bundled into the
// compiled binary, copied ALONE into a minimal root filesystem and run as
// the nonroot user: it serves /metrics with the calls it answered and
// exports their spans to an OTLP/HTTP receiver.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { PROVIDERS, buildProviders } from "../../scripts/build";
import { NONROOT_UID, freePort, makeMinimalRoot, type MinimalRoot } from "../../scripts/chroot";
import { ProviderClient } from "../testing/client";

let outdir: string;

beforeAll(async () => {
  outdir = mkdtempSync("/tmp/skyclust-telemetry-build-");
  await buildProviders({ outdir });
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

for (const name of PROVIDERS) {
  describe(`${name} binary`, () => {
    let root: MinimalRoot;
    beforeAll(() => {
      root = makeMinimalRoot(`${outdir}/skyclust-${name}-provider`);
    });
    afterAll(() => root?.cleanup());

    test("alone in a minimal root, it serves Prometheus metrics with --metrics-addr and exports traces", async () => {
      const metricsPort = await freePort();
      const received: string[] = [];
      const receiver = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(req) {
          received.push(await req.text());
          return Response.json({});
        },
      });
      const served = await root.serve(["--sandbox", "--metrics-addr", `127.0.0.1:${metricsPort}`], {
        uid: NONROOT_UID,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`, OTEL_SERVICE_NAME: "binary-alone" },
      });
      try {
        const client = new ProviderClient(served.address);
        await client.call("GetProviderInfo", {}, { metadata: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
        await client.call("ListInstances", { region: "*" });
        client.close();
        const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        expect(res.status).toBe(200);
        const text = await res.text();
        expect(text).toContain('grpc_server_handled_total{grpc_service="skyclust.provider.v1.CloudProviderService",grpc_method="GetProviderInfo",grpc_type="unary",grpc_code="OK"} 1');
        expect(text).toContain('grpc_server_handled_total{grpc_service="skyclust.provider.v1.CloudProviderService",grpc_method="ListInstances",grpc_type="unary",grpc_code="OK"} 1');
        expect(text).toMatch(new RegExp(`skyclust_build_info\\{version="\\d+\\.\\d+\\.\\d+[^"]*",bun_version="[^"]+",provider="${name}"\\} 1`));
        // Process metrics read /proc inside the root.
        expect(text).toMatch(/process_resident_memory_bytes \d+/);
      } finally {
        expect(await served.stop()).toBe(0); // SIGTERM flushes the span batch
        receiver.stop(true);
      }
      expect(served.stderr()).not.toContain("ENOENT");
      const body = received.join("\n");
      expect(body).toContain('"binary-alone"');
      expect(body).toContain("0af7651916cd43dd8448eb211c80319c");
      expect(body).toContain("skyclust.provider.v1.CloudProviderService/GetProviderInfo");
    }, 120_000);
  });
}
