// Opaque page tokens. A token wraps the backend's own cursor (EC2 NextToken,
// GCE pageToken, Nova marker, or a fan-out state) together with a hash of the
// query it belongs to and how many instances earlier pages returned (so the
// last page can report an exact total). Tokens carry no secret and no
// per-process key, so any replica behind a round_robin balancer accepts
// another replica's token. Tampering or a changed query is INVALID_ARGUMENT,
// never a silent restart from page one.
import { createHash } from "node:crypto";
import { invalidArgument } from "../errors";

export interface PageState {
  cursor: string;
  /** Instances returned by earlier pages. */
  seen: number;
}

const VERSION = "v1";
/**
 * Far above any genuine token (a "*" listing's cursor holds at most
 * MAX_FANOUT_REGIONS regions of MAX_REGION_CURSOR characters), and checked
 * before anything else so an oversized token costs nothing.
 */
export const MAX_PAGE_TOKEN = 512 * 1024;

function checksum(payload: string): string {
  return createHash("sha256").update(payload).digest("base64url").slice(0, 12);
}

export function queryFingerprint(region: string, filters: Record<string, string>): string {
  const canonical = JSON.stringify([region, Object.entries(filters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
  return checksum(canonical);
}

export function encodePageToken(state: PageState, fingerprint: string): string {
  const payload = Buffer.from(JSON.stringify({ c: state.cursor, n: state.seen, q: fingerprint })).toString("base64url");
  return `${VERSION}.${payload}.${checksum(payload)}`;
}

export function decodePageToken(token: string, fingerprint: string): PageState {
  const bad = (why: string) => invalidArgument("page_token", why);
  if (token.length > MAX_PAGE_TOKEN) throw bad(`is ${token.length} characters, more than any page token (${MAX_PAGE_TOKEN})`);
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== VERSION) throw bad("not a page token issued by this provider");
  const [, payload, sum] = parts as [string, string, string];
  if (checksum(payload) !== sum) throw bad("the token is corrupted");
  let parsed: { c?: unknown; n?: unknown; q?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw bad("the token is corrupted");
  }
  if (typeof parsed.c !== "string" || !Number.isSafeInteger(parsed.n) || (parsed.n as number) < 0 || typeof parsed.q !== "string") {
    throw bad("the token is corrupted");
  }
  if (parsed.q !== fingerprint) throw bad("the token belongs to a listing with another region or other filters");
  return { cursor: parsed.c, seen: parsed.n as number };
}
