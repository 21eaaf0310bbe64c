// Resume tokens: which engine (epoch) and which event (sequence number) a
// watcher saw last, bound to the watch's query so a token cannot resume a
// different region or filter set. Not secret and not signed: a forged
// sequence number can only make its own caller miss or repeat events.
import { createHash } from "node:crypto";
import { invalidArgument } from "../errors";

/** Far above a real token (~80 chars); anything longer is refused before decoding. */
export const MAX_RESUME_TOKEN_LENGTH = 256;

export interface ResumePoint {
  epoch: string;
  seq: number;
}

/** A short digest of the watch's query (tenant, region, filters). */
export function watchQueryKey(tenant: string, region: string, filters: Record<string, string>): string {
  const canonical = JSON.stringify([tenant, region, Object.entries(filters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

export function encodeResumeToken(point: ResumePoint, queryKey: string): string {
  return Buffer.from(JSON.stringify({ v: 1, e: point.epoch, s: point.seq, q: queryKey })).toString("base64url");
}

const bad = (why: string) => invalidArgument("resume_token", why);

export function decodeResumeToken(token: string, queryKey: string): ResumePoint {
  if (token.length > MAX_RESUME_TOKEN_LENGTH) throw bad(`is longer than ${MAX_RESUME_TOKEN_LENGTH} characters; pass a token from an event unchanged`);
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw bad("is not a token from an event (not base64url)");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad("is not a token from an event (malformed)");
  }
  const t = parsed as { v?: unknown; e?: unknown; s?: unknown; q?: unknown };
  if (t === null || typeof t !== "object" || t.v !== 1 || typeof t.e !== "string" || !/^[0-9a-f]{1,32}$/.test(t.e) || !Number.isSafeInteger(t.s) || (t.s as number) < 0) {
    throw bad("is not a token from an event (malformed)");
  }
  if (t.q !== queryKey) throw bad("belongs to a watch with another region or other filters");
  return { epoch: t.e, seq: t.s as number };
}
