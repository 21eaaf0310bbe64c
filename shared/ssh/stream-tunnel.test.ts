// TunnelInstancePort end to end: a real gRPC client -> the aws provider in
// sandbox mode -> ssh2 -> a real OpenSSH server on loopback -> a TCP echo
// service, and the `tunnel` subcommand that carries local connections over
// it. Also: listener tunnel ids name their replica, and a Close that reaches
// the wrong replica says which one owns the tunnel.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { spawn } from "bun";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { startTunnelClient } from "../tunnel-client";
import { startEchoServer, startTestSshd, type TestSshd } from "./test-sshd";

let sshd: TestSshd;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let knownHosts: string;
let provider: TestProvider;
let instanceId: string;
const others: TestProvider[] = [];

function args(extra: string[] = []): string[] {
  return ["--sandbox", "--sandbox-ssh-target", sshd.target, "--ssh-key-dir", sshd.keyDir, "--ssh-known-hosts", knownHosts, "--ssh-user", sshd.user, ...extra];
}

async function runningInstance(p: TestProvider): Promise<string> {
  const res = await p.client.call("ListInstances", { filters: { status: "running" }, page_size: 1 });
  return res.instances[0].id;
}

async function another(extra: string[]): Promise<TestProvider> {
  const p = await startTestProvider(awsProvider, args(extra));
  others.push(p);
  return p;
}

type Frame = { frame?: string; data?: Buffer; eof?: boolean; opened?: { message: string } };
/** A raw TunnelInstancePort stream, and everything it receives. */
function rawStream(p: TestProvider, metadata = new grpc.Metadata()) {
  const stream = (p.client.raw.TunnelInstancePort as (m: grpc.Metadata) => grpc.ClientDuplexStream<Frame, Frame>).call(p.client.raw, metadata);
  const frames: Frame[] = [];
  stream.on("data", (f: Frame) => frames.push(f));
  const status = new Promise<{ code: number; details: string }>((resolve) => {
    stream.on("error", (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
    stream.on("status", (s: grpc.StatusObject) => s.code === grpc.status.OK && resolve({ code: 0, details: s.details }));
  });
  return { stream, frames, status };
}

/** Sends `payload` through a TCP connection; resolves with all it got back once the peer closed. */
function echoThrough(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = createConnection({ host: "127.0.0.1", port }, () => {
      s.write(payload);
      s.end(); // half-close: the echo service ends when it has echoed everything
    });
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => resolve(Buffer.concat(chunks)));
    s.on("error", reject);
  });
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

