// Attack: a client that never reads (h2load with zero flow-control windows,
// 8 connections x 1,000 concurrent ListInstances of 500 instances) made the
// provider buffer every reply: RSS went from 116 to 1,281 MiB, past the
// Kubernetes limit of 512 MiB. Now the open streams per connection and the
// unread reply bytes are bounded (reply-budget.ts): RSS stays under the
// documented ceiling and a well-behaved client on its own connection is
// still answered during the attack.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ProviderClient } from "../testing/client";
import { spawnProvider, type ProviderProcess } from "../testing/process";

/** README "Security": the RSS a provider stays under whatever clients do (Kubernetes limit: 512 MiB). */
const RSS_CEILING_MIB = 384;

let provider: ProviderProcess;
let dir: string;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${provider.proc.pid}/status`, "utf8"))![1]) / 1024;

beforeAll(async () => {
  dir = mkdtempSync("/tmp/skyclust-h2load-");
  provider = await spawnProvider("aws", ["--sandbox", "--sandbox-seed-instances", "500"]);
}, 60_000);
afterAll(async () => {
  await provider?.stop("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A gRPC frame of ListInstancesRequest { region: "us-east-1", page_size: 500 }. */
function listRequestFrame(): Buffer {
  const body = Buffer.from([0x0a, 9, ...Buffer.from("us-east-1"), 0x18, 0xf4, 0x03]);
  return Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
}

/** Runs h2load's non-reading client against ListInstances while sampling RSS and calling from a well-behaved client. */
async function attack(connections: number): Promise<{ before: number; peak: number; answers: (number | string)[] }> {
  const client = new ProviderClient(provider.address);
  const page = await client.call("ListInstances", { region: "us-east-1", page_size: 500 });
  expect(page.instances.length).toBe(500);
  const before = rssMiB();
  const frame = join(dir, "request.bin");
  writeFileSync(frame, listRequestFrame());
  const h2load = Bun.spawn(
    ["h2load", "-c", String(connections), "-m", "1000", "-n", String(connections * 1000), "-w", "0", "-W", "0", "-d", frame,
      "-H", "content-type: application/grpc", "-H", "te: trailers", `http://${provider.address}/skyclust.provider.v1.CloudProviderService/ListInstances`],
    { stdout: "ignore", stderr: "ignore" },
  );
  let peak = before;
  const answers: (number | string)[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      await Bun.sleep(250);
      peak = Math.max(peak, rssMiB());
      if (i % 8 === 7) {
        const res = await client.call("ListInstances", { region: "us-east-1", page_size: 500 }, { deadlineMs: 30_000 }).then(
          (r) => r.instances.length as number,
          (err) => `code ${err.code}`,
        );
        answers.push(res);
        peak = Math.max(peak, rssMiB());
      }
    }
  } finally {
    h2load.kill("SIGKILL");
    await h2load.exited;
    client.close();
  }
  console.log(`h2load -c ${connections}: rss ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB peak (ceiling ${RSS_CEILING_MIB})`);
  return { before, peak, answers };
}

test("8 connections that never read (the reported attack): RSS stays under the ceiling and another client is answered", async () => {
  const { peak, answers } = await attack(8);
  expect(answers).toEqual([500, 500, 500, 500, 500]);
  expect(peak).toBeLessThan(RSS_CEILING_MIB);
}, 120_000);

test("64 connections that never read: calls over the budget are RESOURCE_EXHAUSTED and RSS stays under the ceiling", async () => {
  const { peak } = await attack(64);
  expect(provider.output().includes('"code":"RESOURCE_EXHAUSTED"')).toBe(true);
  expect(peak).toBeLessThan(RSS_CEILING_MIB);
}, 120_000);
