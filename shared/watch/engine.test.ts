// The watch engine alone, against a scripted source: events from diffs,
// resume and its refusals, slow subscribers, shared polling, shutdown.
import { describe, expect, test } from "bun:test";
import type { Instance } from "../provider";
import type { InstanceStatus } from "../status";
import { WatchEngine, WatchError, type WatchEvent, type WatchSnapshot } from "./engine";
import { WatchRegistry } from "./registry";

const vm = (id: string, status: InstanceStatus, region = "r1"): Instance => ({ id, name: id, status, rawStatus: status, type: "t", region, tags: {} });

/** A cloud the test edits; every snapshot() is counted. */
class World {
  instances: Instance[] = [];
  unreachable: string[] = [];
  fail?: string;
  polls = 0;
  snapshot = async (): Promise<WatchSnapshot> => {
    this.polls++;
    if (this.fail) throw new Error(this.fail);
    return { instances: this.instances.map((i) => ({ ...i })), unreachable: [...this.unreachable] };
  };
}

class Collector {
  events: WatchEvent[] = [];
  ended?: WatchError | "clean";
  accept = true;
  push = (e: WatchEvent) => {
    this.events.push(e);
    return this.accept;
  };
  end = (err?: WatchError) => {
    this.ended = err ?? "clean";
  };
  types = () => this.events.map((e) => (e.instance ? `${e.type} ${e.instance.id} ${e.instance.status}` : e.region ? `${e.type} ${e.region}` : e.type));
}

const fast = { fastMs: 5, slowMs: 10, errorBackoffMs: 5 };
const limits = { history: 100, subscriberBuffer: 50 };

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await Bun.sleep(5);
  }
  throw new Error(`never happened: ${what}`);
}

