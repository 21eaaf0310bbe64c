// TunnelInstancePort: a TCP byte stream to a port on the instance, carried
// over SSH inside one bidi gRPC call, so a tunnel works wherever a gRPC call
// works (any replica, through the same TLS and authentication, no extra
// listening port). What it guards:
//
// - flow control both ways: when the call's send buffer is full the SSH
//   channel is paused until it drains, and when the channel's buffer is full
//   the call stops reading (HTTP/2 flow control then holds the client back);
// - limits: streams per caller at once, bytes per stream (both ways
//   together), an idle timeout with no bytes either way, 1 MiB per frame, and
//   10 s for the first (open) frame;
// - clean half-close: the client ending its side is EOF on the channel; the
//   instance side ending is an `eof` frame; the call ends OK once both have.
import * as grpc from "@grpc/grpc-js";
import { createHash } from "node:crypto";
import { ProviderError, deadlineExceeded, failedPrecondition, invalidArgument, resourceExhausted, unavailable, unimplemented } from "../errors";
import type { CallContext, CloudBackend } from "../provider";
import type { SshService, StreamTunnel } from "../ssh/types";
import { defaultLoginUser } from "../ssh/users";
import { tenantScope } from "../tenancy/scope";
import { authFailureReason } from "./auth/access";
import { requestIdOf, type CallDeps } from "./calls";
import { codeName, toGrpcError } from "./grpc-errors";
import { defaultRegionOf } from "./handlers/env";
import { checkKeyPairName, checkRegion, requireText } from "./validation";

export const TUNNEL_METHOD = "TunnelInstancePort";
export const MAX_FRAME_BYTES = 1024 * 1024;
const OPEN_WAIT_MS = 10_000;

interface Frame {
  frame?: "open" | "data" | "opened" | "eof";
  open?: { instance_id?: string; region?: string; remote_port?: number; key_pair_name?: string } | null;
  data?: Buffer;
  opened?: { message: string } | null;
  eof?: boolean;
}

export interface TunnelStreamOptions {
  backend: CloudBackend;
  ssh: SshService;
}

/**
 * Who counts as one caller for the per-caller limit: the tenant (per-call
 * credentials), else the bearer token (by digest) when one is sent, else the
 * peer's address without its port.
 */
function callerKey(call: grpc.ServerDuplexStream<Frame, Frame>, peer: string, tenant: string | undefined): string {
  if (tenant) return `tenant:${tenant}`;
  const auth = call.metadata.get("authorization")[0];
  if (typeof auth === "string" && auth) return `token:${createHash("sha256").update(auth).digest("hex").slice(0, 16)}`;
  return `peer:${peer.replace(/:\d+$/, "")}`;
}

