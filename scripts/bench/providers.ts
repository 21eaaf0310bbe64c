// Every provider's binary, side by side in one run: start-up to SERVING in
// sandbox mode and in real mode (credentials present, pointed at a local
// protocol peer: moto for EC2, the fake Compute Engine and Proxmox servers
// built from recorded fixtures, the OpenStack testbed), memory idle and
// after a short load, and the cloud calls a listing costs, counted at the
// peer (what the cloud's API quota and rate limits would see).
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCountingProxy } from "../../shared/testing/counting-proxy";
import { ProviderClient } from "../../shared/testing/client";
import { FakeGce, makeServiceAccount } from "../../providers/gcp/testing/fake-gce";
import { FakePve, FIXTURE_PASSWORD } from "../../providers/proxmox/testing/fake-pve";
import { makeTestPki } from "../../providers/proxmox/testing/certs";
import { requireTestbed, testbedEnv } from "../../providers/openstack/testing/testbed";
import { runLoad, type LoadCase } from "./load";
import { startSeededMoto } from "./moto";
import { memoryOf, startProvider, type ServerCommand } from "./server-process";
import { idleMemory } from "./startup";
import { median } from "./stats";

/** A provider's real-mode peer: the flags and variables that point the binary at it, and its request count. */
interface Peer {
  args: string[];
  env: Record<string, string>;
  /** Requests the peer has answered so far. */
  requests(): number;
  stop(): Promise<void>;
}

/**
 * A forward HTTP proxy (absolute-form requests, as Bun's fetch sends them
 * to HTTP_PROXY) that counts what it forwards: the OpenStack provider finds
 * Nova, Glance and Neutron in Keystone's catalog, so no single endpoint flag
 * can route all its calls through a counter.
 */
function countingForwardProxy(): Promise<{ url: string; count(): number; stop(): void }> {
  let n = 0;
  const server: Server = createServer(async (req, res) => {
    n++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "proxy-connection") headers.set(k, v);
    try {
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const upstream = await fetch(req.url!, { method: req.method, headers, body, redirect: "manual" });
      const out = Buffer.from(await upstream.arrayBuffer());
      const replyHeaders: Record<string, string> = {};
      // fetch already decoded the body: its length and encoding change.
      upstream.headers.forEach((v, k) => void (k !== "content-encoding" && k !== "content-length" && k !== "transfer-encoding" && (replyHeaders[k] = v)));
      res.writeHead(upstream.status, { ...replyHeaders, "content-length": String(out.length) });
      res.end(out);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({ url: `http://127.0.0.1:${port}`, count: () => n, stop: () => void server.close() });
    }),
  );
}

async function awsPeer(instances: number): Promise<Peer> {
  const moto = await startSeededMoto(instances, "us-east-1");
  const proxy = startCountingProxy(moto.url, () => true);
  return {
    args: ["--endpoint", proxy.url, "--region", "us-east-1"],
    env: { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_EC2_METADATA_DISABLED: "true" },
    requests: proxy.count,
    stop: async () => {
      proxy.stop();
      await moto.stop();
    },
  };
}

async function gcpPeer(): Promise<Peer> {
  const sa = makeServiceAccount("project_name");
  const fake = new FakeGce({ project: "project_name", serviceAccount: sa }).start();
  return {
    args: [],
    env: { GCP_ENDPOINT: fake.url, GOOGLE_APPLICATION_CREDENTIALS: sa.keyFile, GCP_REGION: "us-central1" },
    requests: () => fake.requests.length,
    stop: async () => {
      await fake.stop();
      sa.cleanup();
    },
  };
}

async function proxmoxPeer(): Promise<Peer> {
  const pki = makeTestPki();
  const pve = await new FakePve({ cert: pki.cert, key: pki.key, taskPolls: 1 }).start();
  const state = mkdtempSync(join(tmpdir(), "skyclust-bench-pve-"));
  return {
    args: [],
    env: {
      PROXMOX_HOST: `127.0.0.1:${pve.port}`,
      PROXMOX_USER: "PROXMOX_USERNAME",
      PROXMOX_REALM: "pam",
      PROXMOX_PASSWORD: FIXTURE_PASSWORD,
      PROXMOX_STATE_DIR: state,
      PROXMOX_CA_FILE: pki.caFile,
    },
    requests: () => pve.requests.length,
    stop: async () => {
      await pve.stop();
      pki.cleanup();
      rmSync(state, { recursive: true, force: true });
    },
  };
}

async function openstackPeer(): Promise<Peer> {
  const env = testbedEnv("demo");
  await requireTestbed(env);
  const proxy = await countingForwardProxy();
  return {
    args: [],
    env: { ...env, HTTP_PROXY: proxy.url, http_proxy: proxy.url, NO_PROXY: "", no_proxy: "" },
    requests: proxy.count,
    stop: async () => proxy.stop(),
  };
}

