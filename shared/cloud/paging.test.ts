// The generic adapter over oversized cloud pages (shared/cloud/paging.ts):
// caller-sized pages out of larger cloud pages, empty cloud pages skipped
// within a bound, forged cursors refused, and GCE's older cursors still read.
import { describe, expect, test } from "bun:test";
import { ProviderError } from "../errors";
import { decodeCursor, readPage, type CloudPage, type PagingLimits } from "./paging";

const EC2: PagingLimits = { cloud: "EC2", minResults: 5, maxResults: 1000, maxCallsPerPage: 10, maxTokenLength: 8192, maxSkip: 100_000 };
const GCE: PagingLimits = { cloud: "Compute Engine", minResults: 1, maxResults: 500, maxCallsPerPage: 10, maxTokenLength: 2048, maxSkip: 500 };

/** EC2 pages as a cloud might return them, keyed by NextToken ("" = first). */
function fakeCloud(pages: Record<string, CloudPage<number>>) {
  const calls: [string | undefined, number][] = [];
  const fetch = async (token: string | undefined, max: number) => {
    calls.push([token, max]);
    const page = pages[token ?? ""];
    if (!page) throw new Error(`unknown token ${token}`);
    return page;
  };
  return { fetch, calls };
}

async function drain(fetch: (t: string | undefined, m: number) => Promise<CloudPage<number>>, pageSize: number) {
  const pages: number[][] = [];
  let cursor: string | undefined;
  do {
    const page = await readPage(fetch, pageSize, cursor, EC2);
    expect(page.items.length).toBeLessThanOrEqual(pageSize);
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor && pages.length < 100);
  return pages;
}

describe("paging", () => {
  test("an oversized EC2 page (moto ignoring MaxResults) is served in caller-sized pages", async () => {
    const { fetch, calls } = fakeCloud({ "": { items: [1, 2, 3, 4, 5, 6, 7], nextToken: "b" }, b: { items: [8, 9] } });
    const pages = await drain(fetch, 2);
    expect(pages).toEqual([[1, 2], [3, 4], [5, 6], [7, 8], [9]]);
    // Every re-read of an EC2 page asks with the same MaxResults.
    expect(new Set(calls.map(([, m]) => m))).toEqual(new Set([5]));
  });

  test("empty EC2 pages that still carry a NextToken are skipped", async () => {
    const { fetch } = fakeCloud({ "": { items: [], nextToken: "a" }, a: { items: [], nextToken: "b" }, b: { items: [1, 2, 3] } });
    expect((await drain(fetch, 10)).flat()).toEqual([1, 2, 3]);
  });

  test("a page never walks more than a bounded number of EC2 pages", async () => {
    const pages: Record<string, CloudPage<number>> = {};
    for (let i = 0; i < 30; i++) pages[i === 0 ? "" : `t${i}`] = { items: i === 29 ? [42] : [], nextToken: i < 29 ? `t${i + 1}` : undefined };
    const { fetch, calls } = fakeCloud(pages);
    const first = await readPage(fetch, 5, undefined, EC2);
    expect(first.items).toEqual([]);
    expect(first.nextCursor).toBeDefined();
    expect(calls.length).toBe(10);
    expect((await drain(fetch, 5)).flat()).toEqual([42]);
  });

  test("a tampered cursor is INVALID_ARGUMENT on page_token", () => {
    for (const bad of ["{", "[]", '{"s":-1,"m":5}', '{"s":0,"m":2}', '{"t":5,"s":0,"m":5}']) {
      const err = (() => {
        try {
          decodeCursor(bad, EC2, 5);
        } catch (e) {
          return e;
        }
      })() as ProviderError;
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.details.field).toBe("page_token");
    }
  });
});


describe("cursors", () => {
  const refused = (raw: string, limits: PagingLimits) => {
    try {
      decodeCursor(raw, limits, 10);
    } catch (e) {
      return e instanceof ProviderError && e.details.field === "page_token";
    }
    return false;
  };

  test("GCE cursors written before the shared adapter ({t: null|TOKEN, s}) still read, as the same position", () => {
    expect(decodeCursor('{"t":null,"s":0}', GCE, 10)).toEqual({ t: undefined, s: 0, m: 10 });
    expect(decodeCursor('{"t":"CgZ0b2tlbg","s":7}', GCE, 25)).toEqual({ t: "CgZ0b2tlbg", s: 7, m: 25 });
  });

  test("forged cursors: INVALID_ARGUMENT on page_token, never a crash", () => {
    for (const raw of ["null", "7", '"x"', "{", "[]", '{"t":5,"s":0}', '{"t":"","s":0}', '{"s":1.5}', '{"s":501}', '{"s":0,"m":0}', '{"s":0,"m":501}', `{"t":"${"a".repeat(2049)}","s":0}`]) {
      expect(refused(raw, GCE)).toBe(true);
    }
    expect(refused('{"s":0,"m":5}', EC2)).toBe(false);
  });
});
