// Access to the real OpenStack testbed (providers/openstack/testbed) for
// tests: its member credentials as an environment, and a reachability check
// that FAILS with the command to run instead of skipping.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const TESTBED_DIR = process.env.OPENSTACK_TESTBED_DIR || "/tmp/skyclust-openstack";
const START_HINT = "start it with: providers/openstack/testbed/testbed.sh start (from the repository root; about 30 s from saved state, ~7 min on first use)";

/** Parses `export A=1 B=2` lines of an openrc file. */
export function parseOpenrc(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const body = line.trim().replace(/^export\s+/, "");
    if (!body || body.startsWith("#")) continue;
    for (const m of body.matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g)) env[m[1]!] = m[2]!.replace(/^["']|["']$/g, "");
  }
  return env;
}

/** The testbed's member (demo) credentials; throws with the start command when absent. */
export function testbedEnv(which: "demo" | "admin" = "demo"): Record<string, string> {
  const file = join(TESTBED_DIR, `${which}-openrc`);
  if (!existsSync(file)) throw new Error(`the OpenStack testbed has no ${file}: ${START_HINT}`);
  return parseOpenrc(readFileSync(file, "utf8"));
}

/** Throws (never skips) when Keystone or Nova of the testbed do not answer. */
export async function requireTestbed(env: Record<string, string>): Promise<void> {
  const probes = [env.OS_AUTH_URL!, "http://127.0.0.1:8774/", "http://127.0.0.1:9292/"];
  for (const url of probes) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
    } catch (err) {
      throw new Error(`the OpenStack testbed is not reachable (${url}: ${(err as Error).message}); ${START_HINT}`);
    }
  }
}
