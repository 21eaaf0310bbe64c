// Every CloudProviderService RPC in sandbox mode, for each of the four
// providers, through a real gRPC client over loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { INSTANCE_STATUSES } from "../status";
import { grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { ALL_PROVIDERS } from "../../providers/testing";

const TRANSITION_MS = 150;

for (const def of ALL_PROVIDERS) {
  describe(`${def.name} sandbox`, () => {
    let p: TestProvider;
    const call = <T = any>(m: string, req: object = {}, opts = {}) => p.client.call<T>(m, req, opts);

    beforeAll(async () => {
      p = await startTestProvider(def, ["--sandbox", "--sandbox-transition-ms", String(TRANSITION_MS), "--sandbox-seed-instances", "3"]);
    });
    afterAll(() => p.close());

    test("GetProviderInfo names the provider, its regions and truthful capabilities", async () => {
      const info = await call("GetProviderInfo");
      expect(info.name).toBe(def.name);
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(info.supported_regions.length).toBeGreaterThan(0);
      expect(info.capabilities.mode).toBe("sandbox");
      expect(info.capabilities.reflection).toBe("true");
      expect(info.capabilities.tls).toBe("plaintext");
    });

    test("ListRegions returns regions with zones and statuses", async () => {
      const { regions } = await call("ListRegions");
      expect(regions.length).toBeGreaterThan(1);
      for (const r of regions) {
        expect(r.id).not.toBe("");
        expect(r.zones.length).toBeGreaterThan(0);
        expect(r.status).not.toBe("");
      }
    });

    test("ListInstances with an empty region lists the default region", async () => {
      const info = await call("GetProviderInfo");
      const res = await call("ListInstances", {});
      expect(res.instances.length).toBe(3);
      for (const i of res.instances) {
        expect(i.region).toBe(info.capabilities.default_region);
        expect(i.provider).toBe(def.name);
        expect(INSTANCE_STATUSES).toContain(i.status);
        expect(i.raw_status).not.toBe("");
        expect(i.created_at.seconds).toBeGreaterThan(0);
      }
      expect(res.total_count).toBe(3);
      expect(res.next_page_token).toBe("");
    });

    test("instance lifecycle: create (pending -> running), stop, start, restart, delete", async () => {
      const info = await call("GetProviderInfo");
      const { regions } = await call("ListRegions");
      const region = info.capabilities.default_region;
      const { instance } = await call("CreateInstance", { name: "web-1", type: (await firstType()).type, region, tags: { team: "core" } });
      expect(instance.status).toBe("pending");
      expect(instance.tags).toEqual({ team: "core" });
      expect(regions.map((r: any) => r.id)).toContain(instance.region);
      const ref = { instance_id: instance.id, region };
      await waitForStatus(ref, "running");
      expect((await call("StopInstance", ref)).success).toBe(true);
      expect((await call("GetInstanceStatus", ref)).status).toBe("stopping");
      await waitForStatus(ref, "stopped");
      expect((await grpcError(call("RestartInstance", ref))).code).toBe(grpc.status.FAILED_PRECONDITION);
      expect((await call("StartInstance", ref)).message).toContain(instance.id);
      await waitForStatus(ref, "running");
      await call("RestartInstance", ref);
      expect((await call("GetInstanceStatus", ref)).status).toBe("rebooting");
      await waitForStatus(ref, "running");
      const del = await call("DeleteInstance", ref);
      expect(del.success).toBe(true);
      expect((await call("GetInstanceStatus", ref)).status).toBe("terminating");
      await waitForStatus(ref, "terminated");
      const status = await call("GetInstanceStatus", ref);
      expect(status.instance_id).toBe(instance.id);
      expect(status.raw_status).not.toBe("");
      expect(status.last_updated.seconds).toBeGreaterThan(0);
    });

    test("CreateInstance with wait_until_running answers once the instance runs", async () => {
      const { instance } = await call("CreateInstance", { name: "waited", type: (await firstType()).type, wait_until_running: true });
      expect(instance.status).toBe("running");
    });

    test("a retried create with the same idempotency key returns the same instance", async () => {
      const req = { name: "idem", type: (await firstType()).type, idempotency_key: "order-42" };
      const a = await call("CreateInstance", req);
      const b = await call("CreateInstance", req);
      const c = await call("CreateInstance", { ...req, idempotency_key: "" }, { metadata: { "idempotency-key": "order-42" } });
      expect(b.instance.id).toBe(a.instance.id);
      expect(c.instance.id).toBe(a.instance.id);
      const listed = await call("ListInstances", { filters: { name: "idem" } });
      expect(listed.instances.length).toBe(1);
    });

    test("unknown instance ids are NOT_FOUND for every instance RPC", async () => {
      for (const m of ["GetInstanceStatus", "StartInstance", "StopInstance", "RestartInstance", "DeleteInstance", "GetInstanceSSHConfig"]) {
        const err = await grpcError(call(m, { instance_id: "does-not-exist" }));
        expect(err.code).toBe(grpc.status.NOT_FOUND);
        expect(err.details).toContain("does-not-exist");
      }
    });

    test("GetCostEstimate prices the default type with source and date", async () => {
      const { type } = await firstType();
      const res = await call("GetCostEstimate", { instance_type: type, duration: "1d" });
      expect(res.currency).not.toBe("");
      expect(res.hourly_rate).toBeGreaterThan(0);
      // hourly_rate is rounded to 6 decimals but cost is prorated from the
      // unrounded rate, so they can differ by up to 24 x 0.5e-6.
      expect(res.cost).toBeCloseTo(res.hourly_rate * 24, 4);
      expect(res.hours).toBe(24);
      expect(res.price_source).not.toBe("");
      expect(res.price_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(res.breakdown.length).toBeGreaterThan(0);
    });

    test("HealthCheck reports healthy with a timestamp", async () => {
      const res = await call("HealthCheck");
      expect(res.healthy).toBe(true);
      expect(res.timestamp.seconds).toBeGreaterThan(0);
      expect(Object.keys(res.checks).length).toBeGreaterThan(0);
    });

    test("key pairs: create, import, list with filters, duplicates, delete", async () => {
      const created = await call("CreateKeyPair", { key_pair_name: "deploy", tags: { team: "core" } });
      expect(created.private_key).toContain("PRIVATE KEY");
      expect(created.key_pair.fingerprint).toMatch(/^SHA256:/);
      expect((await grpcError(call("CreateKeyPair", { key_pair_name: "deploy" }))).code).toBe(grpc.status.ALREADY_EXISTS);
      const pub = created.key_pair.public_key;
      const imported = await call("ImportKeyPair", { key_pair_name: "laptop", public_key: pub });
      expect(imported.key_pair.fingerprint).toBe(created.key_pair.fingerprint);
      const bad = await grpcError(call("ImportKeyPair", { key_pair_name: "broken", public_key: "ssh-ed25519 not-base64!" }));
      expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(bad.details).toContain("public_key");
      const all = await call("ListKeyPairs", {});
      expect(all.key_pairs.map((k: any) => k.key_pair_name).sort()).toEqual(["deploy", "laptop"]);
      const tagged = await call("ListKeyPairs", { filters: { "tag:team": "core" } });
      expect(tagged.key_pairs.map((k: any) => k.key_pair_name)).toEqual(["deploy"]);
      await call("DeleteKeyPair", { key_pair_name: "deploy" });
      await call("DeleteKeyPair", { key_pair_name: "laptop" });
      expect((await grpcError(call("DeleteKeyPair", { key_pair_name: "deploy" }))).code).toBe(grpc.status.NOT_FOUND);
      expect((await call("ListKeyPairs", {})).key_pairs).toEqual([]);
    });

    test("GetInstanceSSHConfig gives host, port and login user, never a private key by default", async () => {
      const { instances } = await call("ListInstances", { page_size: 1 });
      const res = await call("GetInstanceSSHConfig", { instance_id: instances[0].id });
      expect(res.ssh_config.host).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(res.ssh_config.port).toBe(22);
      expect(res.ssh_config.username).not.toBe("");
      expect(res.ssh_config.private_key).toBe("");
    });

    async function firstType(): Promise<{ type: string }> {
      const { instances } = await call("ListInstances", { page_size: 1 });
      return { type: instances[0].type };
    }

    async function waitForStatus(ref: object, want: string) {
      const until = Date.now() + 20 * TRANSITION_MS + 5000;
      let last = "";
      while (Date.now() < until) {
        last = (await call("GetInstanceStatus", ref)).status;
        if (last === want) return;
        await Bun.sleep(TRANSITION_MS / 3);
      }
      throw new Error(`status stayed ${last}, wanted ${want}`);
    }
  });
}
