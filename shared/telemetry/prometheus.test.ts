// A real Prometheus (Debian's package) scrapes a sandbox provider started
// with --metrics-addr, after a known set of calls: successes, errors, an
// auth failure, a forged page token and a "*" fan-out with one failing
// region. The counts are read back with PromQL through Prometheus's HTTP
// API, so names, labels and the exposition format are checked by the
// consumer that matters, not by our own parser.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { spawn, type Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { freePort } from "../../scripts/chroot";
import { grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";

const TOKEN = "metrics-test-t0ken-7f3a9c";
const FAILING_REGION = "eu-west-1";
const PROMETHEUS = "/usr/bin/prometheus";

let dir: string;
let p: TestProvider;
let prometheus: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let promUrl: string;
let createdId: string;
let scrapedText: string;

const auth = { metadata: { authorization: `Bearer ${TOKEN}` } };

async function promql(query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== "success") throw new Error(`PromQL ${query}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.data.result;
}

/** Polls until Prometheus has scraped the target once (no timing assumption: it just waits). */
async function untilScraped(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const up = await promql('up{job="skyclust"}');
      if (up.length === 1 && up[0]!.value[1] === "1") return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  throw new Error("Prometheus never scraped the provider");
}

beforeAll(async () => {
  dir = mkdtempSync("/tmp/skyclust-prometheus-");
  const tokenFile = join(dir, "tokens");
  writeFileSync(tokenFile, `${TOKEN} read,write\n`, { mode: 0o600 });
  p = await startTestProvider(awsProvider, [
    "--sandbox",
    "--sandbox-seed-instances",
    "2",
    "--sandbox-transition-ms",
    "50",
    "--sandbox-fail-regions",
    FAILING_REGION,
    "--auth-token-file",
    tokenFile,
    "--metrics-addr",
    "127.0.0.1:0",
  ]);

  // The known calls. Prometheus starts only after them, so its first scrape sees them all.
  const call = (m: string, req: object = {}, opts: object = auth) => p.client.call(m, req, opts);
  await call("GetProviderInfo");
  await call("GetProviderInfo");
  expect((await grpcError(call("GetProviderInfo", {}, { metadata: { authorization: "Bearer not-the-token" } }))).code).toBe(grpc.status.UNAUTHENTICATED);
  expect((await grpcError(call("GetInstanceStatus", { instance_id: "" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
  expect((await grpcError(call("GetInstanceStatus", { instance_id: "i-0000000000doesnotexist" }))).code).toBe(grpc.status.NOT_FOUND);
  await call("GetProviderInfo");
  const all = await call("ListInstances", { region: "*" });
  expect(all.unreachable.some((u: string) => u.startsWith(`${FAILING_REGION}:`))).toBe(true);
  expect((await grpcError(call("ListInstances", { page_token: "forged-token" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
  const listed = await call("ListInstances", {});
  createdId = listed.instances[0].id;
  await call("GetInstanceStatus", { instance_id: createdId });
  scrapedText = await (await fetch(`http://${p.started.metrics!.address}/metrics`)).text();

  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    ["global:", "  scrape_interval: 1s", "scrape_configs:", "  - job_name: skyclust", "    static_configs:", `      - targets: ["${p.started.metrics!.address}"]`, ""].join("\n"),
  );
  prometheus = spawn([PROMETHEUS, `--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  await untilScraped();
}, 120_000);

afterAll(async () => {
  if (prometheus) {
    prometheus.kill("SIGTERM");
    await prometheus.exited;
  }
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Prometheus scrapes --metrics-addr", () => {
  test("grpc_server_handled_total counts every call by method and code (go-grpc-prometheus names)", async () => {
    const rows = await promql('sum by (grpc_method, grpc_code) (grpc_server_handled_total{grpc_service="skyclust.provider.v1.CloudProviderService",grpc_type="unary"})');
    const counts = Object.fromEntries(rows.map((r) => [`${r.metric.grpc_method} ${r.metric.grpc_code}`, Number(r.value[1])]));
    expect(counts["GetProviderInfo OK"]).toBe(3);
    expect(counts["GetProviderInfo Unauthenticated"]).toBe(1);
    expect(counts["GetInstanceStatus InvalidArgument"]).toBe(1);
    expect(counts["GetInstanceStatus NotFound"]).toBe(1);
    expect(counts["GetInstanceStatus OK"]).toBe(1);
    expect(counts["ListInstances OK"]).toBe(2);
    expect(counts["ListInstances InvalidArgument"]).toBe(1);
  });

  test("grpc_server_started_total and the handling-time histogram agree with the handled count", async () => {
    const [started] = await promql('sum(grpc_server_started_total{grpc_method="GetProviderInfo"})');
    const [observed] = await promql('sum(grpc_server_handling_seconds_count{grpc_method="GetProviderInfo"})');
    const [inf] = await promql('sum(grpc_server_handling_seconds_bucket{grpc_method="GetProviderInfo",le="+Inf"})');
    expect(Number(started!.value[1])).toBe(4);
    expect(Number(observed!.value[1])).toBe(4);
    expect(Number(inf!.value[1])).toBe(4);
    // The quantile query from the README parses and yields a number.
    const p99 = await promql("histogram_quantile(0.99, sum by (le, grpc_method) (rate(grpc_server_handling_seconds_bucket[5m])))");
    expect(Array.isArray(p99)).toBe(true);
  });

  test("the fan-out's failing region is counted as unreachable, the others as read", async () => {
    const unreachable = await promql('skyclust_fanout_regions_total{outcome="unreachable"}');
    expect(unreachable.map((r) => [r.metric.region, Number(r.value[1])])).toEqual([[FAILING_REGION, 1]]);
    const [ok] = await promql('count(skyclust_fanout_regions_total{outcome="ok"})');
    expect(Number(ok!.value[1])).toBeGreaterThan(1);
  });

  test("cloud requests by operation, region and outcome (the sandbox's simulated cloud)", async () => {
    const failed = await promql(`skyclust_cloud_requests_total{provider="aws",operation="listInstances",region="${FAILING_REGION}"}`);
    expect(failed.map((r) => [r.metric.outcome, Number(r.value[1])])).toEqual([["unavailable", 1]]);
    const [notFound] = await promql('sum(skyclust_cloud_requests_total{operation="getInstance",outcome="not_found"})');
    expect(Number(notFound!.value[1])).toBe(1);
    // The README's throttling query parses (no throttling here: empty or zero).
    const throttled = await promql('sum by (provider, region) (rate(skyclust_cloud_requests_total{outcome="throttled"}[5m]))');
    expect(throttled.every((r) => Number(r.value[1]) === 0)).toBe(true);
  });

  test("auth failures by reason, rejected page tokens and build info", async () => {
    const authRows = await promql("skyclust_auth_failures_total");
    expect(authRows.map((r) => [r.metric.reason, Number(r.value[1])])).toEqual([["invalid_token", 1]]);
    const [rejected] = await promql('skyclust_page_tokens_rejected_total{grpc_method="ListInstances"}');
    expect(Number(rejected!.value[1])).toBe(1);
    const [build] = await promql("skyclust_build_info");
    expect(build!.metric.provider).toBe("aws");
    expect(build!.metric.bun_version).toBe(Bun.version);
    expect(build!.metric.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("the README's three example queries run, and the error ratio sees this run's errors", async () => {
    const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
    const block = /```promql\n([\s\S]*?)```/.exec(readme)![1]!;
    const queries = block
      .split(/\n\s*\n/)
      .map((q) => q.split("\n").filter((l) => !l.trim().startsWith("#")).join("\n").trim())
      .filter(Boolean);
    expect(queries).toHaveLength(3);
    for (const q of queries) await promql(q); // throws unless Prometheus accepts it
    // One scrape has no rate yet; the ratio over raw counters shows the same shape.
    const ratio = await promql(queries[0]!.replaceAll(/rate\((.*?)\[5m\]\)/g, "$1"));
    const byMethod = Object.fromEntries(ratio.map((r) => [r.metric.grpc_method, Number(r.value[1])]));
    expect(byMethod.GetProviderInfo).toBeCloseTo(1 / 4);
  });

  test("no instance id, token or caller input appears in the exposition", () => {
    expect(scrapedText).toContain("grpc_server_handled_total");
    for (const secretOrId of [TOKEN, "not-the-token", createdId, "i-0000000000doesnotexist", "forged-token"]) expect(scrapedText).not.toContain(secretOrId);
  });
});
