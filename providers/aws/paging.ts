// Pages of at most pageSize instances on top of EC2's NextToken paging.
//
// EC2 pages by reservation, not by instance, and moto ignores MaxResults when
// instances share few reservations (28 instances in 4 reservations came back
// in one page for MaxResults 7), so an EC2 page can be larger than the
// caller's page. The cursor therefore holds the NextToken that produced the
// EC2 page being read, the MaxResults used for it (a re-read must ask the
// same question to get the same page), and how many instances of that page
// earlier pages already returned. Only one EC2 page is held in memory.
import { invalidArgument } from "../../shared/errors";

export interface Ec2Cursor {
  /** NextToken that fetches the EC2 page being read; absent for the first page. */
  t?: string;
  /** Instances of that EC2 page already returned. */
  s: number;
  /** MaxResults used to fetch it. */
  m: number;
}

export interface CloudPage<T> {
  items: T[];
  nextToken?: string;
}

export type CloudPageFetcher<T> = (nextToken: string | undefined, maxResults: number) => Promise<CloudPage<T>>;

/** EC2 accepts MaxResults 5..1000. */
export const maxResultsFor = (pageSize: number) => Math.min(1000, Math.max(5, pageSize));

/**
 * EC2 may answer a filtered query with empty pages that still carry a
 * NextToken; after this many cloud calls a page is returned short (with a
 * cursor) so one RPC never walks a whole account.
 */
export const MAX_CLOUD_CALLS_PER_PAGE = 10;

export function encodeCursor(c: Ec2Cursor): string {
  return JSON.stringify(c.t === undefined ? { s: c.s, m: c.m } : c);
}

export function decodeCursor(raw: string): Ec2Cursor {
  const bad = () => invalidArgument("page_token", "the token is not an EC2 listing token");
  let parsed: Partial<Ec2Cursor>;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bad();
  }
  const { t, s, m } = parsed ?? {};
  if (t !== undefined && typeof t !== "string") throw bad();
  if (!Number.isInteger(s) || s! < 0 || !Number.isInteger(m) || m! < 5 || m! > 1000) throw bad();
  return { t, s: s!, m: m! };
}

export async function readPage<T>(
  fetchPage: CloudPageFetcher<T>,
  pageSize: number,
  cursor: string | undefined,
): Promise<{ items: T[]; nextCursor?: string }> {
  let position: Ec2Cursor = cursor ? decodeCursor(cursor) : { s: 0, m: maxResultsFor(pageSize) };
  const items: T[] = [];
  for (let calls = 0; calls < MAX_CLOUD_CALLS_PER_PAGE; calls++) {
    const page = await fetchPage(position.t, position.m);
    const unread = page.items.slice(position.s);
    const room = pageSize - items.length;
    if (unread.length > room) {
      items.push(...unread.slice(0, room));
      return { items, nextCursor: encodeCursor({ ...position, s: position.s + room }) };
    }
    items.push(...unread);
    if (!page.nextToken) return { items };
    position = { t: page.nextToken, s: 0, m: maxResultsFor(pageSize) };
    if (items.length === pageSize) break;
  }
  return { items, nextCursor: encodeCursor(position) };
}
