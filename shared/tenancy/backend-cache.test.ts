// The tenant cache's bounds with a controlled clock: least recently used
// goes first, idle entries go after the TTL, a backend a call still holds is
// closed only when that call ends, concurrent first calls share one build,
// and a failed build is retried by the next call.
import { describe, expect, test } from "bun:test";
import type { CloudBackend } from "../provider";
import { BackendCache } from "./backend-cache";

function backend(name: string, closed: string[]): CloudBackend {
  return { provider: name, close: async () => void closed.push(name) } as unknown as CloudBackend;
}

function cache(max: number, idleMs: number) {
  let now = 0;
  const events: string[] = [];
  const c = new BackendCache({
    max,
    idleMs,
    now: () => now,
    events: { hit: () => events.push("hit"), miss: () => events.push("miss"), evicted: (r) => events.push(`evicted:${r}`), size: () => {} },
  });
  return { c, events, advance: (ms: number) => (now += ms) };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("tenant backend cache", () => {
  test("size bound: the least recently used goes, and is rebuilt on its next call", async () => {
    const closed: string[] = [];
    const { c, events } = cache(2, 60_000);
    let builds = 0;
    const get = async (k: string) => (await c.acquire(k, async () => (builds++, backend(k, closed)))).release();
    await get("a");
    await get("b");
    await get("a"); // a is now the most recent
    await get("c"); // evicts b
    await settle();
    expect(closed).toEqual(["b"]);
    expect(c.has("a") && c.has("c") && !c.has("b")).toBe(true);
    await get("b");
    expect(builds).toBe(4);
    expect(events).toEqual(["miss", "miss", "hit", "miss", "evicted:size", "miss", "evicted:size"]);
    await c.closeAll();
  });

  test("idle TTL: unused entries are closed after the TTL, used ones stay", async () => {
    const closed: string[] = [];
    const { c, advance } = cache(10, 1000);
    for (const k of ["a", "b"]) (await c.acquire(k, async () => backend(k, closed))).release();
    advance(600);
    (await c.acquire("a", async () => backend("a", closed))).release();
    advance(600);
    (await c.acquire("c", async () => backend("c", closed))).release(); // the sweep runs on every acquire
    await settle();
    expect(closed).toEqual(["b"]);
    expect(c.size).toBe(2);
    await c.closeAll();
  });

  test("a backend held by a running call is closed only when the call releases it", async () => {
    const closed: string[] = [];
    const { c, advance } = cache(1, 1000);
    const held = await c.acquire("a", async () => backend("a", closed));
    (await c.acquire("b", async () => backend("b", closed))).release(); // evicts a by size
    advance(5000);
    await settle();
    expect(closed).toEqual([]);
    held.release();
    held.release(); // twice is harmless
    await settle();
    expect(closed).toEqual(["a"]);
    await c.closeAll();
  });

  test("concurrent first calls share one build; a failed build is forgotten", async () => {
    const closed: string[] = [];
    const { c } = cache(4, 1000);
    let builds = 0;
    let fail = true;
    const build = async () => {
      builds++;
      await settle();
      if (fail) throw new Error("cloud said no");
      return backend("a", closed);
    };
    const results = await Promise.allSettled([c.acquire("a", build), c.acquire("a", build)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(builds).toBe(1);
    expect(c.has("a")).toBe(false);
    fail = false;
    const [x, y] = await Promise.all([c.acquire("a", build), c.acquire("a", build)]);
    expect(builds).toBe(2);
    expect(x.backend).toBe(y.backend);
    x.release();
    y.release();
    await c.closeAll();
    expect(closed).toEqual(["a"]);
  });
});
