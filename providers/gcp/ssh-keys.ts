// Key pairs on GCE: there is no key-pair resource. Keys live in the project
// metadata item "ssh-keys", one "USER:ALGORITHM BASE64 COMMENT" line each;
// GCE's guest agent creates USER on every VM and authorizes the key. A key
// pair is one such line: name = USER, id = the key's SHA256 fingerprint.
// Lines this provider cannot parse (other tools' formats) are kept verbatim.
import type { KeyPair } from "../../shared/provider";
import { parsePublicKey, type ParsedPublicKey } from "../../shared/keys";

export const SSH_KEYS_ITEM = "ssh-keys";
export const KEY_PAIR_REGION = "global";

export interface SshKeyLine {
  raw: string;
  user?: string;
  key?: ParsedPublicKey;
}

export function parseSshKeys(value: string | undefined): SshKeyLine[] {
  return (value ?? "")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((raw) => {
      const colon = raw.indexOf(":");
      if (colon <= 0) return { raw };
      try {
        return { raw, user: raw.slice(0, colon), key: parsePublicKey(raw.slice(colon + 1)) };
      } catch {
        return { raw };
      }
    });
}

export function formatSshKeys(lines: SshKeyLine[]): string {
  return lines.map((l) => l.raw).join("\n");
}

export function sshKeyLine(user: string, key: ParsedPublicKey): SshKeyLine {
  // The comment is the user, as gcloud writes it; the caller's comment is dropped
  // because GCE reads some comment formats (google-ssh JSON) as instructions.
  return { raw: `${user}:${key.canonical} ${user}`, user, key };
}

export function toKeyPair(line: SshKeyLine): KeyPair {
  return {
    id: line.key!.sha256Fingerprint,
    name: line.user!,
    fingerprint: line.key!.sha256Fingerprint,
    region: KEY_PAIR_REGION,
    tags: {},
    keyType: line.key!.keyType,
    publicKey: `${line.key!.canonical} ${line.user}`,
  };
}

export const managedLines = (lines: SshKeyLine[]) => lines.filter((l) => l.user && l.key);
