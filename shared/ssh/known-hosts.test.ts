// known_hosts matching, with entries written by the real ssh-keygen where
// the format matters (hashing), and OpenSSH's pattern rules otherwise.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KnownHostsFile, knownHostName, knownKeyTypes, parseKnownHosts, verifyHostKey } from "./known-hosts";
import { makeKey } from "./test-sshd";

const dir = mkdtempSync("/tmp/skyclust-known-hosts-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keyA = makeKey(join(dir, "a")).publicKey.split(/\s+/);
const keyB = makeKey(join(dir, "b")).publicKey.split(/\s+/);
const blobA = Buffer.from(keyA[1]!, "base64");
const blobB = Buffer.from(keyB[1]!, "base64");

test("host names: plain for port 22, [host]:port otherwise", () => {
  expect(knownHostName("10.0.0.5", 22)).toBe("10.0.0.5");
  expect(knownHostName("10.0.0.5", 2222)).toBe("[10.0.0.5]:2222");
});

test("a matching key is accepted, another key for the same host is a change, other hosts are unknown", () => {
  const entries = parseKnownHosts(`# comment\n\n[10.0.0.5]:2222,alias ${keyA[0]} ${keyA[1]} some comment\nbroken-line\n`);
  expect(entries.length).toBe(1);
  expect(verifyHostKey(entries, "10.0.0.5", 2222, blobA).kind).toBe("match");
  expect(verifyHostKey(entries, "10.0.0.5", 2222, blobB)).toEqual({ kind: "changed", knownTypes: ["ssh-ed25519"] });
  expect(verifyHostKey(entries, "10.0.0.5", 22, blobA).kind).toBe("unknown");
  expect(verifyHostKey(entries, "alias", 22, blobA).kind).toBe("match");
});

test("wildcards and negation follow OpenSSH", () => {
  const entries = parseKnownHosts(`10.0.*,!10.0.0.9 ${keyA[0]} ${keyA[1]}\n`);
  expect(verifyHostKey(entries, "10.0.3.4", 22, blobA).kind).toBe("match");
  expect(verifyHostKey(entries, "10.0.0.9", 22, blobA).kind).toBe("unknown");
  expect(verifyHostKey(entries, "10.1.0.1", 22, blobA).kind).toBe("unknown");
});

test("@revoked refuses a key even if it is also listed; @cert-authority lines are not host keys", () => {
  const revoked = parseKnownHosts(`h ${keyA[0]} ${keyA[1]}\n@revoked h ${keyA[0]} ${keyA[1]}\n`);
  expect(verifyHostKey(revoked, "h", 22, blobA).kind).toBe("revoked");
  const ca = parseKnownHosts(`@cert-authority h ${keyA[0]} ${keyA[1]}\n`);
  expect(verifyHostKey(ca, "h", 22, blobA).kind).toBe("unknown");
});

test("hashed entries made by ssh-keygen -H match only their host and port", () => {
  const file = join(dir, "hashed");
  writeFileSync(file, `[192.0.2.7]:2200 ${keyA[0]} ${keyA[1]}\n`);
  expect(Bun.spawnSync(["ssh-keygen", "-H", "-f", file]).exitCode).toBe(0);
  const entries = parseKnownHosts(readFileSync(file, "utf8"));
  expect(entries[0]!.patterns[0]).toStartWith("|1|");
  expect(verifyHostKey(entries, "192.0.2.7", 2200, blobA).kind).toBe("match");
  expect(verifyHostKey(entries, "192.0.2.7", 2200, blobB).kind).toBe("changed");
  expect(verifyHostKey(entries, "192.0.2.7", 22, blobA).kind).toBe("unknown");
  expect(knownKeyTypes(entries, "192.0.2.7", 2200)).toEqual(["ssh-ed25519"]);
});

test("recording creates the file 0600 and ssh-keygen -F finds the entry", () => {
  const file = join(dir, "recorded");
  const kh = new KnownHostsFile(file);
  kh.record("192.0.2.8", 2201, blobB);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(verifyHostKey(kh.entries(), "192.0.2.8", 2201, blobB).kind).toBe("match");
  const found = Bun.spawnSync(["ssh-keygen", "-F", "[192.0.2.8]:2201", "-f", file]);
  expect(found.exitCode).toBe(0);
  expect(found.stdout.toString()).toContain(keyB[1]!);
});
