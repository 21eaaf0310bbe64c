// SSH key material for the key pair RPCs: generate a key pair locally (for
// clouds that no longer generate keys), parse and check OpenSSH public keys,
// and compute fingerprints the way ssh-keygen prints them.
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { invalidArgument } from "./errors";

export type KeyType = "ed25519" | "rsa";

export interface ParsedPublicKey {
  /** "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ... */
  algorithm: string;
  keyType: string;
  blob: Buffer;
  comment: string;
  /** "SHA256:..." as ssh-keygen -l prints it. */
  sha256Fingerprint: string;
  /** "aa:bb:..." (MD5 of the blob), the legacy form. */
  md5Fingerprint: string;
  /** "ALGORITHM BASE64" without the comment. */
  canonical: string;
}

const ALGORITHMS: Record<string, string> = {
  "ssh-ed25519": "ed25519",
  "ssh-rsa": "rsa",
  "ecdsa-sha2-nistp256": "ecdsa",
  "ecdsa-sha2-nistp384": "ecdsa",
  "ecdsa-sha2-nistp521": "ecdsa",
};

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** SSH mpint: big-endian, with a leading zero when the top bit is set. */
function sshMpint(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

export function sha256Fingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

export function md5Fingerprint(blob: Buffer): string {
  return createHash("md5").update(blob).digest("hex").match(/../g)!.join(":");
}

/** Parses one OpenSSH public key line; INVALID_ARGUMENT naming `field` if malformed. */
export function parsePublicKey(line: string, field = "public_key"): ParsedPublicKey {
  const parts = line.trim().split(/\s+/);
  const bad = (why: string) => invalidArgument(field, `not an OpenSSH public key: ${why}`);
  if (parts.length < 2) throw bad(`expected "ALGORITHM BASE64 [comment]"`);
  const [algorithm, b64] = parts as [string, string];
  const keyType = ALGORITHMS[algorithm];
  if (!keyType) throw bad(`unsupported algorithm "${algorithm.slice(0, 40)}" (use ssh-ed25519, ssh-rsa or ecdsa-sha2-*)`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw bad("the key data is not base64");
  const blob = Buffer.from(b64, "base64");
  if (blob.length < 4) throw bad("the key data is too short");
  const nameLen = blob.readUInt32BE(0);
  if (nameLen > blob.length - 4 || blob.subarray(4, 4 + nameLen).toString() !== algorithm) {
    throw bad("the key data does not match its algorithm");
  }
  if (keyType === "ed25519") {
    const off = 4 + nameLen;
    if (blob.length < off + 4 || blob.readUInt32BE(off) !== 32 || blob.length !== off + 4 + 32) throw bad("an ed25519 key must hold 32 bytes");
  }
  if (keyType === "rsa" && blob.length < 4 + nameLen + 4 + 1 + 4 + 128) throw bad("the RSA key is too short (at least 1024 bits)");
  return {
    algorithm,
    keyType,
    blob,
    comment: parts.slice(2).join(" "),
    sha256Fingerprint: sha256Fingerprint(blob),
    md5Fingerprint: md5Fingerprint(blob),
    canonical: `${algorithm} ${b64}`,
  };
}

export interface GeneratedKeyPair {
  keyType: KeyType;
  /** OpenSSH public key line with the name as comment. */
  publicKey: string;
  /** OpenSSH ("BEGIN OPENSSH PRIVATE KEY") for ed25519, PKCS#1 PEM for RSA. */
  privateKey: string;
  sha256Fingerprint: string;
  md5Fingerprint: string;
}

/** Writes an unencrypted openssh-key-v1 container around one ed25519 key. */
function openSshEd25519Private(pub: Buffer, seed: Buffer, comment: string): string {
  const algorithm = "ssh-ed25519";
  const publicBlob = Buffer.concat([sshString(algorithm), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString(algorithm), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    count,
    sshString(publicBlob),
    sshString(priv),
  ]);
  const b64 = body.toString("base64").match(/.{1,70}/g)!.join("\n");
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

export function generateKeyPair(keyType: KeyType, comment: string): GeneratedKeyPair {
  if (keyType === "ed25519") {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const pubJwk = publicKey.export({ format: "jwk" });
    const privJwk = privateKey.export({ format: "jwk" });
    const pub = Buffer.from(pubJwk.x!, "base64url");
    const seed = Buffer.from(privJwk.d!, "base64url");
    const blob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
    return {
      keyType,
      publicKey: `ssh-ed25519 ${blob.toString("base64")} ${comment}`.trim(),
      privateKey: openSshEd25519Private(pub, seed, comment),
      sha256Fingerprint: sha256Fingerprint(blob),
      md5Fingerprint: md5Fingerprint(blob),
    };
  }
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 3072 });
  const jwk = publicKey.export({ format: "jwk" });
  const blob = Buffer.concat([sshString("ssh-rsa"), sshMpint(Buffer.from(jwk.e!, "base64url")), sshMpint(Buffer.from(jwk.n!, "base64url"))]);
  return {
    keyType,
    publicKey: `ssh-rsa ${blob.toString("base64")} ${comment}`.trim(),
    privateKey: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    sha256Fingerprint: sha256Fingerprint(blob),
    md5Fingerprint: md5Fingerprint(blob),
  };
}
