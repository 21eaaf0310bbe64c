// Where private keys come from. The provider never invents a private key:
// a key pair name resolves to a file the operator put in the key directory
// (<dir>/<name> or <dir>/<name>.pem), or that the provider wrote there
// itself when the operator enabled keeping keys made by CreateKeyPair.
// Files readable by group or others are refused, as OpenSSH refuses them:
// a private key that other local users can read is not private.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync, writeSync, constants as fsc } from "node:fs";
import { join } from "node:path";
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

/** Reads a private key file, refusing loose permissions and unusable keys. */
export async function readPrivateKeyFile(path: string, label: string): Promise<string> {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw failedPrecondition(`private key for ${label} not found at ${path}`);
  }
  if ((mode & 0o077) !== 0) {
    throw failedPrecondition(
      `private key file ${path} for ${label} is accessible by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  }
  const pem = readFileSync(path, "utf8");
  const { utils } = await loadSsh2();
  const parsed = utils.parseKey(pem);
  if (parsed instanceof Error) {
    // The parser's message names the problem (e.g. an encrypted key) and
    // never echoes key material.
    throw failedPrecondition(`private key file ${path} for ${label} is not usable: ${parsed.message}`);
  }
  return pem;
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
      if (existsSync(candidate)) return candidate;
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
    return { name, path, pem: await readPrivateKeyFile(path, `key pair ${quote(name)}`) };
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
