// A hostile caller cannot grow the metrics without bound: every label value
// comes from a fixed set or from the cloud's region names, and region labels
// stop at MAX_REGION_LABELS even when the caller invents regions.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { awsProvider } from "../../providers/aws/definition";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { MAX_REGION_LABELS } from "./metrics";

let p: TestProvider;
beforeAll(async () => {
  p = await startTestProvider(awsProvider, ["--sandbox", "--metrics-addr", "127.0.0.1:0"]);
});
afterAll(() => p.close());

test("invented regions, instance ids and request ids add no label values past the cap", async () => {
  const invented = MAX_REGION_LABELS + 72;
  for (let i = 0; i < invented; i++) {
    await p.client.call("GetInstanceStatus", { instance_id: `i-${String(i).padStart(17, "0")}`, region: `xx-made-up-${i}` }, { metadata: { "x-request-id": `req-${i}` } }).catch(() => {});
  }
  const text = await (await fetch(`http://${p.started.metrics!.address}/metrics`)).text();
  const regions = new Set([...text.matchAll(/region="([^"]*)"/g)].map((m) => m[1]));
  expect(regions.size).toBeGreaterThan(10); // the sandbox did count these calls per region...
  expect(regions.size).toBeLessThanOrEqual(MAX_REGION_LABELS + 1); // ...up to the cap, then "other"
  expect(regions.has("other")).toBe(true);
  expect(text).not.toMatch(/i-0{10}/);
  expect(text).not.toContain("req-1");
  // Every series of the gRPC metrics is one of 19 methods times a few codes.
  const series = text.split("\n").filter((l) => l.startsWith("grpc_server_handled_total{"));
  expect(series.length).toBeLessThanOrEqual(3);
});