export function tunnelStreamService(deps: CallDeps, opts: TunnelStreamOptions): grpc.UntypedServiceImplementation {
  const streamsByCaller = new Map<string, number>();
  return {
    [TUNNEL_METHOD]: (call: grpc.ServerDuplexStream<Frame, Frame>) => void serve(call),
  };

  async function serve(call: grpc.ServerDuplexStream<Frame, Frame>): Promise<void> {
    const started = performance.now();
    const peer = call.getPeer();
    deps.metrics?.rpcStarted(TUNNEL_METHOD, "bidi_stream");
    const requestId = requestIdOf(call.metadata);
    const log = deps.log.child({ request_id: requestId });
    const controller = new AbortController();
    const ctx: CallContext = { signal: controller.signal, requestId, log };
    deps.inflight.enter();

    let tunnel: StreamTunnel | undefined;
    let caller: string | undefined;
    let releaseTenant = () => {};
    let finished = false;
    let bytesIn = 0;
    let bytesOut = 0;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const onForce = () => finish(unavailable(`${TUNNEL_METHOD}: the provider is shutting down`));
    deps.inflight.forceAbort.signal.addEventListener("abort", onForce, { once: true });

    function finish(err?: unknown): void {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t), clearInterval(t);
      deps.inflight.forceAbort.signal.removeEventListener("abort", onForce);
      controller.abort(err ?? new ProviderError("CANCELLED", "tunnel finished"));
      tunnel?.close();
      releaseTenant();
      if (caller) {
        const n = (streamsByCaller.get(caller) ?? 1) - 1;
        if (n <= 0) streamsByCaller.delete(caller);
        else streamsByCaller.set(caller, n);
      }
      let code: grpc.status = grpc.status.OK;
      if (err) {
        const mapped = toGrpcError(err);
        code = mapped.status.code ?? grpc.status.UNKNOWN;
        mapped.status.metadata ??= new grpc.Metadata();
        mapped.status.metadata.set("x-request-id", requestId);
        if (!call.cancelled) call.emit("error", mapped.status);
        if (mapped.logDetail) log.error("unexpected error", { method: TUNNEL_METHOD, error: mapped.logDetail });
      } else if (!call.cancelled) {
        call.end();
      }
      deps.inflight.leave();
      deps.metrics?.rpcHandled(TUNNEL_METHOD, code, (performance.now() - started) / 1000, "bidi_stream");
      const fields = { method: TUNNEL_METHOD, code: codeName(code), duration_ms: Math.round((performance.now() - started) * 10) / 10, peer, bytes_in: bytesIn, bytes_out: bytesOut };
      if (code === grpc.status.OK || code === grpc.status.CANCELLED) log.info("rpc", fields);
      else log.warn("rpc", fields);
    }

    call.on("cancelled", () => finish(new ProviderError("CANCELLED", `${TUNNEL_METHOD}: cancelled by the caller`)));

    try {
      try {
        deps.access?.check(TUNNEL_METHOD, call, peer);
      } catch (err) {
        deps.metrics?.authFailure(authFailureReason(err));
        throw err;
      }
      const limits = opts.ssh.streamLimits;
      if (!opts.ssh.openStream || !limits) throw unimplemented(`${TUNNEL_METHOD} is not available on this server`);
      // Per-call credentials: the tenant's backend (and SSH keys), leased until the stream ends.
      const entered = deps.tenancy ? await deps.tenancy.enter(call, peer, ctx) : undefined;
      if (entered) releaseTenant = entered.release;
      if (finished) return;
      caller = callerKey(call, peer, ctx.tenant);
      const held = streamsByCaller.get(caller) ?? 0;
      if (held >= limits.perCaller) {
        caller = undefined;
        throw resourceExhausted(`at most ${limits.perCaller} ${TUNNEL_METHOD} streams per caller may be open at once; end one first`);
      }
      streamsByCaller.set(caller, held + 1);

      const first = await firstFrame(call, timers);
      if (finished) return;
      if (first.frame !== "open" || !first.open) throw invalidArgument("open", "the first frame must be open (instance_id, region, remote_port, key_pair_name)");
      const o = first.open;
      const instanceId = requireText("open.instance_id", o.instance_id);
      const regionValue = checkRegion("open.region", o.region, false);
      const remotePort = o.remote_port ?? 0;
      if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) throw invalidArgument("open.remote_port", "must be 1 to 65535");
      const keyPairName = o.key_pair_name ? checkKeyPairName("open.key_pair_name", o.key_pair_name) : undefined;
      const open = async () => {
        const backend = opts.backend;
        const instance = await backend.getInstance(ctx, { instanceId, region: regionValue === "" ? await defaultRegionOf(backend, ctx.signal) : regionValue });
        const userHint = backend.sshUserHint?.(instance) ?? defaultLoginUser(backend.loginUsers, instance);
        return { instance, opened: await opts.ssh.openStream!(ctx, instance, { remotePort, keyPairName, userHint }) };
      };
      const { instance, opened } = entered ? await tenantScope.run(entered.scope, open) : await open();
      if (finished) {
        opened.close();
        return;
      }
      tunnel = opened;
      log.info("ssh stream tunnel opened", { instance_id: instance.id, remote_port: remotePort });
      call.write({ opened: { message: `connected to port ${remotePort} of ${instance.id}` } });
      pump(opened, limits);
    } catch (err) {
      finish(err);
    }

    function pump(t: StreamTunnel, limits: { maxBytes: number; idleMs: number }): void {
      const channel = t.channel;
      let clientEof = false;
      let remoteEof = false;
      let lastActivity = Date.now();
      const counted = (_n: number): boolean => {
        lastActivity = Date.now();
        if (bytesIn + bytesOut > limits.maxBytes) {
          finish(resourceExhausted(`this tunnel carried its limit of ${limits.maxBytes} bytes; open a new one`));
          return false;
        }
        return true;
      };
      const maybeDone = () => {
        if (clientEof && remoteEof) finish();
      };

      // Instance -> caller. A full call buffer pauses the channel (SSH window).
      channel.on("data", (chunk: Buffer) => {
        if (finished) return;
        bytesOut += chunk.length;
        if (!counted(chunk.length)) return;
        if (!call.write({ data: chunk })) {
          channel.pause();
          call.once("drain", () => channel.resume());
        }
      });
      channel.on("end", () => {
        if (finished) return;
        remoteEof = true;
        call.write({ eof: true });
        maybeDone();
      });
      channel.on("error", (err: Error) => finish(unavailable(`the channel to the instance failed: ${err.message.slice(0, 200)}`)));
      channel.on("close", () => {
        if (!remoteEof) finish(unavailable("the connection to the instance port closed"));
      });
      t.closed.then(() => {
        if (!(clientEof && remoteEof)) finish(unavailable("the SSH connection to the instance closed"));
      });

      // Caller -> instance. A full channel buffer stops reading the call.
      call.on("data", (frame: Frame) => {
        if (finished) return;
        if (frame.frame !== "data") return finish(invalidArgument("frame", "after open, a client sends only data frames"));
        const buf = frame.data ?? Buffer.alloc(0);
        if (buf.length > MAX_FRAME_BYTES) return finish(invalidArgument("data", `at most ${MAX_FRAME_BYTES} bytes per frame`));
        if (clientEof) return;
        bytesIn += buf.length;
        if (!counted(buf.length)) return;
        if (!channel.write(buf)) {
          call.pause();
          channel.once("drain", () => call.resume());
        }
      });
      call.on("end", () => {
        if (finished) return;
        clientEof = true;
        channel.end();
        maybeDone();
      });
      const idle = setInterval(() => {
        if (Date.now() - lastActivity >= limits.idleMs) finish(deadlineExceeded(`no bytes either way for ${Math.round(limits.idleMs / 1000)} s: the tunnel was closed as idle`));
      }, Math.max(250, Math.min(limits.idleMs / 4, 30_000)));
      idle.unref?.();
      timers.push(idle);
      call.resume();
    }
  }
}

/** The client's first frame, within OPEN_WAIT_MS; the call stays paused after it. */
function firstFrame(call: grpc.ServerDuplexStream<Frame, Frame>, timers: ReturnType<typeof setTimeout>[]): Promise<Frame> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(failedPrecondition(`no open frame within ${OPEN_WAIT_MS / 1000} s`)), OPEN_WAIT_MS);
    timers.push(timer);
    const onData = (frame: Frame) => {
      // Paused before anything else is read: data frames wait for the channel.
      call.pause();
      call.off("end", onEnd);
      clearTimeout(timer);
      resolve(frame);
    };
    const onEnd = () => {
      call.off("data", onData);
      clearTimeout(timer);
      reject(invalidArgument("open", "the stream ended before its open frame"));
    };
    call.once("data", onData);
    call.once("end", onEnd);
  });
}
