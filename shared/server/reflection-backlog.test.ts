// Attack: a reflection client that asks and never reads. Each answer to
// file_by_filename of the contract is the contract's descriptors (tens of
// KB); 20,000 questions fit in ~1 MB. A server that answered every question
// it received would buffer ~1 GB of unread answers. Ours stops reading a
// stream's questions while its answers are unread (reflection.ts), so the
// backlog is bounded by flow control, and other clients are still answered.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect } from "node:http2";
import { spawnProvider, type ProviderProcess } from "../testing/process";
import { healthStatus } from "../testing/health-client";

/** README "Security": the RSS a provider stays under whatever clients do. */
const RSS_CEILING_MIB = 384;
const QUESTIONS = 20_000;

let provider: ProviderProcess;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${provider.proc.pid}/status`, "utf8"))![1]) / 1024;

beforeAll(async () => {
  provider = await spawnProvider("aws", ["--sandbox"]);
}, 60_000);
afterAll(async () => {
  await provider?.stop("SIGKILL");
});

/** A gRPC frame of ServerReflectionRequest { file_by_filename: NAME }. */
function question(name: string): Buffer {
  const body = Buffer.concat([Buffer.from([0x1a, name.length]), Buffer.from(name)]);
  return Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
}

test("20,000 questions whose answers are never read: RSS stays under the ceiling and health still answers", async () => {
  // A zero flow-control window: the server can send nothing on the stream.
  const session = connect(`http://${provider.address}`, { settings: { initialWindowSize: 0 } });
  const stream = session.request({
    ":method": "POST",
    ":path": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  const frame = question("skyclust/provider/v1/cloud_provider.proto");
  const before = rssMiB();
  let peak = before;
  try {
    for (let i = 0; i < QUESTIONS; i++) stream.write(frame);
    for (let i = 0; i < 20; i++) {
      await Bun.sleep(200);
      peak = Math.max(peak, rssMiB());
    }
    expect(await healthStatus(provider.address, 10_000)).toBe("SERVING");
  } finally {
    stream.close();
    session.destroy();
  }
  console.log(`reflection backlog: rss ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB peak (ceiling ${RSS_CEILING_MIB})`);
  expect(peak).toBeLessThan(RSS_CEILING_MIB);
}, 60_000);
