// What an attacker can compute without any secret: page tokens in the
// provider's own format (the checksum is a plain hash), wrapping a forged
// multi-region cursor. Used by the attack tests.
import { encodePageToken, queryFingerprint } from "../server/page-token";

export type ForgedRegionState = [region: string, cursor: string | null, skip: number];

export function forgeFanoutToken(states: ForgedRegionState[], filters: Record<string, string> = {}): string {
  return encodePageToken({ cursor: JSON.stringify({ r: states }), seen: 0 }, queryFingerprint("*", filters));
}