describe("watch engine", () => {
  test("initial state as ADDED then SYNCED, then changes as MODIFIED and DELETED", async () => {
    const world = new World();
    world.instances = [vm("a", "running"), vm("b", "stopped")];
    const engine = new WatchEngine(world, fast, limits);
    const c = new Collector();
    const sub = engine.subscribe(c);
    await until(() => c.types().includes("SYNCED"), "synced");
    expect(c.types()).toEqual(["ADDED a running", "ADDED b stopped", "SYNCED"]);
    world.instances = [vm("a", "stopping"), vm("c", "pending")];
    await until(() => c.events.length >= 6, "three changes");
    expect(c.types().slice(3).sort()).toEqual(["ADDED c pending", "DELETED b stopped", "MODIFIED a stopping"]);
    const polls = world.polls;
    await Bun.sleep(60);
    expect(c.events.length).toBe(6); // nothing changed, nothing sent
    expect(world.polls).toBeGreaterThan(polls);
    sub.close();
    engine.close();
  });

  test("a resume token of this engine replays exactly what came after it", async () => {
    const world = new World();
    world.instances = [vm("a", "pending")];
    const engine = new WatchEngine(world, fast, limits);
    const first = new Collector();
    const s1 = engine.subscribe(first);
    await until(() => first.types().includes("SYNCED"), "synced");
    const lastSeen = first.events.at(-1)!.seq;
    s1.close();
    world.instances = [vm("a", "running")];
    const watching = new Collector();
    engine.subscribe(watching); // keeps the engine polling while the first is away
    await until(() => watching.types().includes("MODIFIED a running"), "change observed");
    world.instances = [];
    await until(() => watching.types().includes("DELETED a running"), "delete observed");
    const resumed = new Collector();
    engine.subscribe(resumed, { epoch: engine.epoch, seq: lastSeen });
    expect(resumed.types()).toEqual(["MODIFIED a running", "DELETED a running"]);
    engine.close();
  });

  test("tokens of another epoch, from the future, or older than the history are refused: relist", async () => {
    const world = new World();
    world.instances = [vm("a", "pending")];
    const engine = new WatchEngine(world, fast, { history: 2, subscriberBuffer: 50 });
    const c = new Collector();
    engine.subscribe(c);
    await until(() => c.types().includes("SYNCED"), "synced");
    const refused = (after: { epoch: string; seq: number }) => {
      try {
        engine.subscribe(new Collector(), after);
        return "accepted";
      } catch (err) {
        return `${(err as WatchError).code}: ${(err as Error).message}`;
      }
    };
    expect(refused({ epoch: "0000", seq: 1 })).toMatch(/^FAILED_PRECONDITION: resume token expired, relist/);
    expect(refused({ epoch: engine.epoch, seq: engine.position + 5 })).toMatch(/^FAILED_PRECONDITION/);
    for (const s of ["running", "stopping", "stopped", "pending"] as InstanceStatus[]) {
      world.instances = [vm("a", s)];
      await until(() => c.types().includes(`MODIFIED a ${s}`) && c.types().lastIndexOf(`MODIFIED a ${s}`) === c.types().length - 1, s);
    }
    expect(refused({ epoch: engine.epoch, seq: 1 })).toMatch(/^FAILED_PRECONDITION: resume token expired, relist: more than 2 changes/);
    expect(refused({ epoch: engine.epoch, seq: engine.position - 1 })).toBe("accepted");
    engine.close();
  });

  test("a subscriber that stops reading is cut off with RESOURCE_EXHAUSTED; the others go on", async () => {
    const world = new World();
    const engine = new WatchEngine(world, fast, { history: 100, subscriberBuffer: 3 });
    const slow = new Collector();
    const good = new Collector();
    engine.subscribe(slow);
    engine.subscribe(good);
    await until(() => slow.types().includes("SYNCED") && good.types().includes("SYNCED"), "synced");
    slow.accept = false;
    for (let i = 0; i < 6; i++) {
      world.instances = [...world.instances, vm(`v${i}`, "running")];
      await until(() => good.types().includes(`ADDED v${i} running`), `v${i}`);
    }
    expect(slow.ended).toBeInstanceOf(WatchError);
    expect((slow.ended as WatchError).code).toBe("RESOURCE_EXHAUSTED");
    expect(good.ended).toBeUndefined();
    expect(engine.subscribers).toBe(1);
    engine.close();
  });

  test("an unreachable region is an event, its instances are kept, and recovery is an event", async () => {
    const world = new World();
    world.instances = [vm("a", "running", "r1"), vm("b", "running", "r2")];
    const engine = new WatchEngine(world, fast, limits);
    const c = new Collector();
    engine.subscribe(c);
    await until(() => c.types().includes("SYNCED"), "synced");
    world.instances = [vm("a", "running", "r1")];
    world.unreachable = ["r2: timed out after 5000 ms"];
    await until(() => c.types().includes("REGION_UNREACHABLE r2"), "r2 down");
    await Bun.sleep(40);
    expect(c.types()).not.toContain("DELETED b running");
    world.instances = [vm("a", "running", "r1"), vm("b", "stopped", "r2")];
    world.unreachable = [];
    await until(() => c.types().includes("MODIFIED b stopped"), "r2 back");
    expect(c.types()).toContain("REGION_RECOVERED r2");
    world.fail = "connection refused";
    await until(() => c.types().includes("REGION_UNREACHABLE *"), "all down");
    expect(c.ended).toBeUndefined();
    world.fail = undefined;
    await until(() => c.types().includes("REGION_RECOVERED *"), "all back");
    engine.close();
  });

  test("50 subscribers of one watch share one source: the same polls as one subscriber", async () => {
    const world = new World();
    const registry = new WatchRegistry({ timing: { fastMs: 20, slowMs: 20, errorBackoffMs: 20 }, limits, maxEngines: 4, lingerMs: 1000 });
    const subs = Array.from({ length: 50 }, () => new Collector());
    for (const s of subs) registry.engine("k", () => world).subscribe(s);
    expect(registry.size).toBe(1);
    await until(() => subs.every((s) => s.types().includes("SYNCED")), "all synced");
    world.instances = [vm("x", "running")];
    await until(() => subs.every((s) => s.types().includes("ADDED x running")), "all saw x");
    // One poll per interval, whatever the number of subscribers: never one per subscriber.
    expect(world.polls).toBeLessThan(50);
    registry.closeAll();
    expect(subs.every((s) => s.ended instanceof WatchError && s.ended.code === "UNAVAILABLE")).toBe(true);
  });

  test("an engine nobody watches stops polling but keeps its state for a resume; distinct watches are capped", async () => {
    const world = new World();
    world.instances = [vm("a", "running")];
    const registry = new WatchRegistry({ timing: fast, limits, maxEngines: 2, lingerMs: 60_000 });
    const c = new Collector();
    const engine = registry.engine("k1", () => world);
    const sub = engine.subscribe(c);
    await until(() => c.types().includes("SYNCED"), "synced");
    const seq = c.events.at(-1)!.seq;
    sub.close();
    await Bun.sleep(30);
    const polls = world.polls;
    await Bun.sleep(50);
    expect(world.polls).toBe(polls); // idle: no cloud calls
    world.instances = [vm("a", "stopped")];
    const back = new Collector();
    expect(registry.engine("k1", () => world)).toBe(engine);
    engine.subscribe(back, { epoch: engine.epoch, seq });
    await until(() => back.types().includes("MODIFIED a stopped"), "change made while away");
    registry.engine("k2", () => world).subscribe(new Collector());
    expect(() => registry.engine("k3", () => world)).toThrow(/at most 2 distinct watches/);
    registry.closeAll();
  });
});

describe("change notices", () => {
  test("a notice makes the engine look now instead of at its next interval, and only while someone watches", async () => {
    const world = new World();
    let notify: (() => void) | undefined;
    const source = {
      snapshot: world.snapshot,
      changes(onChange: () => void) {
        notify = onChange;
        return () => (notify = undefined);
      },
    };
    // An interval far longer than the test: only a notice can make it look again.
    const engine = new WatchEngine(source, { fastMs: 600_000, slowMs: 600_000, errorBackoffMs: 600_000 }, limits);
    const c = new Collector();
    const sub = engine.subscribe(c);
    await until(() => c.types().includes("SYNCED"), "synced");
    expect(notify).toBeDefined();
    world.instances = [vm("n", "pending")];
    notify!();
    notify!(); // a burst: one look
    await until(() => c.types().includes("ADDED n pending"), "noticed");
    expect(world.polls).toBe(2);
    sub.close();
    expect(notify).toBeUndefined();
    engine.close();
  });
});
