// The files a clone of this repository holds: tracked, plus untracked files
// git does not ignore (so a new file counts before its first commit).
import { join } from "node:path";

export const REPO_ROOT = join(import.meta.dir, "..");

export function shippedFiles(root = REPO_ROOT): string[] {
  const r = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root });
  if (r.exitCode !== 0) throw new Error(`git ls-files failed: ${r.stderr.toString()}`);
  return [...new Set(r.stdout.toString().split("\0").filter(Boolean))];
}