export interface ProviderRow {
  provider: string;
  sandboxStartMs: number;
  /** Median start -> SERVING in real mode; undefined when its peer is not available (reason in `note`). */
  realStartMs?: number;
  idleRssKiB: number;
  idleAnonKiB: number;
  realIdleRssKiB?: number;
  /** VmHWM after the sandbox load. */
  afterLoadRssKiB: number;
  /** Cloud calls counted at the peer for a walk of the default region, and of region "*". */
  calls?: { region: CallCount; all: CallCount };
  note?: string;
}

export interface CallCount {
  pages: number;
  instances: number;
  cloudCalls: number;
}

async function countWalk(client: ProviderClient, peer: Peer, request: Record<string, unknown>): Promise<CallCount> {
  // A first walk warms what a server keeps between calls (token, region
  // list); the counted second walk is the steady state a platform sees.
  await client.listPages(request, 200, { deadlineMs: 60_000 });
  const before = peer.requests();
  const pages = await client.listPages(request, 200, { deadlineMs: 60_000 });
  await Bun.sleep(100); // cancelled read-ahead reaching the peer late still counts
  return { pages: pages.length, instances: pages.reduce((n, p) => n + p.instances.length, 0), cloudCalls: peer.requests() - before };
}

/** Starts each binary `starts` times in sandbox mode (and real mode against its peer), interleaved. */
export async function measureProviders(
  binaries: Record<string, string>,
  workDir: string,
  opts: { starts: number; loadSeconds: number; motoInstances: number; pageSize: number },
  log: (msg: string) => void,
): Promise<ProviderRow[]> {
  const rows: ProviderRow[] = [];
  const loadCases: LoadCase[] = [
    { method: "GetProviderInfo", request: {}, connections: 4, streamsPerConnection: 16 },
    { method: "ListInstances", request: { page_size: 100 }, connections: 4, streamsPerConnection: 16 },
  ];
  const peers: Record<string, () => Promise<Peer>> = {
    aws: () => awsPeer(opts.motoInstances),
    gcp: gcpPeer,
    openstack: openstackPeer,
    proxmox: proxmoxPeer,
  };
  for (const [provider, binary] of Object.entries(binaries)) {
    const cmd: ServerCommand = { label: provider, argv: [binary] };
    const logFile = join(workDir, `provider-${provider}.log`);
    log(`providers: ${provider} sandbox start-up, memory and load`);
    const sandboxStarts: number[] = [];
    for (let i = 0; i <= opts.starts; i++) {
      const s = await startProvider(cmd, ["--sandbox"], logFile);
      await s.stop();
      if (i > 0) sandboxStarts.push(s.startupMs); // the first start warms the page cache
    }
    const s = await startProvider(cmd, ["--sandbox", "--sandbox-seed-instances", "100"], logFile);
    let idle: ReturnType<typeof memoryOf>;
    let afterLoad: number;
    try {
      idle = await idleMemory(s.pid);
      for (const c of loadCases) await runLoad(s.address, s.logFile, c, workDir, opts.loadSeconds, 1);
      afterLoad = memoryOf(s.pid).hwmKiB;
    } finally {
      await s.stop();
    }
    const row: ProviderRow = { provider, sandboxStartMs: median(sandboxStarts), idleRssKiB: idle.rssKiB, idleAnonKiB: idle.anonKiB, afterLoadRssKiB: afterLoad };
    rows.push(row);

    log(`providers: ${provider} real mode against its peer`);
    let peer: Peer;
    try {
      peer = await peers[provider]!();
    } catch (err) {
      row.note = `real mode not measured: ${(err as Error).message.split("\n")[0]}`;
      log(`providers: ${provider}: ${row.note}`);
      continue;
    }
    try {
      const realStarts: number[] = [];
      for (let i = 0; i <= opts.starts; i++) {
        const r = await startProvider(cmd, peer.args, logFile, peer.env);
        await r.stop();
        if (i > 0) realStarts.push(r.startupMs);
      }
      row.realStartMs = median(realStarts);
      const r = await startProvider(cmd, peer.args, logFile, peer.env);
      const client = new ProviderClient(r.address);
      try {
        row.realIdleRssKiB = (await idleMemory(r.pid)).rssKiB;
        await client.call("GetProviderInfo", {}, { deadlineMs: 30_000 });
        row.calls = {
          region: await countWalk(client, peer, { page_size: opts.pageSize }),
          all: await countWalk(client, peer, { region: "*", page_size: opts.pageSize }),
        };
      } finally {
        client.close();
        await r.stop();
      }
    } catch (err) {
      row.note = `real mode failed: ${(err as Error).message.split("\n")[0]}`;
      log(`providers: ${provider}: ${row.note}`);
    } finally {
      await peer.stop();
    }
  }
  return rows;
}
