// The key pair file of earlier releases: <state-dir>/keypairs.json, written
// by one replica (see README "Key pairs"). Read once at start-up, only to
// import its entries into the cluster store (keystore.ts); never written.
// A corrupt file fails start-up, as it did when it was the store itself,
// rather than silently dropping key pairs.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface StoredKeyPair {
  id: string;
  name: string;
  fingerprint: string;
  publicKey: string;
  keyType: string;
  tags: Record<string, string>;
  createdAt: string;
}

export const LEGACY_FILE_NAME = "keypairs.json";

/** The file's entries, or [] when there is no file. */
export function readLegacyKeyPairs(stateDir: string): StoredKeyPair[] {
  const file = join(stateDir, LEGACY_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const parsed = JSON.parse(text) as { version?: number; keyPairs?: StoredKeyPair[] };
  if (parsed?.version !== 1 || !Array.isArray(parsed.keyPairs)) throw new Error(`${file} is not a SkyClust key pair store`);
  return parsed.keyPairs.filter((k) => k && typeof k.name === "string" && typeof k.publicKey === "string");
}
