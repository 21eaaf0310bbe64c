// --metrics-addr as a user runs it (a provider process): off by default, the
// process listens on the gRPC port only; on, exactly one more listener
// serves /metrics over plain HTTP and nothing else. Listening sockets are
// read from /proc (the process's own socket inodes in LISTEN state), so the
// check sees every listener, not only the ones we know to probe.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { runCli, spawnProvider, type ProviderProcess } from "../testing/process";
import { ProviderMetrics } from "./metrics";
import { listenForMetrics } from "./metrics-listener";

/** TCP ports the process `pid` listens on. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed while reading
    }
  }
  const ports: number[] = [];
  for (const table of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue; // 0A = LISTEN
      if (inodes.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(":")[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

let proc: ProviderProcess | undefined;
afterEach(async () => {
  await proc?.stop();
  proc = undefined;
});

describe("--metrics-addr", () => {
  test("off by default: the provider listens on its gRPC port and nothing else", async () => {
    proc = await spawnProvider("gcp", ["--sandbox"]);
    expect(listeningPorts(proc.proc.pid)).toEqual([proc.port]);
    expect(proc.output()).not.toContain("serving metrics");
  });

  test("SKYCLUST_METRICS_ADDR opens one more listener that answers /metrics and 404 elsewhere", async () => {
    proc = await spawnProvider("gcp", ["--sandbox"], { SKYCLUST_METRICS_ADDR: "127.0.0.1:0" });
    const line = proc
      .output()
      .split("\n")
      .find((l) => l.includes('"serving metrics"'));
    expect(line).toBeDefined();
    const url = JSON.parse(line!).address as string;
    const metricsPort = Number(new URL(url).port);
    expect(listeningPorts(proc.proc.pid)).toEqual([proc.port, metricsPort].sort((a, b) => a - b));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('skyclust_build_info{version="');
    expect(text).toContain('provider="gcp"');
    expect(text).toContain("# TYPE grpc_server_handling_seconds histogram");
    expect((await fetch(url.replace("/metrics", "/"))).status).toBe(404);
    expect((await fetch(url, { method: "POST", body: "x" })).status).toBe(405);
  });

  test("a malformed address is refused at start-up, naming the flag", () => {
    const r = runCli("gcp", ["--sandbox", "--port", "0", "--metrics-addr", "9464"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--metrics-addr: expected HOST:PORT, got "9464"');
  });
});

describe("the metrics listener under a hostile client", () => {
  test("oversized headers are refused (431) without a scrape, and /metrics still answers", async () => {
    const listener = await listenForMetrics(new ProviderMetrics({ version: "test", provider: "aws" }), "127.0.0.1", 0);
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port: listener.port }, () => {
          socket.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`);
        });
        let data = "";
        socket.on("data", (d) => (data += d.toString()));
        socket.on("close", () => resolve(data));
        socket.on("error", (e) => (data ? resolve(data) : reject(e)));
      });
      expect(reply).toStartWith("HTTP/1.1 431");
      expect(reply).not.toContain("skyclust_build_info");
      const res = await fetch(`http://${listener.address}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('skyclust_build_info{version="test"');
    } finally {
      await listener.close();
    }
  });
});