beforeAll(async () => {
  sshd = await startTestSshd();
  echo = await startEchoServer();
  knownHosts = join(sshd.dir, "known_hosts");
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`, { mode: 0o600 });
  provider = await startTestProvider(awsProvider, args(["--replica-id", "replica-a", "--ssh-stream-tunnels-per-caller", "3"]));
  instanceId = await runningInstance(provider);
}, 60_000);

afterAll(async () => {
  for (const p of others) await p.close();
  await provider?.close();
  await echo?.close();
  await sshd?.stop();
});

describe("TunnelInstancePort", () => {
  test("10 MB each way through one stream to an echo service behind a real sshd, bytes checked, clean half-close both ways", async () => {
    const client = await startTunnelClient({
      addr: provider.address,
      instanceId,
      remotePort: echo.port,
      keyPairName: sshd.keyName,
      localHost: "127.0.0.1",
      localPort: 0,
      credentials: grpc.credentials.createInsecure(),
      metadata: () => new grpc.Metadata(),
    });
    try {
      const payload = randomBytes(10 * 1024 * 1024);
      const back = await echoThrough(client.port, payload);
      expect(back.length).toBe(payload.length);
      expect(sha(back)).toBe(sha(payload));
    } finally {
      await client.close();
    }
    const line = provider.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "rpc" && l.method === "TunnelInstancePort");
    expect(line).toMatchObject({ code: "OK", bytes_in: 10 * 1024 * 1024, bytes_out: 10 * 1024 * 1024 });
  }, 120_000);

  test("the protocol: opened first, data echoed, the client's end is EOF to the instance, eof comes back, then OK", async () => {
    const { stream, frames, status } = rawStream(provider);
    stream.write({ open: { instance_id: instanceId, remote_port: echo.port, key_pair_name: sshd.keyName } } as never);
    stream.write({ data: Buffer.from("hello over grpc") });
    stream.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(frames[0]!.frame).toBe("opened");
    expect(Buffer.concat(frames.filter((f) => f.frame === "data").map((f) => f.data!)).toString()).toBe("hello over grpc");
    expect(frames.at(-1)!.frame).toBe("eof");
  }, 30_000);

  test("flow control: a caller that stops reading stops the instance side (the SSH channel is paused), then gets every byte when it reads again", async () => {
    const payload = randomBytes(32 * 1024 * 1024);
    let sent: import("node:net").Socket | undefined;
    let sourceDone = false;
    let accepted = 0; // bytes the source's socket took without asking it to wait
    let blocked = false;
    // Writes 64 KiB chunks as fast as its socket drains, i.e. as fast as the tunnel reads.
    const source = createServer(async (sock) => {
      sent = sock;
      sock.on("error", () => {});
      const chunk = 64 * 1024;
      for (let off = 0; off < payload.length; off += chunk) {
        accepted = off;
        if (!sock.write(payload.subarray(off, off + chunk))) {
          blocked = true;
          await new Promise((r) => sock.once("drain", r));
          blocked = false;
        }
      }
      accepted = payload.length;
      sock.end(() => (sourceDone = true));
    });
    await new Promise<void>((resolve) => source.listen(0, "127.0.0.1", resolve));
    try {
      const stream = (provider.client.raw.TunnelInstancePort as (m: grpc.Metadata) => grpc.ClientDuplexStream<Frame, Frame>).call(provider.client.raw, new grpc.Metadata());
      const status = new Promise<number>((resolve) => {
        stream.on("error", (e: grpc.ServiceError) => resolve(e.code));
        stream.on("status", (st: grpc.StatusObject) => st.code === grpc.status.OK && resolve(0));
      });
      stream.write({ open: { instance_id: instanceId, remote_port: (source.address() as { port: number }).port, key_pair_name: sshd.keyName } } as never);
      // Read only the first frame ("opened"), then stop reading.
      const first = await new Promise<Frame>((resolve) => stream.once("data", (f: Frame) => (stream.pause(), resolve(f))));
      expect(first.frame).toBe("opened");
      // Wait until the source is stuck: bytes left in its socket and none
      // leaving across three looks. With the channel paused it stays stuck;
      // without flow control the provider would buffer all 32 MB and the
      // source would finish.
      let last = -1;
      let still = 0;
      while (!sourceDone && still < 3) {
        await Bun.sleep(200);
        still = accepted === last && blocked ? still + 1 : 0;
        last = accepted;
      }
      expect(sourceDone).toBe(false);
      expect(accepted).toBeLessThan(payload.length);
      // Reading again: every byte arrives, in order.
      const chunks: Buffer[] = [];
      stream.on("data", (f: Frame) => {
        if (f.frame === "data") chunks.push(f.data!);
        if (f.frame === "eof") stream.end();
      });
      stream.resume();
      expect(await status).toBe(grpc.status.OK);
      expect(sha(Buffer.concat(chunks))).toBe(sha(payload));
    } finally {
      sent?.destroy();
      await new Promise<void>((resolve) => source.close(() => resolve()));
    }
  }, 120_000);

  test("bad first frames are INVALID_ARGUMENT naming the field; an unknown instance is NOT_FOUND", async () => {
    const cases: [object, number, string][] = [
      [{ data: Buffer.from("x") }, grpc.status.INVALID_ARGUMENT, "open"],
      [{ open: { instance_id: instanceId, remote_port: 0 } }, grpc.status.INVALID_ARGUMENT, "open.remote_port"],
      [{ open: { instance_id: "", remote_port: 22 } }, grpc.status.INVALID_ARGUMENT, "open.instance_id"],
      [{ open: { instance_id: instanceId, remote_port: 22, key_pair_name: "../x" } }, grpc.status.INVALID_ARGUMENT, "open.key_pair_name"],
      [{ open: { instance_id: "i-0000000000000dead", remote_port: 22 } }, grpc.status.NOT_FOUND, ""],
    ];
    for (const [first, code, field] of cases) {
      const { stream, status } = rawStream(provider);
      stream.write(first as never);
      const s = await status;
      expect({ code: s.code, field: s.details.includes(field) }).toEqual({ code, field: true });
    }
  }, 30_000);

  test("a caller holds at most --ssh-stream-tunnels-per-caller streams; the next is RESOURCE_EXHAUSTED until one ends", async () => {
    const open = () => {
      const r = rawStream(provider);
      r.stream.write({ open: { instance_id: instanceId, remote_port: echo.port, key_pair_name: sshd.keyName } } as never);
      return r;
    };
    const held = [open(), open(), open()];
    for (const h of held) while (!h.frames.some((f) => f.frame === "opened")) await Bun.sleep(10);
    const refused = open();
    const s = await refused.status;
    expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(s.details).toContain("at most 3");
    held[0]!.stream.end();
    expect((await held[0]!.status).code).toBe(grpc.status.OK);
    const again = open();
    while (!again.frames.some((f) => f.frame === "opened")) await Bun.sleep(10);
    for (const h of [...held.slice(1), again]) h.stream.end();
    for (const h of [...held.slice(1), again]) expect((await h.status).code).toBe(grpc.status.OK);
  }, 30_000);

  test("a stream past --ssh-stream-tunnel-max-bytes ends RESOURCE_EXHAUSTED", async () => {
    const p = await another(["--ssh-stream-tunnel-max-bytes", "100000"]);
    const id = await runningInstance(p);
    const { stream, status } = rawStream(p);
    stream.write({ open: { instance_id: id, remote_port: echo.port, key_pair_name: sshd.keyName } } as never);
    for (let i = 0; i < 10; i++) stream.write({ data: randomBytes(30_000) });
    const s = await status;
    expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(s.details).toContain("100000 bytes");
  }, 30_000);

  test("a stream that carries no bytes for --ssh-tunnel-idle-seconds ends DEADLINE_EXCEEDED", async () => {
    const p = await another(["--ssh-tunnel-idle-seconds", "1"]);
    const id = await runningInstance(p);
    const { stream, frames, status } = rawStream(p);
    stream.write({ open: { instance_id: id, remote_port: echo.port, key_pair_name: sshd.keyName } } as never);
    const s = await status;
    expect(frames[0]!.frame).toBe("opened");
    expect(s.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(s.details).toContain("idle");
  }, 30_000);

  test("needs the ssh scope: a read-only token is PERMISSION_DENIED, an ssh token tunnels", async () => {
    const dir = sshd.dir;
    const tokens = join(dir, "tokens");
    writeFileSync(tokens, "reader-token-0123456789abcdef read\nssh-token-0123456789abcdef ssh,read\n", { mode: 0o600 });
    const p = await another(["--auth-token-file", tokens]);
    const bearer = (t: string) => {
      const m = new grpc.Metadata();
      m.set("authorization", `Bearer ${t}`);
      return m;
    };
    const id = (await p.client.call("ListInstances", { filters: { status: "running" }, page_size: 1 }, { metadata: { authorization: "Bearer reader-token-0123456789abcdef" } })).instances[0].id;
    const denied = rawStream(p, bearer("reader-token-0123456789abcdef"));
    denied.stream.write({ open: { instance_id: id, remote_port: echo.port, key_pair_name: sshd.keyName } } as never);
    const d = await denied.status;
    expect(d.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(d.details).toContain('"ssh" scope');
    const ok = rawStream(p, bearer("ssh-token-0123456789abcdef"));
    ok.stream.write({ open: { instance_id: id, remote_port: echo.port, key_pair_name: sshd.keyName } } as never);
    ok.stream.end();
    expect((await ok.status).code).toBe(grpc.status.OK);
  }, 30_000);
});

describe("listener tunnels name their replica", () => {
  test("ids are tun-<replica>-<hex>; Close on another replica is FAILED_PRECONDITION naming the owner", async () => {
    const b = await another(["--replica-id", "replica-b"]);
    const res = await provider.client.call("CreateInstanceSSHTunnel", { instance_id: instanceId, remote_port: echo.port, key_pair_name: sshd.keyName });
    expect(res.tunnel_id).toMatch(/^tun-replica-a-[0-9a-f]{16}$/);
    const err = await grpcError(b.client.call("CloseInstanceSSHTunnel", { tunnel_id: res.tunnel_id }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain("replica-a");
    await provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: res.tunnel_id });
    expect((await grpcError(provider.client.call("CloseInstanceSSHTunnel", { tunnel_id: res.tunnel_id }))).code).toBe(grpc.status.NOT_FOUND);
  }, 30_000);
});

describe("the tunnel subcommand", () => {
  test("`bun providers/aws/main.ts tunnel` forwards a local port to the instance: a plain TCP client reaches the echo service", async () => {
    const proc = spawn([process.execPath, join(import.meta.dir, "../../providers/aws/main.ts"), "tunnel", "--addr", provider.address, "--instance", instanceId, "--remote-port", String(echo.port), "--local-port", "0", "--key-pair", sshd.keyName], {
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      let out = "";
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) {
        out += decoder.decode(chunk);
        if (/forwarding 127\.0\.0\.1:\d+/.test(out)) break;
      }
      const port = Number(/forwarding 127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const payload = randomBytes(256 * 1024);
      expect(sha(await echoThrough(port, payload))).toBe(sha(payload));
    } finally {
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    }
  }, 60_000);
});
