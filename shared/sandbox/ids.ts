// Deterministic id material for sandbox profiles: the same counter always
// yields the same id, so demos and tests are repeatable.
import { createHash } from "node:crypto";

export function hexId(seed: string, length: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

export function uuidFrom(seed: string): string {
  const h = hexId(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function numericId(seed: string, digits: number): string {
  const n = BigInt("0x" + hexId(seed, 16));
  return (n % 10n ** BigInt(digits)).toString().padStart(digits, "1");
}

export function privateIpFor(prefix: string, n: number): string {
  return `${prefix}.${(n >> 8) & 255}.${(n & 255) || 1}`;
}
