// A network namespace joined to this host by a veth pair, so a test can call
// a provider from a real non-loopback address (127.0.0.2 is still loopback).
// Needs root (ip netns). Addresses are 10.213.N.1 (host side) and
// 10.213.N.2 (namespace side) on a /30 that exists only on this pair.
export interface TestNetns {
  name: string;
  hostAddress: string;
  nsAddress: string;
  /** Runs argv inside the namespace; resolves with its exit code and output. */
  run(argv: string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  remove(): void;
}

function ip(args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args]);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`);
}

export function createNetns(): TestNetns {
  const n = 1 + (process.pid % 250);
  const name = `skyclust-t-${process.pid}`;
  const hostIf = `sct${process.pid % 100000}a`;
  const nsIf = `sct${process.pid % 100000}b`;
  const hostAddress = `10.213.${n}.1`;
  const nsAddress = `10.213.${n}.2`;
  const remove = () => {
    Bun.spawnSync(["ip", "netns", "del", name]); // takes the veth pair with it
    Bun.spawnSync(["ip", "link", "del", hostIf]);
  };
  remove();
  try {
    ip(["netns", "add", name]);
    ip(["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
    ip(["link", "set", nsIf, "netns", name]);
    ip(["addr", "add", `${hostAddress}/30`, "dev", hostIf]);
    ip(["link", "set", hostIf, "up"]);
    ip(["netns", "exec", name, "ip", "addr", "add", `${nsAddress}/30`, "dev", nsIf]);
    ip(["netns", "exec", name, "ip", "link", "set", nsIf, "up"]);
    ip(["netns", "exec", name, "ip", "link", "set", "lo", "up"]);
  } catch (err) {
    remove();
    throw err;
  }
  return {
    name,
    hostAddress,
    nsAddress,
    async run(argv, env = {}) {
      const proc = Bun.spawn(["ip", "netns", "exec", name, ...argv], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      return { code, stdout, stderr };
    },
    remove,
  };
}
