// Test support: a directory laid out exactly like a Kubernetes Secret volume
// (kubelet's AtomicWriter): each key is a symlink `KEY -> ..data/KEY`,
// `..data` is a symlink to a timestamped directory, and an update writes a
// new directory and swaps `..data` with one rename, so every key changes at
// once. Files are 0400, as `defaultMode: 0400` makes them.
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class SecretVolume {
  readonly dir: string;
  private generation = 0;

  constructor(files: Record<string, string>) {
    this.dir = mkdtempSync(join(tmpdir(), "skyclust-secret-volume-"));
    const first = this.writeGeneration(files);
    symlinkSync(first, join(this.dir, "..data"));
    for (const key of Object.keys(files)) symlinkSync(join("..data", key), join(this.dir, key));
  }

  path(key: string): string {
    return join(this.dir, key);
  }

  /** Replaces every key's content at once (the keys stay the same). */
  update(files: Record<string, string>): void {
    const next = this.writeGeneration(files);
    symlinkSync(next, join(this.dir, "..data_tmp"));
    renameSync(join(this.dir, "..data_tmp"), join(this.dir, "..data"));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeGeneration(files: Record<string, string>): string {
    const name = `..2026_12_01_00_00_${String(++this.generation).padStart(2, "0")}.${process.pid}`;
    mkdirSync(join(this.dir, name), { mode: 0o755 });
    for (const [key, value] of Object.entries(files)) {
      writeFileSync(join(this.dir, name, key), value, { mode: 0o400 });
      chmodSync(join(this.dir, name, key), 0o400);
    }
    return name;
  }
}
