// Where private keys come from. The provider never invents a private key:
// a key pair name resolves to a file the operator put in the key directory
// (<dir>/<name> or <dir>/<name>.pem), or that the provider wrote there
// itself when the operator enabled keeping keys made by CreateKeyPair.
// Files readable by group or others are refused, as OpenSSH refuses them:
// a private key that other local users can read is not private.
//
// Only files inside the key directory are served: a symlink pointing out of
// it (to any 0600 key the provider's user can read) is refused, and so is a
// hard link to a file owned by another user. Symlinks that stay inside the
// directory are followed, because Kubernetes mounts secrets that way
// (NAME -> ..data/NAME). The file is opened once with O_NOFOLLOW and checked
// through that descriptor, so it cannot be swapped between check and read.
import { closeSync, existsSync, fstatSync, lstatSync, openSync, readFileSync, realpathSync, writeSync, constants as fsc } from "node:fs";
import { join, sep } from "node:path";
import { failedPrecondition } from "../errors";
import { loadSsh2 } from "./ssh2-module";
import { quote } from "../quote";

export interface ResolvedKey {
  /** The key pair name (or, for a path given by the operator, the path). */
  name: string;
  path: string;
  pem: string;
}

export interface KeyStoreOptions {
  dir?: string;
}

// Names become file names: allow what cloud key pair names use, nothing
// that could climb out of the directory.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+=, -]{0,254}$/;

export function isSafeKeyName(name: string): boolean {
  return SAFE_NAME.test(name) && !name.includes("..");
}

/** The real path of a key file, which must lie inside `dir`. */
function insideDir(dir: string, path: string, label: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw failedPrecondition(`private key for ${label} not found at ${path}`);
  }
  const realDir = realpathSync(dir);
  if (!real.startsWith(realDir + sep)) {
    throw failedPrecondition(`private key file ${path} for ${label} is a symbolic link to a file outside the SSH key directory; only files inside it are used`);
  }
  return real;
}

/**
 * Reads a private key file, refusing loose permissions and unusable keys;
 * with `dir`, also anything that is not a file inside that directory.
 */
export async function readPrivateKeyFile(path: string, label: string, dir?: string): Promise<string> {
  const target = dir ? insideDir(dir, path, label) : path;
  let fd: number;
  try {
    fd = openSync(target, fsc.O_RDONLY | (dir ? fsc.O_NOFOLLOW : 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw failedPrecondition(`private key file ${path} for ${label} is a symbolic link; only regular files are used`);
    throw failedPrecondition(`private key for ${label} not found at ${path}`);
  }
  let pem: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw failedPrecondition(`private key file ${path} for ${label} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw failedPrecondition(
        `private key file ${path} for ${label} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    // A hard link made by another user to their own key would otherwise pass
    // every check above; a key file of our own, or a single link, is fine.
    if (dir && st.nlink > 1 && typeof process.getuid === "function" && st.uid !== process.getuid()) {
      throw failedPrecondition(`private key file ${path} for ${label} is a hard link to a file owned by another user (uid ${st.uid}); copy the key instead`);
    }
    pem = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  const { utils } = await loadSsh2();
  const parsed = utils.parseKey(pem);
  if (parsed instanceof Error) {
    // The parser's message names the problem (e.g. an encrypted key) and
    // never echoes key material.
    throw failedPrecondition(`private key file ${path} for ${label} is not usable: ${parsed.message}`);
  }
  return pem;
}

/** Present as a directory entry, even as a dangling or outward symlink (so it is refused, not "missing"). */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export class KeyStore {
  constructor(private readonly opts: KeyStoreOptions) {}

  get dir(): string | undefined {
    return this.opts.dir;
  }

  /** Path of the key file for a key pair name, if one exists. */
  find(name: string): string | undefined {
    const dir = this.opts.dir;
    if (!dir || !isSafeKeyName(name)) return undefined;
    for (const candidate of [join(dir, name), join(dir, `${name}.pem`)]) {
      if (exists(candidate)) return candidate;
    }
    return undefined;
  }

  /** The private key for a key pair name; FAILED_PRECONDITION saying how to provide it. */
  async resolve(name: string | undefined): Promise<ResolvedKey> {
    if (!name) {
      throw failedPrecondition("the instance has no key pair and the request named none (key_pair_name); the provider needs a private key to connect");
    }
    if (!this.opts.dir) {
      throw failedPrecondition(`no private key for key pair ${quote(name)}: set --ssh-key-dir (SKYCLUST_SSH_KEY_DIR) to a directory holding ${name} or ${name}.pem`);
    }
    const path = this.find(name);
    if (!path) throw failedPrecondition(`no private key for key pair ${quote(name)} in the SSH key directory (expected ${name} or ${name}.pem)`);
    return { name, path, pem: await readPrivateKeyFile(path, `key pair ${quote(name)}`, this.opts.dir) };
  }

  /**
   * Keeps a key made by CreateKeyPair as <dir>/<name>, mode 0600. An existing
   * file is never overwritten (it may hold the key of older instances); the
   * caller still gets the key in the response. Returns the path or why not.
   */
  keep(name: string, pem: string): { path?: string; skipped?: string } {
    const dir = this.opts.dir;
    if (!dir) return { skipped: "no key directory" };
    if (!isSafeKeyName(name)) return { skipped: "name is not usable as a file name" };
    const path = join(dir, name);
    if (existsSync(path) || existsSync(`${path}.pem`)) return { skipped: `a key file for ${quote(name)} already exists` };
    // O_EXCL: two concurrent CreateKeyPair calls cannot both write the file.
    const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      writeSync(fd, pem.endsWith("\n") ? pem : `${pem}\n`);
      if ((fstatSync(fd).mode & 0o077) !== 0) throw new Error("umask left the key file readable by others");
    } finally {
      closeSync(fd);
    }
    return { path };
  }
}
