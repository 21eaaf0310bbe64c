// Unary load with h2load (nghttp2-client) speaking gRPC: POST of a framed
// protobuf request with content-type application/grpc and te: trailers.
// h2load cannot read trailers, so grpc-status is checked twice: one request
// with nghttp (same bytes) must end with the trailer grpc-status: 0, and
// the provider's own log line per RPC must say OK for every call of the
// run (any other code fails the run).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { PROTOBUF_JSON } from "../../shared/grpc/descriptor-set.generated";
import { percentile } from "./stats";
import { rpcCodes } from "./server-process";

const SERVICE = "skyclust.provider.v1.CloudProviderService";

let runCounter = 0;

export interface LoadCase {
  method: string;
  request: Record<string, unknown>;
  /** Concurrent streams = connections x streams per connection. */
  connections: number;
  streamsPerConnection: number;
}

export interface LoadResult {
  method: string;
  streams: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** h2load and nghttp both come with Debian's nghttp2-client. */
export function h2loadAvailable(): boolean {
  return Bun.which("h2load") !== null && Bun.which("nghttp") !== null;
}

/** A length-prefixed gRPC message (no compression) for the request. */
export function grpcFrame(method: string, request: Record<string, unknown>): Uint8Array {
  const root = protobuf.Root.fromJSON(JSON.parse(PROTOBUF_JSON));
  const service = root.lookupService(SERVICE);
  const type = root.lookupType(service.methods[method]!.requestType);
  const err = type.verify(request);
  if (err) throw new Error(`${method} request: ${err}`);
  const body = type.encode(type.fromObject(request)).finish();
  const frame = new Uint8Array(5 + body.length);
  new DataView(frame.buffer).setUint32(1, body.length);
  frame.set(body, 5);
  return frame;
}

export async function runLoad(
  address: string,
  serverLog: string,
  c: LoadCase,
  workDir: string,
  seconds: number,
  warmupSeconds: number,
  /** The provider logs one line per RPC with its code; the bare baseline logs nothing (only the nghttp probe checks it). */
  checkServerLog = true,
): Promise<LoadResult> {
  const tag = `${c.method}-${c.connections}x${c.streamsPerConnection}`;
  const bodyFile = join(workDir, `${tag}.bin`);
  // h2load appends to its log file: a fresh file per run, or runs mix.
  const logFile = join(workDir, `${tag}-${++runCounter}.h2load.log`);
  rmSync(logFile, { force: true });
  writeFileSync(bodyFile, grpcFrame(c.method, c.request));
  const url = `http://${address}/${SERVICE}/${c.method}`;
  const probe = Bun.spawnSync(["nghttp", "-v", "-d", bodyFile, "-H", "content-type: application/grpc", "-H", "te: trailers", url]);
  if (!/recv \(stream_id=\d+\) grpc-status: 0\b/.test(probe.stdout.toString())) {
    throw new Error(`${tag}: the reply's trailers lack grpc-status: 0:\n${probe.stdout.toString().slice(-1500)}`);
  }
  const before = !checkServerLog ? 0 : rpcCodes(serverLog).get(c.method)?.get("OK") ?? 0;
  const proc = Bun.spawn(
    [
      "h2load",
      "-D", String(seconds),
      "--warm-up-time", String(warmupSeconds),
      "-c", String(c.connections),
      "-m", String(c.streamsPerConnection),
      "-t", "1",
      "-d", bodyFile,
      "-H", "content-type: application/grpc",
      "-H", "te: trailers",
      "--log-file", logFile,
      url,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, errText, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`h2load exited ${code}: ${errText}${out}`);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const reqPerSec = num(/finished in [\d.]+\w+, ([\d.]+) req\/s/);
  const succeeded = num(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/);
  const failed = num(/(\d+) failed/);
  const errored = num(/(\d+) errored/);
  const non2xx = num(/status codes: \d+ 2xx, (\d+) 3xx/) + num(/(\d+) 4xx/) + num(/(\d+) 5xx/);
  if (!(succeeded > 0) || failed > 0 || errored > 0 || non2xx > 0) throw new Error(`${tag}: h2load reported failures:\n${out}`);

  // grpc-status of every reply, from the server's own per-RPC log lines.
  await Bun.sleep(200);
  if (checkServerLog) {
    const codes = rpcCodes(serverLog).get(c.method) ?? new Map<string, number>();
    const notOk = [...codes].filter(([k]) => k !== "OK");
    if (notOk.length > 0) throw new Error(`${tag}: replies with grpc-status other than OK: ${JSON.stringify(notOk)}`);
    const okNow = (codes.get("OK") ?? 0) - before;
    if (okNow < succeeded) throw new Error(`${tag}: h2load saw ${succeeded} replies, the server logged only ${okNow} OK calls`);
  }

  // Per-request log (measured requests only, no warm-up): start time, HTTP
  // status, elapsed microseconds.
  const latenciesMs = readFileSync(logFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => Number(line.split("\t")[2]) / 1000)
    .filter(Number.isFinite);
  if (latenciesMs.length !== succeeded) throw new Error(`${tag}: h2load logged ${latenciesMs.length} requests, reported ${succeeded}`);
  return {
    method: c.method,
    streams: c.connections * c.streamsPerConnection,
    requests: succeeded,
    reqPerSec,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
  };
}
