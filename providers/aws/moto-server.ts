// Test support: runs moto's EC2 emulator (`python3 -m moto.server`) on a
// free loopback port. Port 0 lets the server pick the port; it prints the
// address it bound ("Running on http://127.0.0.1:PORT"), which is read back
// here, so there is no race between choosing and binding a port.
import { spawn, type Subprocess } from "bun";

export interface MotoServer {
  url: string;
  stop(): Promise<void>;
}

export async function startMoto(timeoutMs = 60_000): Promise<MotoServer> {
  const proc: Subprocess<"ignore", "pipe", "pipe"> = spawn(["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  const stop = async () => {
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await proc.exited;
    clearTimeout(timer);
  };
  let seen = "";
  const found = new Promise<string>((resolve, reject) => {
    const read = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        seen += decoder.decode(chunk, { stream: true });
        const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
        if (m) resolve(m[1]!);
        if (seen.length > 64 * 1024) seen = seen.slice(-16 * 1024); // request log keeps flowing; keep the tail only
      }
    };
    read(proc.stderr).catch(() => {});
    read(proc.stdout).catch(() => {});
    proc.exited.then((code) => reject(new Error(`moto exited with ${code} before serving: ${seen.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`moto did not report its address within ${timeoutMs} ms: ${seen.slice(-2000)}`)), timeoutMs).unref();
  });
  try {
    return { url: await found, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
