// The conformance suite: one set of cases that every target (each cloud's
// provider against its real peer, and the sandbox) must pass unchanged, so
// a caller of the platform gets the same answers from every cloud. Where a
// cloud cannot do something, the case reads the provider's capabilities
// (through supports(), target.ts) and expects UNIMPLEMENTED, never a silent
// difference. Where a target cannot offer a hook (hang one region, hold a
// create), the case is skipped with the reason in its name.
//
// Everything the suite creates carries the tag conformance=RUN and a name
// starting with RUN, and every assertion on listings is scoped by that tag:
// peers are shared (the OpenStack testbed serves other test runs, the
// recorded servers and the sandbox hold instances of their own).
//
// Run one target: bun test providers/aws/conformance.test.ts (see README).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { generateKeyPair } from "../keys";
import { encodePageToken, queryFingerprint } from "../server/page-token";
import { badRequestFields, grpcError, type CallOptions } from "../testing/client";
import { errorTexts, leakedSecrets } from "../testing/echo";
import { supports, type ConformanceTarget, type Hook, type TargetSession } from "./target";

/** The contract's cap on a status message (README, "Limits"). */
const MAX_MESSAGE_BYTES = 512;
const TAG = "conformance";
const PAGING_SET = 3;

export function runConformance(target: ConformanceTarget): void {
  const run = `cf${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
  const CASE_MS = target.caseTimeoutMs ?? 60_000;
  // Real peers are slow on a loaded machine; a case is bounded by its calls' deadlines, not by test timing.
  setDefaultTimeout(CASE_MS);
  let s: TargetSession;
  let capabilities: Record<string, string> = {};
  const paging: string[] = [];

  const call = <T = any>(method: string, req: object = {}, opts: CallOptions = {}) =>
    s.provider.client.call<T>(method, req, { deadlineMs: 60_000, ...opts });
  /** A case that needs `hook`: skipped, with the target's reason in its name, where the target cannot offer it. */
  const needs = (hook: Hook, name: string, fn: () => Promise<void>, timeout = CASE_MS) => {
    const reason = target.cannot?.[hook];
    if (reason) test.skip(`${name} [not on this target: ${reason}]`, fn);
    else test(name, fn, timeout);
  };
  const mine = (extra: Record<string, string> = {}) => ({ [`tag:${TAG}`]: run, ...extra });
  /** The instances made for the listing cases (and nothing else the run creates). */
  const pagingSet = (extra: Record<string, string> = {}) => mine({ "tag:set": "paging", ...extra });
  const create = async (suffix: string, extra: Record<string, unknown> = {}, opts: CallOptions = {}) =>
    (
      await call("CreateInstance", {
        name: `${run}-${suffix}`,
        type: s.fixture.type,
        region: s.fixture.region,
        ...(s.fixture.imageId ? { image_id: s.fixture.imageId } : {}),
        ...extra,
        tags: { [TAG]: run, ...((extra.tags as Record<string, string>) ?? {}) },
      }, opts)
    ).instance;

  /** Every page of a listing (at most 50), its ids and what the pages reported. */
  async function walk(req: Record<string, unknown>, opts: CallOptions = {}) {
    const pages = await s.provider.client.listPages(req, 50, { deadlineMs: 60_000, ...opts });
    return {
      pages,
      ids: pages.flatMap((p) => p.instances.map((i: any) => i.id as string)),
      unreachable: pages.flatMap((p) => p.unreachable as string[]),
    };
  }

  /** Polls GetInstanceStatus until the status is one of `want` (or NOT_FOUND, when `gone` is allowed). */
  async function settle(id: string, want: string[], gone = false): Promise<string> {
    let last = "";
    for (let attempt = 0; attempt < 600; attempt++) {
      try {
        const st = await call("GetInstanceStatus", { instance_id: id, region: s.fixture.region });
        expect(st.instance_id).toBe(id);
        if (want.includes(st.status)) return st.status;
        if (st.status === "error") throw new Error(`instance ${id} went to error (${st.raw_status}) waiting for ${want.join("|")}`);
        last = `${st.status} (${st.raw_status})`;
      } catch (err: any) {
        if (gone && err?.code === grpc.status.NOT_FOUND) return "gone";
        if (typeof err?.code !== "number") throw err;
        last = `${err.code} ${err.details}`;
      }
      await Bun.sleep(attempt < 10 ? 100 : 500);
    }
    throw new Error(`instance ${id} did not reach ${want.join("|")} (last: ${last})`);
  }

  /**
   * Deletes an instance a case no longer needs and waits until it is gone:
   * a shared peer's quota (the testbed's project) must hold the next case's.
   */
  async function removeInstance(id: string): Promise<void> {
    await call("DeleteInstance", { instance_id: id, region: s.fixture.region });
    await settle(id, ["terminated"], true);
  }

  /** The error of a call that must fail with `code`, its message bounded. */
  async function fails(promise: Promise<unknown>, code: grpc.status, field?: string): Promise<grpc.ServiceError> {
    const err = await grpcError(promise);
    expect(`${grpc.status[err.code]}: ${err.details}`).toStartWith(`${grpc.status[code]}: `);
    expect(Buffer.byteLength(err.details)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    if (field !== undefined) expect(badRequestFields(err)).toEqual([field]);
    return err;
  }

  describe(`conformance: ${target.name}`, () => {
    beforeAll(async () => {
      s = await target.start();
      capabilities = (await call("GetProviderInfo")).capabilities;
      for (let i = 0; i < PAGING_SET; i++) paging.push((await create(`p${i}`, { tags: { set: "paging", idx: String(i) } })).id);
      for (const id of paging) await settle(id, ["running"]);
    }, CASE_MS * 2);

    afterAll(async () => {
      if (!s) return;
      // Peers can be shared (the OpenStack testbed): remove what this run made, whatever failed.
      const left = await walk({ region: s.fixture.region, filters: mine() }).catch(() => ({ ids: [] as string[] }));
      for (const id of left.ids) await call("DeleteInstance", { instance_id: id, region: s.fixture.region }).catch(() => undefined);
      const keys = await call("ListKeyPairs").catch(() => ({ key_pairs: [] }));
      for (const k of keys.key_pairs as any[]) {
        if (k.key_pair_name.startsWith(run)) await call("DeleteKeyPair", { key_pair_name: k.key_pair_name }).catch(() => undefined);
      }
      await s.stop();
    }, CASE_MS);

    describe("regions", () => {
      test("ListRegions and GetProviderInfo agree on the available regions, the fixture's among them", async () => {
        const info = await call("GetProviderInfo");
        const { regions } = await call("ListRegions");
        const available = regions.filter((r: any) => r.status === "available").map((r: any) => r.id as string);
        expect([...info.supported_regions].sort()).toEqual([...available].sort());
        const named = regions.flatMap((r: any) => [r.id, ...r.zones]);
        expect(named).toContain(s.fixture.region);
      });
    });

    describe("ListInstances", () => {
      test("a query that matches nothing is one empty last page with total 0", async () => {
        const res = await call("ListInstances", { region: s.fixture.region, filters: pagingSet({ "tag:idx": "none" }) });
        expect(res).toMatchObject({ instances: [], next_page_token: "", total_count: 0 });
      });

      test("an empty region is the provider's default region", async () => {
        const fallback = capabilities.default_region;
        expect(fallback).toBeTruthy();
        const implicit = await walk({ region: "", filters: pagingSet() });
        const explicit = await walk({ region: fallback, filters: pagingSet() });
        expect([...implicit.ids].sort()).toEqual([...explicit.ids].sort());
      });

      test("filters status, name and tag select exactly the matching instances", async () => {
        const ids = async (filters: Record<string, string>) => (await walk({ region: s.fixture.region, filters })).ids.sort();
        expect(await ids(pagingSet())).toEqual([...paging].sort());
        expect(await ids(pagingSet({ name: `${run}-p1` }))).toEqual([paging[1]!]);
        expect(await ids(pagingSet({ "tag:idx": "2" }))).toEqual([paging[2]!]);
        expect(await ids(pagingSet({ status: "running" }))).toEqual([...paging].sort());
        expect(await ids(pagingSet({ status: "stopped" }))).toEqual([]);
        await fails(call("ListInstances", { region: s.fixture.region, filters: { status: "asleep" } }), grpc.status.INVALID_ARGUMENT, "filters[status]");
      });

      test("page sizes 1 to N+1: every instance exactly once, no page over its size, the last page knows the total", async () => {
        for (let size = 1; size <= PAGING_SET + 1; size++) {
          const { pages, ids } = await walk({ region: s.fixture.region, filters: pagingSet(), page_size: size });
          for (const p of pages) expect(p.instances.length).toBeLessThanOrEqual(size);
          expect(new Set(ids).size).toBe(ids.length);
          expect([...ids].sort()).toEqual([...paging].sort());
          expect(pages.at(-1).next_page_token).toBe("");
          expect(pages.at(-1).total_count).toBe(PAGING_SET);
          for (const p of pages.slice(0, -1)) expect([-1, PAGING_SET]).toContain(p.total_count);
        }
      });

      test("a forged, garbage, over-long or replayed page token is INVALID_ARGUMENT naming page_token", async () => {
        const req = { region: s.fixture.region, filters: pagingSet(), page_size: 1 };
        const genuine = (await call("ListInstances", req)).next_page_token;
        expect(genuine).not.toBe("");
        const forged = (region: string) => encodePageToken({ cursor: "forged-cursor-!", seen: 0 }, queryFingerprint(region, pagingSet()));
        const bad: [string, Record<string, unknown>][] = [
          ["garbage", { ...req, page_token: "not a token at all" }],
          ["over-long", { ...req, page_token: "v1." + "A".repeat(600 * 1024) }],
          ["forged cursor", { ...req, page_token: forged(s.fixture.region) }],
          ["forged cursor for \"*\"", { ...req, region: "*", page_token: forged("*") }],
          ["replayed with other filters", { ...req, filters: pagingSet({ name: "other" }), page_token: genuine }],
        ];
        for (const [why, r] of bad) {
          const err = await grpcError(call("ListInstances", r));
          expect(`${why}: ${grpc.status[err.code]} ${badRequestFields(err)}`).toBe(`${why}: INVALID_ARGUMENT page_token`);
          expect(Buffer.byteLength(err.details)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
        }
      });

      test('region "*" lists every region: each instance once, across pages', async () => {
        const { pages, ids } = await walk({ region: "*", filters: pagingSet(), page_size: 2 });
        for (const p of pages) expect(p.instances.length).toBeLessThanOrEqual(2);
        expect(new Set(ids).size).toBe(ids.length);
        expect([...ids].sort()).toEqual([...paging].sort());
        expect(pages.at(-1).total_count).toBe(PAGING_SET);
      });
    });

    describe("CreateInstance", () => {
      test("a retry with the same idempotency key (field, then metadata) returns the same instance", async () => {
        const key = `${run}-idem`;
        const first = await create("idem", { idempotency_key: key });
        const again = await call("CreateInstance", { name: `${run}-idem`, type: s.fixture.type, region: s.fixture.region, ...(s.fixture.imageId ? { image_id: s.fixture.imageId } : {}), tags: { [TAG]: run } }, { metadata: { "idempotency-key": key } });
        expect(again.instance.id).toBe(first.id);
        expect((await walk({ region: s.fixture.region, filters: mine({ name: `${run}-idem` }) })).ids).toEqual([first.id]);
        await removeInstance(first.id);
      }, CASE_MS);

      test("wait_until_running answers with the id and the status running", async () => {
        const inst = await create("wait", { wait_until_running: true });
        expect(inst.id).not.toBe("");
        expect(inst.status).toBe("running");
        expect((await call("GetInstanceStatus", { instance_id: inst.id, region: s.fixture.region })).instance_id).toBe(inst.id);
        await removeInstance(inst.id);
      }, CASE_MS);

      test("wait_until_running with a short deadline answers OK with the id and the status it has then", async () => {
        const inst = await create("wait-short", { wait_until_running: true }, { deadlineMs: 5_000 });
        expect(inst.id).not.toBe("");
        expect(["pending", "running"]).toContain(inst.status);
        expect((await call("GetInstanceStatus", { instance_id: inst.id, region: s.fixture.region })).instance_id).toBe(inst.id);
        await removeInstance(inst.id);
      }, CASE_MS);
    });

    describe("instance lifecycle", () => {
      let id = "";
      const status = () => call("GetInstanceStatus", { instance_id: id, region: s.fixture.region });

      beforeAll(async () => {
        id = (await create("life")).id;
        await settle(id, ["running"]);
      }, CASE_MS);

      test("stop, start and restart show through GetInstanceStatus", async () => {
        expect((await call("StopInstance", { instance_id: id, region: s.fixture.region })).success).toBe(true);
        expect(["stopping", "stopped"]).toContain((await status()).status);
        await settle(id, ["stopped"]);
        expect((await call("StartInstance", { instance_id: id, region: s.fixture.region })).success).toBe(true);
        await settle(id, ["running"]);
        expect((await call("RestartInstance", { instance_id: id, region: s.fixture.region })).success).toBe(true);
        await settle(id, ["running"]);
      }, CASE_MS * 2);

      // force is a hint in the contract ("where the cloud tells them apart"):
      // a cloud that cannot says so with restart_force/stop_force false and
      // does the normal action, which must still succeed with its effect.
      test(`restart with force (capability restart_force) ends running`, async () => {
        expect((await call("RestartInstance", { instance_id: id, region: s.fixture.region, force: true })).success).toBe(true);
        await settle(id, ["running"]);
      });

      test(`stop with force (capability stop_force) ends stopped`, async () => {
        expect((await call("StopInstance", { instance_id: id, region: s.fixture.region, force: true })).success).toBe(true);
        await settle(id, ["stopped"]);
      });

      test("delete: the instance goes (NOT_FOUND or terminated), leaves running listings, and a second delete is OK or NOT_FOUND", async () => {
        expect((await call("DeleteInstance", { instance_id: id, region: s.fixture.region })).success).toBe(true);
        expect(["terminated", "gone"]).toContain(await settle(id, ["terminated"], true));
        const listed = await walk({ region: s.fixture.region, filters: mine({ name: `${run}-life`, status: "running" }) });
        expect(listed.ids).toEqual([]);
        // The contract leaves a repeated delete open; an OK must mean success, any refusal NOT_FOUND.
        const again = await call("DeleteInstance", { instance_id: id, region: s.fixture.region }).catch((e) => e);
        if (again instanceof Error) expect(grpc.status[(again as grpc.ServiceError).code]).toBe("NOT_FOUND");
        else expect(again.success).toBe(true);
      }, CASE_MS * 2);

      test("the status of an unknown id is NOT_FOUND", async () => {
        await fails(call("GetInstanceStatus", { instance_id: s.fixture.unknownInstanceId, region: s.fixture.region }), grpc.status.NOT_FOUND);
      });
    });

    describe("key pairs", () => {
      const created = `${run}-k1`;
      const imported = `${run}-k2`;
      const names = async (filters: Record<string, string> = {}) =>
        ((await call("ListKeyPairs", { filters })).key_pairs as any[]).map((k) => k.key_pair_name as string).filter((n) => n.startsWith(run)).sort();

      test("create returns the private key once; import; list; duplicates are ALREADY_EXISTS (UNIMPLEMENTED where the capability is false)", async () => {
        const canCreate = supports(capabilities, "key_pairs_create");
        const canImport = supports(capabilities, "key_pairs_import");
        const make = call("CreateKeyPair", { key_pair_name: created });
        if (canCreate) {
          const made = await make;
          expect(made.private_key).toContain("PRIVATE KEY");
          expect(made.key_pair.key_pair_name).toBe(created);
          expect(s.provider.logs.join("\n")).not.toContain(made.private_key.split("\n")[1]);
        } else await fails(make, grpc.status.UNIMPLEMENTED);
        const bring = call("ImportKeyPair", { key_pair_name: imported, public_key: generateKeyPair("ed25519", imported).publicKey });
        if (canImport) expect((await bring).key_pair.key_pair_name).toBe(imported);
        else await fails(bring, grpc.status.UNIMPLEMENTED);
        const have = [...(canCreate ? [created] : []), ...(canImport ? [imported] : [])];
        expect(await names()).toEqual(have);
        if (canImport) expect(await names({ name: imported })).toEqual([imported]);
        if (canCreate && canImport) {
          await fails(call("CreateKeyPair", { key_pair_name: imported }), grpc.status.ALREADY_EXISTS);
          await fails(call("ImportKeyPair", { key_pair_name: created, public_key: generateKeyPair("ed25519", "x").publicKey }), grpc.status.ALREADY_EXISTS);
        }
      });

      test("a bad name is INVALID_ARGUMENT naming key_pair_name", async () => {
        await fails(call("CreateKeyPair", { key_pair_name: "no spaces or !" }), grpc.status.INVALID_ARGUMENT, "key_pair_name");
        await fails(call("ImportKeyPair", { key_pair_name: "x".repeat(300), public_key: generateKeyPair("ed25519", "x").publicKey }), grpc.status.INVALID_ARGUMENT, "key_pair_name");
      });

      test("tags on a key pair are kept where supported, UNIMPLEMENTED where not", async () => {
        const name = `${run}-k3`;
        const req = call("ImportKeyPair", { key_pair_name: name, public_key: generateKeyPair("ed25519", name).publicKey, tags: { owner: "conformance" } });
        if (!supports(capabilities, "key_pair_tags")) {
          await fails(req, grpc.status.UNIMPLEMENTED);
          expect(await names({ name })).toEqual([]);
          return;
        }
        expect((await req).key_pair.tags).toEqual({ owner: "conformance" });
        const listed = (await call("ListKeyPairs", { filters: { name } })).key_pairs;
        expect(listed.map((k: any) => k.tags)).toEqual([{ owner: "conformance" }]);
        await call("DeleteKeyPair", { key_pair_name: name });
      });

      test("delete removes them; deleting again is NOT_FOUND", async () => {
        for (const name of await names()) expect((await call("DeleteKeyPair", { key_pair_name: name })).success).toBe(true);
        expect(await names()).toEqual([]);
        await fails(call("DeleteKeyPair", { key_pair_name: imported }), grpc.status.NOT_FOUND);
      });
    });

    describe("errors and deadlines", () => {
      test("bad input is INVALID_ARGUMENT naming the field, and no message grows with the input", async () => {
        const huge = "z".repeat(20_000);
        const base = { name: `${run}-bad`, type: s.fixture.type, region: s.fixture.region };
        const cases: [string, () => Promise<unknown>][] = [
          ["name", () => call("CreateInstance", { ...base, name: "" })],
          ["type", () => call("CreateInstance", { ...base, type: huge })],
          ["region", () => call("CreateInstance", { ...base, region: `bad region ${huge}` })],
          ["idempotency_key", () => call("CreateInstance", { ...base, idempotency_key: huge })],
          ["page_size", () => call("ListInstances", { region: s.fixture.region, page_size: 501 })],
          ["region", () => call("ListInstances", { region: huge })],
          ["instance_id", () => call("GetInstanceStatus", { instance_id: "", region: s.fixture.region })],
          ["duration", () => call("GetCostEstimate", { instance_type: s.fixture.type, region: s.fixture.region, duration: huge })],
        ];
        for (const [field, send] of cases) {
          const err = await grpcError(send());
          expect(`${field}: ${grpc.status[err.code]} ${badRequestFields(err)}`).toBe(`${field}: INVALID_ARGUMENT ${field}`);
          expect(Buffer.byteLength(err.details)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
          expect(err.details).not.toContain(huge.slice(0, 100));
        }
        expect((await walk({ region: s.fixture.region, filters: mine({ name: `${run}-bad` }) })).ids).toEqual([]);
      });

      test("a call with a tiny deadline is DEADLINE_EXCEEDED and the next call is served", async () => {
        // An in-process cloud can answer within 1 ms, so where the target can
        // hold a region the call goes there: it cannot finish before its deadline.
        const hang = s.hangRegion?.hang();
        try {
          const err = await grpcError(call("ListInstances", { region: s.hangRegion?.region ?? "*" }, { deadlineMs: hang ? 50 : 1 }));
          expect(grpc.status[err.code]).toBe("DEADLINE_EXCEEDED");
        } finally {
          hang?.release();
        }
        expect((await walk({ region: s.fixture.region, filters: pagingSet() })).ids.sort()).toEqual([...paging].sort());
      });

      needs("holdNextCreate", "a create cut off by its deadline leaves no second instance behind: a retry with its key adopts it", async () => {
        const key = `${run}-cut`;
        const hold = s.holdNextCreate!();
        const cut = grpcError(create("cut", { idempotency_key: key }, { deadlineMs: 3_000 }));
        // Usually the create is held at the peer when the deadline strikes; on
        // a slow machine it may be cut before it got there. Either way no
        // second instance may appear.
        await Promise.race([hold.arrived, cut]);
        expect(grpc.status[(await cut).code]).toBe("DEADLINE_EXCEEDED");
        hold.release();
        const retried = await create("cut", { idempotency_key: key });
        await settle(retried.id, ["pending", "running"]);
        expect((await walk({ region: s.fixture.region, filters: mine({ name: `${run}-cut` }) })).ids).toEqual([retried.id]);
        await removeInstance(retried.id);
      });
    });

    describe("one behaviour for every cloud (issue 14)", () => {
      needs("hangRegion", "a hung region is reported in unreachable and the call answers within its deadline", async () => {
        const { region } = s.hangRegion!;
        const hang = s.hangRegion!.hang();
        let reached = false;
        void hang.arrived.then(() => (reached = true));
        try {
          const { ids, unreachable } = await walk({ region: "*", filters: pagingSet(), page_size: 50 }, { deadlineMs: 8_000 });
          expect(reached).toBe(true); // the listing really reached the hung endpoint
          expect(unreachable.filter((u) => u.startsWith(`${region}:`)).length).toBeGreaterThan(0);
          if (region !== s.fixture.region) expect([...ids].sort()).toEqual([...paging].sort());
        } finally {
          hang.release();
        }
      });

      needs("holdNextCreate", "concurrent creates with one key and mixed deadlines: one instance, every caller still waiting gets it", async () => {
        const key = `${run}-herd`;
        const hold = s.holdNextCreate!();
        const short = grpcError(create("herd", { idempotency_key: key }, { deadlineMs: 500 }));
        const patient = Promise.allSettled(Array.from({ length: 19 }, () => create("herd", { idempotency_key: key }, { deadlineMs: 60_000 })));
        expect(grpc.status[(await short).code]).toBe("DEADLINE_EXCEEDED");
        // The create is held at the peer (or every caller already failed).
        await Promise.race([hold.arrived, patient]);
        hold.release();
        const got = await patient;
        const outcomes = got.map((g) => (g.status === "fulfilled" ? `id ${g.value.id}` : `${grpc.status[(g.reason as grpc.ServiceError).code]}: ${(g.reason as grpc.ServiceError).details}`));
        expect(new Set(outcomes).size).toBe(1);
        expect(outcomes[0]).toStartWith("id ");
        const id = (got[0] as PromiseFulfilledResult<any>).value.id;
        expect((await walk({ region: s.fixture.region, filters: mine({ name: `${run}-herd` }) })).ids).toEqual([id]);
      });

      needs("echo", "an upstream error that quotes the request reaches neither the caller nor the log with a credential", async () => {
        const disarm = s.echo!.arm();
        let err: grpc.ServiceError;
        try {
          err = await grpcError(call("ListInstances", { region: s.fixture.region }));
        } finally {
          disarm();
        }
        expect(Buffer.byteLength(err.details)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
        const secrets = s.echo!.secrets();
        expect(secrets.length).toBeGreaterThan(0);
        expect(leakedSecrets([...errorTexts(err), ...s.provider.logs], secrets)).toEqual([]);
      });

      needs("ssh", "ExecuteInstanceCommand reports 200 exit codes exactly", async () => {
        const inst = await create("ssh", { wait_until_running: true });
        const codes = Array.from({ length: 200 }, (_, i) => (i * 37) % 256);
        const got: number[] = [];
        for (let i = 0; i < codes.length; i += 8) {
          const batch = codes.slice(i, i + 8).map((code) =>
            call("ExecuteInstanceCommand", { instance_id: inst.id, region: s.fixture.region, command: `echo out-${code}; exit ${code}`, key_pair_name: s.ssh!.keyPairName }).then((r) => {
              expect(r.stdout).toBe(`out-${code}\n`);
              return r.exit_code as number;
            }),
          );
          got.push(...(await Promise.all(batch)));
        }
        expect(got).toEqual(codes);
      }, CASE_MS * 2);
    });
  });
}
