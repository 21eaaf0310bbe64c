// Host key verification against an OpenSSH known_hosts file. Without it an
// SSH client talks to whoever answers on the address: the one thing SSH
// must never do silently. Supported: plain and hashed (|1|salt|hash) host
// patterns, "[host]:port" entries for non-22 ports, wildcards (* ?),
// negation (!pattern), the @revoked marker, and comments. @cert-authority
// lines are ignored (this client does not verify host certificates).
import { createHmac } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, readFileSync } from "node:fs";

export interface KnownHostEntry {
  marker?: "@revoked" | "@cert-authority";
  patterns: string[];
  keyType: string;
  /** The raw SSH public key blob (base64-decoded). */
  key: Buffer;
}

export type HostKeyVerdict =
  | { kind: "match" }
  /** The host has entries, none of them is the presented key. */
  | { kind: "changed"; knownTypes: string[] }
  | { kind: "revoked" }
  | { kind: "unknown" };

/** "host" for port 22, "[host]:port" otherwise: how OpenSSH names a host in known_hosts. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry["marker"];
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") marker = fields.shift() as KnownHostEntry["marker"];
    if (fields.length < 3) continue; // malformed lines are skipped, as OpenSSH does
    const [hosts, keyType, b64] = fields as [string, string, string];
    const key = Buffer.from(b64, "base64");
    if (key.length === 0) continue;
    entries.push({ marker, patterns: hosts.split(","), keyType, key });
  }
  return entries;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "i");
}

function matchesHashed(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = pattern.split("|");
  if (parts.length !== 4 || parts[1] !== "1") return false;
  const salt = Buffer.from(parts[2]!, "base64");
  const expected = parts[3]!;
  return createHmac("sha1", salt).update(name).digest("base64") === expected;
}

/** OpenSSH semantics: any negated match rejects; otherwise any positive match accepts. */
export function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  let positive = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith("|")) {
      if (matchesHashed(pattern, name)) positive = true;
    } else if (pattern.startsWith("!")) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false;
    } else if (globToRegExp(pattern).test(name)) {
      positive = true;
    }
  }
  return positive;
}

/** The key type inside an SSH public key blob (its first string). */
export function keyBlobType(blob: Buffer): string {
  if (blob.length < 4) return "";
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString("latin1");
}

export function verifyHostKey(entries: KnownHostEntry[], host: string, port: number, presented: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  const forHost = entries.filter((e) => e.marker !== "@cert-authority" && entryMatchesHost(e, name));
  if (forHost.some((e) => e.marker === "@revoked" && e.key.equals(presented))) return { kind: "revoked" };
  const plain = forHost.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key.equals(presented))) return { kind: "match" };
  if (plain.length > 0) return { kind: "changed", knownTypes: [...new Set(plain.map((e) => e.keyType))] };
  return { kind: "unknown" };
}

/** Key types recorded for a host: used to ask the server for a key we can check. */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostName(host, port);
  return [...new Set(entries.filter((e) => e.marker === undefined && entryMatchesHost(e, name)).map((e) => e.keyType))];
}

/** A known_hosts file read fresh on each check, so an operator's edits apply at once. */
export class KnownHostsFile {
  constructor(readonly path: string) {}

  entries(): KnownHostEntry[] {
    if (!existsSync(this.path)) return [];
    return parseKnownHosts(readFileSync(this.path, "utf8"));
  }

  /** Appends a plain entry (trust on first use). The file is created 0600. */
  record(host: string, port: number, key: Buffer): void {
    const existed = existsSync(this.path);
    let prefix = "";
    if (existed) {
      const current = readFileSync(this.path, "utf8");
      if (current.length > 0 && !current.endsWith("\n")) prefix = "\n";
    }
    appendFileSync(this.path, `${prefix}${knownHostName(host, port)} ${keyBlobType(key)} ${key.toString("base64")}\n`, { mode: 0o600 });
    if (!existed) chmodSync(this.path, 0o600);
  }
}
