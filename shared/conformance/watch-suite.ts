// WatchInstances, the same cases for every target (each cloud's provider
// against its real peer, and the sandbox): what a watcher sees for an
// instance driven through the API and for one changed behind the
// provider's back, resuming after a disconnect, 50 watchers costing the
// cloud what one does, a slow watcher cut off while the others go on, and
// shutdown ending streams with UNAVAILABLE.
//
// Everything the suite creates carries the tag watch=RUN; every watch is
// filtered by it, so other instances on a shared peer never show up.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import { ProviderClient, grpcError, type CallOptions } from "../testing/client";
import { metricSample } from "../testing/metrics-sample";
import { WatchSubscriber } from "../testing/watch-client";
import type { ConformanceTarget, TargetSession } from "./target";

const TAG = "watch";
/** Watch timing for the suite: quick polls so a case takes seconds, a small per-watcher queue. */
export const WATCH_TEST_ARGS = ["--watch-poll-fast-ms", "300", "--watch-poll-slow-ms", "1000", "--watch-subscriber-buffer", "8", "--metrics-addr", "127.0.0.1:0"];

export function runWatchConformance(target: ConformanceTarget): void {
  const run = `w${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
  const CASE_MS = Math.max(target.caseTimeoutMs ?? 60_000, 120_000);
  setDefaultTimeout(CASE_MS);
  let s: TargetSession;
  const subscribers: WatchSubscriber[] = [];

  const call = <T = any>(method: string, req: object = {}, opts: CallOptions = {}) => s.provider.client.call<T>(method, req, { deadlineMs: 60_000, ...opts });
  const filters = () => ({ [`tag:${TAG}`]: run });
  const watch = (extra: { resume_token?: string } = {}, client = s.provider.client) => {
    const w = new WatchSubscriber(client, { region: s.fixture.region, filters: filters(), ...extra });
    subscribers.push(w);
    return w;
  };
  const synced = (w: WatchSubscriber) => w.until((x) => x.lines().includes("SYNCED"), "SYNCED");
  const create = async (suffix: string) =>
    (
      await call("CreateInstance", {
        name: `${run}-${suffix}`,
        type: s.fixture.type,
        region: s.fixture.region,
        ...(s.fixture.imageId ? { image_id: s.fixture.imageId } : {}),
        tags: { [TAG]: run },
      })
    ).instance as { id: string; status: string };
  /** The instance reached `status` in this watcher's stream. */
  const sees = (w: WatchSubscriber, id: string, status: string) => w.until((x) => x.linesFor(id).some((l) => l.endsWith(` ${status}`) && !l.startsWith("DELETED")), `${id} ${status}`);
  /** The instance left: DELETED, or (EC2, sandbox: terminated instances stay listed a while) terminated. */
  const seesGone = (w: WatchSubscriber, id: string) => w.until((x) => x.linesFor(id).some((l) => l.startsWith("DELETED") || l.endsWith(" terminated")), `${id} gone`);
  const order = (lines: string[], steps: RegExp[]) => {
    let at = 0;
    for (const line of lines) if (at < steps.length && steps[at]!.test(line)) at++;
    return at === steps.length;
  };

  describe(`watch: ${target.name}`, () => {
    beforeAll(async () => {
      s = await target.start({ args: WATCH_TEST_ARGS });
    }, CASE_MS);

    // A connection carries at most 32 calls at once (streams included): each case hangs up its watchers.
    afterEach(() => {
      for (const w of subscribers.splice(0)) w.cancel();
    });

    /** Removes what the run made (peers can be shared: the OpenStack testbed's quota must hold other runs'). */
    async function cleanUp(): Promise<void> {
      const left = await s.provider.client.listPages({ region: s.fixture.region, filters: filters() }, 20, { deadlineMs: 60_000 }).catch(() => []);
      for (const id of left.flatMap((p: any) => p.instances.map((i: any) => i.id))) await call("DeleteInstance", { instance_id: id, region: s.fixture.region }).catch(() => undefined);
    }

    afterAll(async () => {
      if (!s) return;
      await cleanUp();
      await s.stop();
    }, CASE_MS);

    test("an instance driven through the API: ADDED, running, stopped, running, then gone", async () => {
      const w = watch();
      await synced(w);
      const vm = await create("api");
      await sees(w, vm.id, "running");
      await call("StopInstance", { instance_id: vm.id, region: s.fixture.region });
      await sees(w, vm.id, "stopped");
      await call("StartInstance", { instance_id: vm.id, region: s.fixture.region });
      await w.until((x) => order(x.linesFor(vm.id), [/ running$/, / stopped$/, / running$/]), "running again");
      await call("DeleteInstance", { instance_id: vm.id, region: s.fixture.region });
      await seesGone(w, vm.id);
      expect(order(w.linesFor(vm.id), [/^ADDED /, /^MODIFIED stopped$/, /^MODIFIED running$/])).toBe(true);
      // Every event carries what a reconnect needs.
      expect(w.events.every((e) => e.resume_token.length > 0)).toBe(true);
    });

    test("an instance changed behind the provider's back is seen as well", async () => {
      if (!s.behindTheBack) throw new Error(`${target.name} offers no way to change the cloud directly`);
      const vm = await create("back");
      const w = watch();
      await sees(w, vm.id, "running");
      await s.behindTheBack.stop(vm.id);
      await sees(w, vm.id, "stopped");
      await s.behindTheBack.remove(vm.id);
      await seesGone(w, vm.id);
    });

    test("a watcher that reconnects with its last resume token gets every change it missed, and no initial state again", async () => {
      const vm = await create("resume");
      const first = watch();
      await sees(first, vm.id, "running");
      const token = first.lastToken;
      first.cancel();
      await call("StopInstance", { instance_id: vm.id, region: s.fixture.region });
      // A witness that stays connected shows the change happened while the first was away.
      const witness = watch();
      await sees(witness, vm.id, "stopped");
      const back = watch({ resume_token: token });
      await sees(back, vm.id, "stopped");
      expect(back.lines()).not.toContain("SYNCED");
      expect(back.linesFor(vm.id)[0]).toMatch(/^MODIFIED /);
      await call("DeleteInstance", { instance_id: vm.id, region: s.fixture.region });
      await seesGone(back, vm.id);
    });

    test("bad resume tokens: garbage or another query's is INVALID_ARGUMENT naming resume_token; an expired one is FAILED_PRECONDITION 'relist'", async () => {
      const w = watch();
      await synced(w);
      const other = new WatchSubscriber(s.provider.client, { region: s.fixture.region, filters: { [`tag:${TAG}`]: `${run}-other` }, resume_token: w.lastToken });
      await other.until((x) => x.ended !== undefined, "refused");
      expect(other.ended!.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(other.ended!.details).toContain("resume_token");
      const garbage = new WatchSubscriber(s.provider.client, { region: s.fixture.region, filters: filters(), resume_token: "x".repeat(10_000) });
      await garbage.until((x) => x.ended !== undefined, "refused");
      expect(garbage.ended!.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(Buffer.byteLength(garbage.ended!.details)).toBeLessThanOrEqual(512);
      // A token of this query from an engine that no longer exists (another replica, a restart).
      const payload = JSON.parse(Buffer.from(w.lastToken, "base64url").toString());
      const foreign = Buffer.from(JSON.stringify({ ...payload, e: "0123456789ab" })).toString("base64url");
      const expired = new WatchSubscriber(s.provider.client, { region: s.fixture.region, filters: filters(), resume_token: foreign });
      await expired.until((x) => x.ended !== undefined, "refused");
      expect(expired.ended!.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(expired.ended!.details).toContain("relist");
    });

    test("50 watchers of one query cost the cloud what one watcher does", async () => {
      if (!s.listingCalls) throw new Error(`${target.name} cannot count the listings its peer answers`);
      const metrics = s.provider.started.metrics!.address;
      const polls = () => metricSample(metrics, "skyclust_watch_polls_total", { provider: s.provider.started.backend.provider, outcome: "ok" });
      /** Cloud listings per watch poll while `n` watchers are connected. */
      // As N platform replicas would: each on its own connection (a connection carries at most 32 calls).
      // (grpc-js shares one connection among clients of one target unless told not to.)
      const clients = Array.from({ length: 10 }, () => new ProviderClient(s.provider.address, undefined, { "grpc.use_local_subchannel_pool": 1 }));
      const callsPerPoll = async (n: number) => {
        const ws = Array.from({ length: n }, (_, i) => watch({}, clients[i % clients.length]));
        await Promise.all(ws.map(synced));
        const [p0, c0] = [await polls(), s.listingCalls!()];
        while ((await polls()) < p0 + 3) await Bun.sleep(100);
        const [p1, c1] = [await polls(), s.listingCalls!()];
        for (const w of ws) w.cancel();
        return (c1 - c0) / (p1 - p0);
      };
      const one = await callsPerPoll(1);
      const fifty = await callsPerPoll(50);
      for (const c of clients) c.close();
      expect(one).toBeGreaterThan(0);
      // Polls still running when sampled may add a fraction; never a call per watcher.
      expect(fifty).toBeLessThan(one * 2);
    });

    test("a watcher that stops reading is cut off with RESOURCE_EXHAUSTED; the others see every change", async () => {
      const vms = await Promise.all([0, 1, 2, 3].map((i) => create(`slow${i}`)));
      const good = watch();
      await synced(good);
      for (const vm of vms) await sees(good, vm.id, "running");
      // A watcher in a process that then stops: it reads nothing more, as a hung client.
      const frozen = Bun.spawn([process.execPath, join(import.meta.dir, "../testing/frozen-watcher.ts"), s.provider.address, s.fixture.region, JSON.stringify(filters())], {
        stdout: "pipe",
        stderr: "inherit",
      });
      try {
        const out = frozen.stdout.getReader();
        const first = new TextDecoder().decode((await out.read()).value);
        expect(first).toContain("synced");
        frozen.kill("SIGSTOP");
        const count = (id: string, status: string) => good.linesFor(id).filter((l) => l.endsWith(` ${status}`)).length;
        const metrics = s.provider.started.metrics!.address;
        const cutOff = () => metricSample(metrics, "skyclust_watch_subscribers_cut_off_total", { provider: s.provider.started.backend.provider });
        // Rounds of stop and start until the server gives up on the stuck watcher
        // (its events fill the HTTP/2 window and the server's send buffer
        // before the watch's own queue overflows).
        for (let round = 0; round < 12 && (await cutOff()) === 0; round++) {
          for (const vm of vms) await call("StopInstance", { instance_id: vm.id, region: s.fixture.region });
          await good.until(() => vms.every((vm) => count(vm.id, "stopped") >= round + 1), `round ${round} stopped`);
          for (const vm of vms) await call("StartInstance", { instance_id: vm.id, region: s.fixture.region });
          await good.until(() => vms.every((vm) => count(vm.id, "running") >= round + 2), `round ${round} running`);
        }
        expect(await cutOff()).toBe(1);
        expect(good.ended).toBeUndefined();
      } finally {
        frozen.kill("SIGKILL");
      }
    });

    test("shutdown ends every watch with UNAVAILABLE, with a resume token in hand", async () => {
      await cleanUp();
      const w = watch();
      await synced(w);
      const token = w.lastToken;
      await s.provider.started.running.shutdown("test: SIGTERM");
      await w.until((x) => x.ended !== undefined, "ended");
      expect(w.ended!.code).toBe(grpc.status.UNAVAILABLE);
      expect(token.length).toBeGreaterThan(0);
      await grpcError(call("GetProviderInfo", {}, { deadlineMs: 2000 }));
    });
  });
}
