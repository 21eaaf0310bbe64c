// ssh2 is loaded on the first SSH call, not at start: `--help`, the
// healthcheck subcommand (run every few seconds by container runtimes) and
// servers that never use SSH skip its ~40 ms of module loading.
type Ssh2 = typeof import("ssh2");

let loaded: Promise<Ssh2> | undefined;

export function loadSsh2(): Promise<Ssh2> {
  loaded ??= import("ssh2");
  return loaded;
}
