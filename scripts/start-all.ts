#!/usr/bin/env bun
// Starts every provider of the registry (providers/index.ts) in sandbox mode
// (no cloud account needed) on its default port, with log lines prefixed by
// provider. Ctrl-C (or SIGTERM) drains them all.
//   npm start                    sandbox mode
//   npm start -- --cloud         real clouds, credentials from the environment
import { spawn } from "bun";
import { join } from "node:path";
import { PROVIDERS } from "../providers/index";

const cloud = process.argv.includes("--cloud");
const passThrough = process.argv.slice(2).filter((a) => a !== "--cloud");
const children = PROVIDERS.map(({ name, entry }) => {
  const proc = spawn([process.execPath, join(import.meta.dir, "..", entry), ...(cloud ? [] : ["--sandbox"]), ...passThrough], {
    stdin: "ignore",
    stdout: "inherit",
    stderr: "pipe",
    // Own process group: a terminal's Ctrl-C reaches only this script, which
    // forwards one SIGTERM (a second signal would make a provider exit at once).
    detached: true,
  });
  (async () => {
    let buf = "";
    for await (const chunk of proc.stderr) {
      buf += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        process.stderr.write(`${name.padEnd(9)}| ${buf.slice(0, nl)}\n`);
        buf = buf.slice(nl + 1);
      }
    }
  })();
  return { name, proc };
});

const ports = PROVIDERS.map((p) => `${p.defaultPort} ${p.name}`).join(", ");
console.error(`started ${PROVIDERS.length} providers${cloud ? "" : " in sandbox mode"} (${ports}): try  grpcurl -plaintext localhost:${PROVIDERS[0]!.defaultPort} list`);
let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.proc.kill(signal === "SIGINT" ? "SIGTERM" : signal);
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
const codes = await Promise.all(children.map(async (c) => ({ name: c.name, code: await c.proc.exited })));
const failed = codes.filter((c) => c.code !== 0);
for (const f of failed) console.error(`${f.name} exited with ${f.code}`);
process.exit(stopping && failed.length === 0 ? 0 : 1);
