// Secrets that live in files, the way operators keep them: Kubernetes Secret
// volumes, Docker/compose secrets, Vault Agent and the CSI secrets store all
// hand a process a file, not an environment variable (variables leak through
// /proc/PID/environ, `docker inspect` and crash dumps).
//
// Every flag declared `secret: true` gets a twin `--NAME-file` / `VAR_FILE`
// (the convention of the official container images). The file is checked
// like ssh and PostgreSQL check key files, and re-read when it changes: a
// cloud call asks `current()` and gets the value on disk now. Kubernetes
// updates a mounted Secret by swapping the `..data` symlink, Vault Agent
// rewrites the file; both change what stat() reports for the path, which is
// what is compared (one stat per call: microseconds, against a network call).
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { ConfigError, type FlagSpec, type Settings } from "./config";
import { rememberSecret } from "./cloud/scrub";
import type { Logger } from "./log";

/** Larger files are refused: no credential is this long, and reading is bounded. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** A value that may change while the process runs. */
export interface Secret {
  /** The value now (re-read from its file when the file changed). */
  current(): string;
  /** Grows by one each time the value changes, so caches keyed on it can drop what the old value bought. */
  version(): number;
}

/** What backends hold: a fixed string (flag, variable) or a live Secret (file). */
export type SecretValue = string | Secret;

export const reveal = (v: SecretValue): string => (typeof v === "string" ? v : v.current());
export const secretVersion = (v: SecretValue): number => (typeof v === "string" ? 0 : v.version());

/** The `_FILE` twin of a secret flag: "--pve-password-file" / "PROXMOX_PASSWORD_FILE". */
export function fileTwin(spec: FlagSpec): FlagSpec {
  return {
    name: `${spec.name}-file`,
    kind: "string",
    env: spec.env ? `${spec.env}_FILE` : undefined,
    help: `read --${spec.name} from this file (re-read when it changes; must not be readable by group or others)`,
  };
}

const hasFileForm = (spec: FlagSpec) => spec.kind === "string" && (spec.secret === true || spec.fileForm === true);

/** `specs` plus the `_FILE` twin of every secret (or fileForm) flag, each right after its flag. */
export function withSecretFileFlags(specs: FlagSpec[]): FlagSpec[] {
  const names = new Set(specs.map((s) => s.name));
  return specs.flatMap((s) => (hasFileForm(s) && !names.has(`${s.name}-file`) ? [s, fileTwin(s)] : [s]));
}

const label = (spec: FlagSpec, file = false) => {
  const flag = `--${spec.name}${file ? "-file" : ""}`;
  return spec.env ? `${spec.env}${file ? "_FILE" : ""} (${flag})` : flag;
};

/**
 * Refuses a secret file that anyone but its reader (and root) can read.
 * Owned by the process's user: no group or other bits at all (0600, 0400).
 * Owned by root: group read is allowed (0640, 0440), because that is what a
 * Kubernetes Secret volume becomes under `fsGroup` (kubelet adds g+r and sets
 * the pod's group) and the only way a non-root container can read it; the
 * same rule PostgreSQL applies to its key files.
 */
export function checkSecretFileMode(st: Stats, what: string, path: string): void {
  if (process.platform === "win32") return; // no POSIX modes; NTFS ACLs are the operator's job
  const mode = st.mode & 0o777;
  const octal = mode.toString(8).padStart(4, "0");
  if (mode & 0o007) throw new ConfigError(`${what}: ${path} is readable by others (mode ${octal}); chmod 600 it`);
  if (mode & 0o070 && !(st.uid === 0 && (mode & 0o070) === 0o040)) {
    throw new ConfigError(`${what}: ${path} is accessible to its group (mode ${octal}); chmod 600 it (group read is accepted only on root-owned files, as Kubernetes fsGroup makes them)`);
  }
}

