#!/usr/bin/env bun
// How the memory requests/limits in deploy/kubernetes/ were chosen: start a
// compiled provider in sandbox mode and read its resident set size from
// /proc/<pid>/status at idle, then under a little load (a few concurrent
// clients calling ListInstances across every region, GetProviderInfo,
// GetCostEstimate, CreateInstance/DeleteInstance, CreateKeyPair), and the
// peak (VmHWM) over the whole run. Linux only.
//   npm run build && npx bun deploy/measure-memory.ts [dist] [rounds]
//   AWS_ENDPOINT_URL_EC2=http://127.0.0.1:5001 npx bun deploy/measure-memory.ts dist 300 aws
//     the real EC2 backend (AWS SDK loaded) against moto instead of the sandbox
// Prints one JSON line per provider (MiB).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PROVIDER_NAMES as PROVIDERS } from "../providers/index";
import { freePort, waitForServing } from "../scripts/chroot";
import { ProviderClient } from "../shared/testing/client";

const dist = resolve(process.argv[2] ?? join(import.meta.dir, "..", "dist"));
const rounds = Number(process.argv[3] ?? 300);
const only = process.argv[4];
const awsEndpoint = process.env.AWS_ENDPOINT_URL_EC2;
const CLIENTS = 8;

function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kib("VmRSS") / 1024, hwm: kib("VmHWM") / 1024 };
}

const TYPES: Record<string, string> = { aws: "t3.micro", gcp: "e2-small", openstack: "m1.small", proxmox: "small" };

for (const name of PROVIDERS.filter((p) => !only || p === only)) {
  const port = await freePort();
  const real = name === "aws" && awsEndpoint !== undefined;
  const mode = real ? ["--endpoint", awsEndpoint!] : ["--sandbox", "--sandbox-transition-ms", "50"];
  const proc = Bun.spawn([join(dist, `skyclust-${name}-provider`), ...mode, "--host", "127.0.0.1", "--port", String(port), "--log-level", "warn"], {
    env: real ? { ...process.env, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" } : process.env,
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    await waitForServing(`127.0.0.1:${port}`);
    await Bun.sleep(1000);
    const idle = memory(proc.pid);
    let peakRss = idle.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, memory(proc.pid).rss)), 50);
    const clients = Array.from({ length: CLIENTS }, () => new ProviderClient(`127.0.0.1:${port}`));
    const info = await clients[0]!.call("GetProviderInfo");
    const type = TYPES[name] ?? "small";
    let failures = 0;
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < rounds / CLIENTS; i++) {
          const calls: Promise<unknown>[] = [
            client.call("ListInstances", { region: real ? "us-east-1" : "*", page_size: 100 }),
            client.call("GetProviderInfo"),
            client.call("GetCostEstimate", { instance_type: type, region: "", duration: "1h" }),
          ];
          if (i % 10 === 0) {
            calls.push(
              client.call("CreateInstance", { name: `load-${c}-${i}`, type, image_id: real ? "ami-12c6146b" : "", idempotency_key: `load-${c}-${i}` }).then((r: any) => client.call("DeleteInstance", { instance_id: r.instance?.id ?? r.instance_id, region: "" })),
              client.call("CreateKeyPair", { key_pair_name: `load-${c}-${i}` }),
            );
          }
          for (const r of await Promise.allSettled(calls)) if (r.status === "rejected" && failures++ === 0) console.error(name, (r.reason as Error).message);
        }
      }),
    );
    clearInterval(sampler);
    const after = memory(proc.pid);
    for (const c of clients) c.close();
    console.log(JSON.stringify({ provider: name, mode: real ? "moto" : "sandbox", version: info.version, rounds, clients: CLIENTS, failures, idleRssMiB: +idle.rss.toFixed(1), loadPeakRssMiB: +Math.max(peakRss, after.rss).toFixed(1), afterLoadRssMiB: +after.rss.toFixed(1), vmHwmMiB: +after.hwm.toFixed(1) }));
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}
