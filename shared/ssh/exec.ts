// Runs one command on a connected client: output captured up to a cap per
// stream, counted in UTF-8 bytes of the reply (the rest is read and dropped,
// so the remote side never blocks on a full pipe), exit code or signal, and a timeout. On timeout the command
// gets a KILL signal request and the channel is closed; servers that refuse
// signal requests (OpenSSH does for root sessions) still see the channel
// close, after which a command that writes dies of SIGPIPE.
import type { Client, ClientChannel } from "ssh2";
import { abortError, unavailable } from "../errors";
import type { ExecResult } from "./types";

class CappedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const room = this.max - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  /**
   * The output as it goes on the wire: UTF-8 of at most `max` bytes. Bytes
   * that are not UTF-8 decode to U+FFFD, three bytes each, so capping the
   * raw bytes alone let 1 MiB of 0xFF become a 3 MiB reply; the decoded
   * text is cut again to the cap.
   */
  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (this.truncated) buf = buf.subarray(0, utf8Boundary(buf));
    const text = buf.toString("utf8");
    if (text.length * 3 <= this.max) return text; // cannot exceed the cap
    const encoded = Buffer.from(text, "utf8");
    if (encoded.length <= this.max) return text;
    this.truncated = true;
    const cut = encoded.subarray(0, this.max);
    return cut.subarray(0, utf8Boundary(cut)).toString("utf8");
  }
}

/** Length of `buf` without a trailing incomplete UTF-8 sequence (a cut mid-character). */
function utf8Boundary(buf: Buffer): number {
  let i = buf.length - 1;
  let back = 0;
  while (i >= 0 && back < 4 && (buf[i]! & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i < 0) return buf.length;
  const lead = buf[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return need > back + 1 ? i : buf.length;
}

export interface ExecOptions {
  command: string;
  timeoutMs: number;
  outputMaxBytes: number;
  signal: AbortSignal;
}

/**
 * Starts the command and wires every listener in the same tick the channel
 * is handed over: ssh2 parses a whole socket read at once, so output, the
 * exit status and the close can follow the exec reply synchronously, and a
 * listener attached a microtask later (after an await) misses them (about 1
 * call in 60 reported exit code -1 for a command that exited 3).
 */
export function runCommand(client: Client, opts: ExecOptions): Promise<ExecResult> {
  const stdout = new CappedBuffer(opts.outputMaxBytes);
  const stderr = new CappedBuffer(opts.outputMaxBytes);
  return new Promise<ExecResult>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let exitCode: number | undefined;
    let signalName: string | undefined;
    let timedOut = false;
    let done = false;
    const stop = () => {
      try {
        channel?.signal("KILL");
      } catch {
        // the channel may already be gone
      }
      channel?.close();
    };
    const finish = () => {
      done = true;
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
    };
    const settle = () => {
      if (done) return;
      finish();
      resolve({
        stdout: stdout.text(),
        stderr: stderr.text(),
        exitCode: exitCode ?? -1,
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        signal: signalName,
        timedOut,
      });
    };
    const onAbort = () => {
      if (done) return;
      finish();
      stop();
      reject(abortError(opts.signal));
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
      // Do not wait on a server that never confirms the close.
      setTimeout(() => settle(), 2000).unref?.();
    }, opts.timeoutMs);
    opts.signal.addEventListener("abort", onAbort, { once: true });

    client.exec(opts.command, (err, stream) => {
      if (err) {
        if (done) return;
        finish();
        reject(unavailable(`the instance refused to start the command: ${(err as Error).message}`));
        return;
      }
      channel = stream;
      if (done) return stop(); // aborted while the channel was opening
      stream.on("data", (d: Buffer) => stdout.push(d));
      stream.stderr.on("data", (d: Buffer) => stderr.push(d));
      stream.on("exit", (code: number | null, sig?: string) => {
        if (typeof code === "number") exitCode = code;
        else if (sig) signalName = sig.startsWith("SIG") ? sig : `SIG${sig}`;
      });
      stream.on("close", settle);
      stream.on("error", () => settle());
    });
  });
}
