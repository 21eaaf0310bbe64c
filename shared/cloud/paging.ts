// Pages of at most pageSize items on top of a cloud's own token paging,
// for any cloud whose pages can be larger than the caller's page.
//
// EC2 pages by reservation, not by instance (moto ignores MaxResults when
// instances share few reservations: 28 instances in 4 reservations came back
// in one page for MaxResults 7); a GCE aggregated page holds every zone's
// instances; and a region restricted on our side leaves fewer. So the
// cursor holds the cloud token that produced the cloud page being read, the
// page size asked for it (a re-read must ask the same question to get the
// same page), and how many items of that page earlier pages already
// returned. Only one cloud page is held in memory, and one of our pages
// costs at most maxCallsPerPage cloud calls however empty the cloud's pages.
//
// Cursors arrive in page tokens anyone can forge: every field is checked
// before a cloud call, and a bad one is INVALID_ARGUMENT naming page_token.
import { invalidArgument } from "../errors";

export interface CloudCursor {
  /** Cloud token that fetches the cloud page being read; absent for the first page. */
  t?: string;
  /** Items of that cloud page already returned. */
  s: number;
  /** Page size asked of the cloud for it. */
  m: number;
}

export interface CloudPage<T> {
  items: T[];
  nextToken?: string;
}

export type CloudPageFetcher<T> = (nextToken: string | undefined, maxResults: number) => Promise<CloudPage<T>>;

/** One cloud's paging limits. */
export interface PagingLimits {
  /** Names the cloud in the page_token error ("EC2", "Compute Engine"). */
  cloud: string;
  /** The page sizes the cloud accepts (EC2 MaxResults 5..1000, GCE maxResults 1..500). */
  minResults: number;
  maxResults: number;
  /** Cloud calls one of our pages may make before it is returned short, with a cursor. */
  maxCallsPerPage: number;
  /** Longest cloud token forwarded from a cursor (they are a few hundred characters). */
  maxTokenLength: number;
  /** Largest position inside one cloud page a cursor may name. */
  maxSkip: number;
}

export const resultsFor = (limits: PagingLimits, pageSize: number) => Math.min(limits.maxResults, Math.max(limits.minResults, pageSize));

export function encodeCursor(c: CloudCursor): string {
  return JSON.stringify(c.t === undefined ? { s: c.s, m: c.m } : c);
}

/**
 * Reads a cursor. Cursors written before `m` existed (GCE's {"t": null|TOKEN,
 * "s": N}) still read: `m` was the page size then, as it is now.
 */
export function decodeCursor(raw: string, limits: PagingLimits, pageSize: number): CloudCursor {
  const bad = () => invalidArgument("page_token", `the token is not a ${limits.cloud} listing token`);
  let parsed: { t?: unknown; s?: unknown; m?: unknown };
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bad();
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw bad();
  const t = parsed.t === null ? undefined : parsed.t;
  const m = parsed.m === undefined ? resultsFor(limits, pageSize) : parsed.m;
  const s = parsed.s;
  if (t !== undefined && (typeof t !== "string" || t.length === 0 || t.length > limits.maxTokenLength)) throw bad();
  if (typeof s !== "number" || !Number.isInteger(s) || s < 0 || s > limits.maxSkip) throw bad();
  if (typeof m !== "number" || !Number.isInteger(m) || m < limits.minResults || m > limits.maxResults) throw bad();
  return { t, s, m };
}

export async function readPage<T>(
  fetchPage: CloudPageFetcher<T>,
  pageSize: number,
  cursor: string | undefined,
  limits: PagingLimits,
): Promise<{ items: T[]; nextCursor?: string }> {
  let position: CloudCursor = cursor ? decodeCursor(cursor, limits, pageSize) : { s: 0, m: resultsFor(limits, pageSize) };
  const items: T[] = [];
  for (let calls = 0; calls < limits.maxCallsPerPage; calls++) {
    const page = await fetchPage(position.t, position.m);
    const unread = page.items.slice(position.s);
    const room = pageSize - items.length;
    if (unread.length > room) {
      items.push(...unread.slice(0, room));
      return { items, nextCursor: encodeCursor({ ...position, s: position.s + room }) };
    }
    items.push(...unread);
    if (!page.nextToken) return { items };
    position = { t: page.nextToken, s: 0, m: resultsFor(limits, pageSize) };
    if (items.length === pageSize) break;
  }
  return { items, nextCursor: encodeCursor(position) };
}
