// Proxmox has no key pair store of its own, so key pairs live in a JSON file
// under the provider's state directory (PROXMOX_STATE_DIR, see README):
// <state-dir>/keypairs.json, mode 0600 in a 0700 directory. Every change
// writes a temporary file, fsyncs it and renames it over the old one, so a
// crash leaves either the old or the new file, never a torn one. Writes are
// serialized inside the process; run one provider per state directory.
//
// Private keys made by CreateKeyPair are returned once and never stored
// here; the shared --ssh-keep-created-keys option (SKYCLUST_SSH_KEEP_CREATED_KEYS)
// is the one place that may keep them, for the SSH RPCs.
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { alreadyExists, invalidArgument, notFound } from "../../shared/errors";
import { generateKeyPair, parsePublicKey, type KeyType } from "../../shared/keys";
import type { CreatedKeyPair, KeyPair } from "../../shared/provider";

interface StoredKeyPair {
  id: string;
  name: string;
  fingerprint: string;
  publicKey: string;
  keyType: string;
  tags: Record<string, string>;
  createdAt: string;
}

interface StoreFile {
  version: 1;
  keyPairs: StoredKeyPair[];
}

export class KeyPairStore {
  readonly file: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    /** Reported as KeyPair.region: key pairs are cluster-wide. */
    private readonly region: string,
  ) {
    this.file = join(dir, "keypairs.json");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.read(); // fail at start-up, not at the first call, if the file is corrupt
  }

  private read(): StoreFile {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, keyPairs: [] };
      throw err;
    }
    const parsed = JSON.parse(text) as StoreFile;
    if (parsed?.version !== 1 || !Array.isArray(parsed.keyPairs)) throw new Error(`${this.file} is not a SkyClust key pair store`);
    return parsed;
  }

  private write(data: StoreFile): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(data, null, 2) + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  /** Runs read-modify-write steps one at a time. */
  private mutate<T>(fn: (data: StoreFile) => T): Promise<T> {
    const run = this.queue.then(() => {
      const data = this.read();
      const result = fn(data);
      this.write(data);
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private toKeyPair(k: StoredKeyPair): KeyPair {
    return { id: k.id, name: k.name, fingerprint: k.fingerprint, region: this.region, tags: k.tags, createdAt: new Date(k.createdAt), keyType: k.keyType, publicKey: k.publicKey };
  }

  private add(data: StoreFile, entry: Omit<StoredKeyPair, "id" | "createdAt">): StoredKeyPair {
    if (data.keyPairs.some((k) => k.name === entry.name)) throw alreadyExists(`key pair ${entry.name} already exists`);
    const id = `pve-key-${createHash("sha256").update(entry.name).update("\0").update(entry.publicKey).digest("hex").slice(0, 12)}`;
    const stored: StoredKeyPair = { id, createdAt: new Date().toISOString(), ...entry };
    data.keyPairs.push(stored);
    return stored;
  }

  create(name: string, keyType: KeyType, tags: Record<string, string>): Promise<CreatedKeyPair> {
    return this.mutate((data) => {
      if (data.keyPairs.some((k) => k.name === name)) throw alreadyExists(`key pair ${name} already exists`);
      const generated = generateKeyPair(keyType, name);
      const stored = this.add(data, {
        name,
        fingerprint: generated.sha256Fingerprint,
        publicKey: generated.publicKey,
        keyType,
        tags,
      });
      return { keyPair: this.toKeyPair(stored), privateKey: generated.privateKey };
    });
  }

  import(name: string, publicKey: string, tags: Record<string, string>): Promise<KeyPair> {
    const parsed = parsePublicKey(publicKey, "public_key");
    return this.mutate((data) =>
      this.toKeyPair(this.add(data, { name, fingerprint: parsed.sha256Fingerprint, publicKey: `${parsed.canonical} ${name}`, keyType: parsed.keyType, tags })),
    );
  }

  async list(filters: Record<string, string>): Promise<KeyPair[]> {
    await this.queue;
    for (const key of Object.keys(filters)) {
      if (key !== "name" && key !== "fingerprint" && !key.startsWith("tag:")) throw invalidArgument(`filters[${key}]`, `unknown key pair filter (use name, fingerprint or tag:KEY)`);
    }
    return this.read()
      .keyPairs.filter((k) =>
        Object.entries(filters).every(([key, want]) => {
          if (key === "name") return k.name === want;
          if (key === "fingerprint") return k.fingerprint === want;
          return k.tags[key.slice(4)] === want;
        }),
      )
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((k) => this.toKeyPair(k));
  }

  /** The stored entry by name or id (for CreateInstance). */
  async find(by: { name?: string; id?: string }): Promise<KeyPair | undefined> {
    await this.queue;
    const k = this.read().keyPairs.find((e) => (by.id ? e.id === by.id : e.name === by.name));
    return k && this.toKeyPair(k);
  }

  delete(name: string): Promise<void> {
    return this.mutate((data) => {
      const i = data.keyPairs.findIndex((k) => k.name === name);
      if (i < 0) throw notFound(`key pair ${name} not found`);
      data.keyPairs.splice(i, 1);
    });
  }
}
