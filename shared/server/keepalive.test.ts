// The platform's client pings every 10 s with a 3 s timeout, also while idle.
// A server with a default ping policy answers that with GOAWAY
// (too_many_pings) and drops the connection. This keeps a client with those
// exact settings connected across an idle minute and counts the pings.
// SKYCLUST_KEEPALIVE_IDLE_MS shortens the wait for quick local runs; CI runs
// the real minute.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { spawnProvider } from "../testing/process";

const IDLE_MS = Number(process.env.SKYCLUST_KEEPALIVE_IDLE_MS ?? 65_000);

test(
  `a client pinging every 10 s stays connected across ${IDLE_MS / 1000} s idle`,
  async () => {
    const server = await spawnProvider("aws", ["--sandbox"]);
    try {
      const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../testing/keepalive-client.ts"), server.address, String(IDLE_MS)], {
        env: { ...process.env, GRPC_TRACE: "keepalive", GRPC_VERBOSITY: "DEBUG" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect(code).toBe(0);
      const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
      // Any change (IDLE, CONNECTING, TRANSIENT_FAILURE) means the connection dropped.
      expect(summary.transitions).toEqual([]);
      expect(summary.second).toBe("ok");
      const acked = stderr.match(/Received ping response/g)?.length ?? 0;
      const failed = stderr.match(/Ping failed|Ping timeout|too_many_pings/gi)?.length ?? 0;
      expect(failed).toBe(0);
      expect(acked).toBeGreaterThanOrEqual(Math.floor(IDLE_MS / 10_000) - 1);
      expect(server.output()).not.toContain("too_many_pings");
    } finally {
      await server.stop();
    }
  },
  IDLE_MS + 30_000,
);
