// ListInstances region "*" with regions that never answer, against the
// sandbox cloud through a real gRPC client: the call answers OK before the
// caller's deadline (or within --fanout-region-timeout-seconds without one),
// names the hung regions in `unreachable`, aborts their calls, and its page
// tokens walk the other regions to the end. One hung region heeds its abort
// signal; the other ignores it (a backend bug must not hold the call either).
// providers/aws/shared-semantics.test.ts does the same against moto.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { awsProvider } from "../../providers/aws/definition";
import type { CallContext, InstancePage, ListInstancesQuery } from "../provider";
import { SandboxBackend } from "../sandbox/backend";
import { startTestServerWithBackend, type TestProvider } from "../testing/harness";
import { regionBudgetMs } from "./fanout";

const HEEDS_ABORT = "eu-west-1";
const DEAF = "ap-northeast-1";

class HangingSandbox extends SandboxBackend {
  aborted = 0;
  override async listInstances(ctx: CallContext, query: ListInstancesQuery): Promise<InstancePage> {
    if (query.region === HEEDS_ABORT) {
      return new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => {
          this.aborted++;
          reject(ctx.signal.reason);
        }),
      );
    }
    if (query.region === DEAF) return new Promise(() => {});
    return super.listInstances(ctx, query);
  }
}

let p: TestProvider;
let backend: HangingSandbox;
let regionCount = 0;

beforeAll(async () => {
  backend = new HangingSandbox(awsProvider.sandboxProfile({}), { transitionMs: 1000, seedPerRegion: 2, latencyMs: 0, failRegions: [] });
  regionCount = (await backend.listRegions({ signal: new AbortController().signal, requestId: "t", log: undefined as never })).filter((r) => r.status === "available").length;
  p = await startTestServerWithBackend(backend, { fanoutRegionTimeoutMs: 1_500 });
});
afterAll(() => p?.close());

function checkPage(res: any) {
  expect(res.unreachable.some((u: string) => u.startsWith(`${HEEDS_ABORT}: timed out after`))).toBe(true);
  expect(res.unreachable.some((u: string) => u.startsWith(`${DEAF}: timed out after`))).toBe(true);
  expect(res.instances.some((i: any) => i.region === "us-east-1")).toBe(true);
  expect(res.instances.some((i: any) => i.region === HEEDS_ABORT || i.region === DEAF)).toBe(false);
}

describe('region "*" with hung regions', () => {
  test("5 s and 20 s deadlines: OK before the deadline, hung regions unreachable, their calls aborted", async () => {
    const abortedBefore = backend.aborted;
    const [five, twenty] = await Promise.all([
      p.client.call("ListInstances", { region: "*", page_size: 500 }, { deadlineMs: 5_000 }),
      p.client.call("ListInstances", { region: "*", page_size: 500 }, { deadlineMs: 20_000 }),
    ]);
    for (const res of [five, twenty]) {
      checkPage(res);
      // Every other region's two instances.
      expect(res.instances.length).toBe((regionCount - 2) * 2);
    }
    expect(backend.aborted - abortedBefore).toBe(2);
  }, 30_000);

  test("no deadline: OK within --fanout-region-timeout-seconds", async () => {
    const res = await p.client.call("ListInstances", { region: "*", page_size: 500 });
    checkPage(res);
  }, 30_000);

  test("a walk in small pages ends, lists every reachable instance once, and names the hung regions", async () => {
    const pages = await p.client.listPages({ region: "*", page_size: 7 }, 100, { deadlineMs: 5_000 });
    expect(pages.at(-1).next_page_token).toBe("");
    const ids = pages.flatMap((pg) => pg.instances.map((i: any) => i.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe((regionCount - 2) * 2);
    const unreachable = pages.flatMap((pg) => pg.unreachable);
    expect(unreachable.filter((u: string) => u.startsWith(`${HEEDS_ABORT}:`)).length).toBe(1);
    expect(unreachable.filter((u: string) => u.startsWith(`${DEAF}:`)).length).toBe(1);
  }, 60_000);
});

describe("regionBudgetMs", () => {
  test("the caller's deadline less a reply margin; the fallback without one", () => {
    const now = 1_000_000;
    expect(regionBudgetMs(undefined, 10_000, now)).toBe(10_000);
    expect(regionBudgetMs(new Date(now + 5_000), 10_000, now)).toBe(4_500);
    expect(regionBudgetMs(new Date(now + 20_000), 10_000, now)).toBe(19_000);
    expect(regionBudgetMs(new Date(now + 50), 10_000, now)).toBe(0);
  });
});
