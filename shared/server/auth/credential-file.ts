// A file of credentials and their scopes, one per line:
//   WHO SCOPE[,SCOPE...]      # a comment
// used for bearer tokens (--auth-token-file: WHO is the token) and for mTLS
// client identities (--tls-client-identities: WHO is CN=... or a SAN such as
// DNS:host, URI:spiffe://..., email:x). The file is re-read when it changes
// (checked at most once a second), so tokens rotate without a restart; a
// broken new version is logged and the last good one stays in force.
//
// Token files are secrets: a file that others than its owner can read is
// refused, with one exception taken from PostgreSQL: a root-owned file may
// be group-readable (Kubernetes mounts secrets as root:fsGroup 0440).
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "../../config";
import type { Logger } from "../../log";
import { checkSecretFileMode } from "../../secrets";
import { isScope, SCOPES, type Scope } from "./scopes";

export interface CredentialEntry {
  who: string;
  /** SHA-256 of `who`, compared in constant time against a presented token's. */
  digest: Buffer;
  scopes: ReadonlySet<Scope>;
}

export interface CredentialFileOptions {
  path: string;
  /** For messages: "--auth-token-file". */
  flag: string;
  /** Lines may leave out the scopes (= all scopes). */
  scopesOptional: boolean;
  /** Refuse files readable by others than the owner. */
  secret: boolean;
  log: Logger;
}

const RECHECK_MS = 1000;

export function parseCredentialLines(text: string, opts: Pick<CredentialFileOptions, "flag" | "scopesOptional">): CredentialEntry[] {
  const entries: CredentialEntry[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const where = `${opts.flag} line ${i + 1}`;
    const [who, scopeList, ...rest] = line.split(/\s+/);
    if (rest.length > 0) throw new ConfigError(`${where}: expected "NAME SCOPE[,SCOPE...]", found more words`);
    if (!scopeList && !opts.scopesOptional) throw new ConfigError(`${where}: no scopes (use ${SCOPES.join(", ")}, comma-separated)`);
    const scopes = new Set<Scope>();
    for (const word of (scopeList ?? SCOPES.join(",")).split(",")) {
      if (!isScope(word)) throw new ConfigError(`${where}: unknown scope (use ${SCOPES.join(", ")})`);
      scopes.add(word);
    }
    if (seen.has(who!)) throw new ConfigError(`${where}: listed twice`);
    seen.add(who!);
    entries.push({ who: who!, digest: createHash("sha256").update(who!).digest(), scopes });
  });
  return entries;
}

export class CredentialFile {
  private entries: CredentialEntry[] = [];
  private version = "";
  private checkedAt = 0;

  /** Reads the file now: a missing or broken file stops the start. */
  constructor(private readonly opts: CredentialFileOptions) {
    this.load(true);
  }

  /** The current entries, re-read first if the file changed. */
  current(): CredentialEntry[] {
    const now = Date.now();
    if (now - this.checkedAt >= RECHECK_MS) {
      this.checkedAt = now;
      try {
        this.load(false);
      } catch (err) {
        this.opts.log.error("credential file not reloaded; the previous version stays in force", { flag: this.opts.flag, error: (err as Error).message });
      }
    }
    return this.entries;
  }

  private load(first: boolean): void {
    const { path, flag } = this.opts;
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new ConfigError(`${flag}: cannot read ${path}`);
    }
    const version = `${st.ino}:${st.size}:${st.mtimeMs}:${st.mode}`;
    if (!first && version === this.version) return;
    if (this.opts.secret) checkSecretFileMode(st, flag, path);
    const entries = parseCredentialLines(readFileSync(path, "utf8"), this.opts);
    this.entries = entries;
    this.version = version;
    if (!first) this.opts.log.info("credential file reloaded", { flag, entries: entries.length });
  }
}