/** Reads a secret file: a regular file, private, bounded; trailing newlines dropped (editors and `echo` add one). */
export function readSecretFile(path: string, what: string): { value: string; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`${what}: ${path} is not a regular file`);
    checkSecretFileMode(st, what, path);
    if (st.size > MAX_SECRET_FILE_BYTES) throw new ConfigError(`${what}: ${path} is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
    const buf = Buffer.alloc(Math.min(st.size, MAX_SECRET_FILE_BYTES) + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > MAX_SECRET_FILE_BYTES) throw new ConfigError(`${what}: ${path} is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
    const value = buf.subarray(0, n).toString("utf8").replace(/[\r\n]+$/, "");
    if (value === "") throw new ConfigError(`${what}: ${path} is empty`);
    return { value, stat: st };
  } finally {
    closeSync(fd);
  }
}

const fingerprint = (st: Stats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

/** A secret read from a file and re-read whenever stat() says the file changed. */
export class SecretFile implements Secret {
  private value: string;
  private seen: string;
  private changes = 0;
  /** The fingerprint last refused (unreadable, empty, bad mode): warn once per state, keep the last good value. */
  private refused?: string;

  constructor(
    readonly path: string,
    /** Names the setting in messages, e.g. "PROXMOX_PASSWORD_FILE (--pve-password-file)". */
    readonly what: string,
    private readonly log?: Logger,
  ) {
    const { value, stat } = readSecretFile(path, what);
    rememberSecret(value);
    this.value = value;
    this.seen = fingerprint(stat);
  }

  current(): string {
    this.refresh();
    return this.value;
  }

  version(): number {
    this.refresh();
    return this.changes;
  }

  private refresh(): void {
    let st: Stats;
    try {
      st = statSync(this.path);
    } catch (err) {
      return this.refuse(`missing:${(err as NodeJS.ErrnoException).code}`, `cannot stat the file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    const now = fingerprint(st);
    if (now === this.seen) return;
    let next: string;
    try {
      ({ value: next } = readSecretFile(this.path, this.what));
    } catch (err) {
      // Mid-rotation (a writer truncated the file, a swap is half done) or a
      // real mistake: either way the last good value is better than none.
      return this.refuse(now, (err as Error).message);
    }
    this.seen = now;
    this.refused = undefined;
    if (next === this.value) return;
    // Before anything can log or fail with it. The old value stays
    // remembered too: it was a credential, and may still work.
    rememberSecret(next);
    this.value = next;
    this.changes++;
    // Which setting and file, never the value.
    this.log?.info("credentials reloaded", { setting: this.what, path: this.path, reloads: this.changes });
  }

  private refuse(state: string, reason: string): void {
    if (this.refused === state) return;
    this.refused = state;
    this.log?.warn("secret file changed but cannot be used; keeping the previous value", { setting: this.what, path: this.path, reason });
  }
}

/** The live value of every secret (and fileForm) setting that is set, by flag name. */
export class Secrets {
  constructor(private readonly byName: Map<string, SecretValue> = new Map()) {}

  get(name: string): SecretValue | undefined {
    return this.byName.get(name);
  }

  /** Like get(), for settings the caller has already checked are present. */
  require(name: string): SecretValue {
    const v = this.byName.get(name);
    if (v === undefined) throw new ConfigError(`--${name} is not set`);
    return v;
  }
}

/**
 * Resolves every `_FILE` twin in `settings`: refuses a setting given both
 * ways, reads the file (so `settings[name]` holds the value at start-up, for
 * checks such as missingCredentials), and returns the live values.
 */
export function loadSecretFiles(specs: FlagSpec[], settings: Settings, log?: Logger): Secrets {
  const byName = new Map<string, SecretValue>();
  for (const spec of specs) {
    if (!hasFileForm(spec)) continue;
    const file = settings[`${spec.name}-file`];
    const direct = settings[spec.name];
    const fileSet = typeof file === "string" && file !== "";
    const directSet = direct !== undefined && direct !== "";
    if (fileSet && directSet) throw new ConfigError(`set ${label(spec)} or ${label(spec, true)}, not both`);
    if (fileSet) {
      const secret = new SecretFile(file, label(spec, true), log);
      settings[spec.name] = secret.current();
      byName.set(spec.name, secret);
    } else if (directSet) {
      // Secret settings only: a fileForm value (an AWS access key id) is
      // not a secret, and support needs to see which one was used.
      if (spec.secret) rememberSecret(String(direct));
      byName.set(spec.name, String(direct));
    }
  }
  return new Secrets(byName);
}
