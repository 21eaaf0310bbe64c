// Design trap 1 for telemetry: prom-client (and its process metrics, which
// read /proc) bundled into the compiled binary, copied ALONE into a minimal
// root filesystem and run as the nonroot user, serves /metrics with the
// calls it answered.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { buildProviders } from "../../scripts/build";
import { NONROOT_UID, freePort, makeMinimalRoot, type MinimalRoot } from "../../scripts/chroot";
import { ProviderClient } from "../testing/client";

let outdir: string;
let root: MinimalRoot;

beforeAll(async () => {
  outdir = mkdtempSync("/tmp/skyclust-telemetry-build-");
  const [binary] = await buildProviders({ providers: ["aws"], outdir });
  root = makeMinimalRoot(binary!);
}, 300_000);

afterAll(async () => {
  await root?.cleanup();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

test("the aws binary alone serves Prometheus metrics with --metrics-addr", async () => {
  const metricsPort = await freePort();
  const served = await root.serve(["--sandbox", "--metrics-addr", `127.0.0.1:${metricsPort}`], { uid: NONROOT_UID });
  try {
    const client = new ProviderClient(served.address);
    await client.call("GetProviderInfo");
    await client.call("ListInstances", { region: "*" });
    client.close();
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('grpc_server_handled_total{grpc_service="skyclust.provider.v1.CloudProviderService",grpc_method="GetProviderInfo",grpc_type="unary",grpc_code="OK"} 1');
    expect(text).toContain('grpc_server_handled_total{grpc_service="skyclust.provider.v1.CloudProviderService",grpc_method="ListInstances",grpc_type="unary",grpc_code="OK"} 1');
    expect(text).toMatch(/skyclust_build_info\{version="\d+\.\d+\.\d+[^"]*",bun_version="[^"]+",provider="aws"\} 1/);
    // Process metrics read /proc inside the root.
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  } finally {
    expect(await served.stop()).toBe(0);
  }
  expect(served.stderr()).not.toContain("ENOENT");
}, 120_000);
