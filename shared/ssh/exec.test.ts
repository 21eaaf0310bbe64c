// runCommand against an SSH server that answers the exec request, the
// output, the exit status and the close in one burst: ssh2 then parses them
// in one socket read, synchronously after handing over the channel, so a
// listener attached a tick later misses the exit status (it reported -1).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AddressInfo } from "node:net";
import ssh2 from "ssh2";
import { runCommand } from "./exec";

let server: ssh2.Server;
let port: number;

beforeAll(async () => {
  const hostKey = ssh2.utils.generateKeyPairSync("ed25519").private;
  server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on("authentication", (ctx) => ctx.accept());
    client.on("session", (accept) => {
      accept().on("exec", (acceptExec, _reject, info) => {
        const stream = acceptExec();
        const code = Number(/exit (\d+)/.exec(info.command)?.[1] ?? 0);
        // Everything in the same tick as the exec reply.
        stream.write(`ran ${info.command}`);
        stream.stderr.write("e");
        stream.exit(code);
        stream.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

function connect(): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on("ready", () => resolve(c)).on("error", reject).connect({ host: "127.0.0.1", port, username: "u", password: "p" });
  });
}

describe("runCommand", () => {
  test("exit status and output that arrive with the exec reply are never lost (300 commands, 10 at a time)", async () => {
    const client = await connect();
    try {
      const wrong: string[] = [];
      const one = async (i: number) => {
        const r = await runCommand(client, { command: `exit ${i % 5}`, timeoutMs: 10_000, outputMaxBytes: 1024, signal: new AbortController().signal });
        if (r.exitCode !== i % 5 || r.stdout !== `ran exit ${i % 5}` || r.stderr !== "e") wrong.push(`#${i}: ${JSON.stringify(r)}`);
      };
      for (let i = 0; i < 300; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => one(i + k)));
      expect(wrong).toEqual([]);
    } finally {
      client.end();
    }
  }, 60_000);
});
