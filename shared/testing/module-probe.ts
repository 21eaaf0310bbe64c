// Which packages a process has evaluated, asked in a process of its own (a
// module graph is per process, so a test cannot ask its own). A probe
// script starts a provider, calls packagesLoaded() at the moments it cares
// about and prints one JSON line; runModuleProbe() runs it and parses that
// line. Used by the start-path and lazy-load tests.

/** The names in `fragments` (name -> path fragment) whose modules this process has loaded. */
export function packagesLoaded(fragments: Record<string, string>): string[] {
  const modules = Object.keys(require.cache).map((k) => k.replaceAll("\\", "/"));
  return Object.entries(fragments)
    .filter(([, fragment]) => modules.some((m) => m.includes(fragment)))
    .map(([name]) => name);
}

/** Runs `script` with `args` in a fresh bun process; resolves with its last stdout line as JSON. */
export async function runModuleProbe<T>(script: string, args: string[]): Promise<T> {
  const proc = Bun.spawn([process.execPath, script, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${script.split("/").at(-1)} ${args.join(" ")} exited ${code}: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as T;
}
