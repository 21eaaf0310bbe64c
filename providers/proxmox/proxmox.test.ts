// The Proxmox backend through a real gRPC client against a local HTTPS
// server speaking the PVE API from recorded responses (testing/fake-pve.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { sameKeyRace } from "../../shared/testing/same-key-race";
import { generateKeyPair } from "../../shared/keys";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FakePve } from "./testing/fake-pve";
import { KEY_POOL_PREFIX, keyPoolId } from "./keystore";
import { capabilityFlags, capabilityProblems } from "../../shared/testing/capabilities";

const TOKEN_ID = "PROXMOX_USERNAME@pam!skyclust";
const TOKEN_SECRET = "5f8a1c2e-0000-4000-8000-a1b2c3d4e5f6";
const PASSWORD = "Correct-Horse-Battery-7";

let pki: TestPki;
let pve: FakePve;
let stateDir: string;
let provider: TestProvider;
const started: TestProvider[] = [];

function baseEnv(): Record<string, string> {
  return {
    PROXMOX_HOST: pve.host,
    PROXMOX_CA_FILE: pki.caFile,
    PROXMOX_STATE_DIR: stateDir,
    PROXMOX_TASK_POLL_MS: "10",
    PROXMOX_LOCK_RETRY_MS: "10",
    SKYCLUST_RATE_VCPU_HOUR: "0.01",
    SKYCLUST_RATE_GIB_HOUR: "0.005",
  };
}
const ticketEnv = () => ({ ...baseEnv(), PROXMOX_USER: "PROXMOX_USERNAME", PROXMOX_REALM: "pam", PROXMOX_PASSWORD: PASSWORD });

async function start(env: Record<string, string>): Promise<TestProvider> {
  const p = await startTestProvider(proxmoxProvider, [], env);
  started.push(p);
  return p;
}

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, password: PASSWORD, tokens: { [TOKEN_ID]: TOKEN_SECRET }, taskPolls: 2 }).start();
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-state-"));
  provider = await start(ticketEnv());
});

afterAll(async () => {
  for (const p of started) await p.close().catch(() => {});
  await pve?.stop();
  pki?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 20_000 });

describe("regions and listing", () => {
  test("regions are the cluster's nodes", async () => {
    const res = await call("ListRegions");
    expect(res.regions.map((r: any) => [r.id, r.status])).toEqual([
      ["vmpvetest", "available"],
      ["vmpvetest2", "available"],
    ]);
    const info = await call("GetProviderInfo");
    expect(info.name).toBe("proxmox");
    expect(info.capabilities.mode).toBe("cloud");
    expect(info.capabilities.default_region).toBe("cluster");
    expect(info.capabilities.pve_tls).toBe("ca-file");
    expect(info.capabilities.pve_auth).toBe("ticket");
    expect(JSON.stringify(info)).not.toContain(PASSWORD);
    expect(capabilityProblems(info.capabilities)).toEqual([]);
    // PVE: power-off for a forced stop, no hard reboot, one /cluster/resources listing, no public IPs to allocate.
    expect(capabilityFlags(info.capabilities)).toMatchObject({ stop_force: true, restart_force: false, list_all_regions_native: true, public_ip: false });
  });

  test("the whole cluster by default: QEMU VMs and LXC containers, templates hidden", async () => {
    const res = await call("ListInstances", {});
    const ids = res.instances.map((i: any) => i.id);
    expect(ids).toEqual(["vmpvetest/qemu/100", "vmpvetest2/qemu/101", "vmpvetest/qemu/104", "vmpvetest2/qemu/105", "vmpvetest2/qemu/106", "vmpvetest/qemu/110", "vmpvetest/lxc/913"]);
    expect(res.total_count).toBe(7);
    const vm = res.instances[0];
    expect(vm).toMatchObject({ name: "vmpvevm1", status: "running", raw_status: "running", region: "vmpvetest", zone: "vmpvetest", provider: "proxmox", type: "4c2g" });
    // From the recorded guest-agent answer: ens18 carries the configured MAC.
    expect(vm.private_ip).toBe("192.0.2.253");
    expect(vm.public_ip).toBe("");
    expect(vm.extra).toMatchObject({ vmid: "100", kind: "qemu", node: "vmpvetest", vcpus: "4", memory_mb: "2048" });
    expect(Number(vm.created_at.seconds)).toBe(1763409034);
    const ct = res.instances.find((i: any) => i.id === "vmpvetest/lxc/913");
    expect(ct).toMatchObject({ name: "cttest1", status: "stopped", type: "1c512m" });
    expect(ct.extra.kind).toBe("lxc");
  });

  test("templates only when the filter asks; node, kind, status and type filters", async () => {
    const templates = await call("ListInstances", { filters: { template: "true" }, page_size: 500 });
    expect(templates.instances.length).toBe(14);
    expect(templates.instances.every((i: any) => i.extra.template === "true")).toBe(true);
    const node2 = await call("ListInstances", { region: "vmpvetest2" });
    expect(node2.instances.map((i: any) => i.extra.vmid)).toEqual(["101", "105", "106"]);
    const lxc = await call("ListInstances", { filters: { kind: "lxc" } });
    expect(lxc.instances.map((i: any) => i.id)).toEqual(["vmpvetest/lxc/913"]);
    const running = await call("ListInstances", { filters: { status: "running" } });
    expect(running.instances.map((i: any) => i.extra.vmid)).toEqual(["100", "104"]);
    const typed = await call("ListInstances", { filters: { type: "2c4g" } });
    expect(typed.instances.map((i: any) => i.extra.vmid)).toEqual(["104", "105", "106"]);
    expect(typed.instances.map((i: any) => i.type)).toEqual(["medium", "medium", "medium"]);
    expect((await call("ListInstances", { filters: { type: "medium" } })).instances.length).toBe(3);
    const bad = await grpcError(call("ListInstances", { filters: { colour: "blue" } }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(bad)).toEqual(["filters[colour]"]);
    const noNode = await grpcError(call("ListInstances", { region: "nosuchnode" }));
    expect(noNode.code).toBe(grpc.status.NOT_FOUND);
  });

  test("pages never exceed page_size and walk the listing exactly once", async () => {
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const res = await call("ListInstances", { page_size: 3, page_token: token });
      expect(res.instances.length).toBeLessThanOrEqual(3);
      seen.push(...res.instances.map((i: any) => i.id));
      token = res.next_page_token;
      if (token) expect(res.total_count).toBe(7);
      else expect(res.total_count).toBe(7);
      pages++;
    } while (token && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
  });

  test('region "*" lists every online node once', async () => {
    const res = await call("ListInstances", { region: "*", page_size: 500 });
    expect(res.instances.length).toBe(7);
    expect(res.unreachable).toEqual([]);
  });
});

describe("ids and status", () => {
  test("status via /status/current for qemu and lxc, and short id forms", async () => {
    const vm = await call("GetInstanceStatus", { instance_id: "vmpvetest/qemu/100" });
    expect(vm).toMatchObject({ instance_id: "vmpvetest/qemu/100", status: "running", raw_status: "running" });
    const ct = await call("GetInstanceStatus", { instance_id: "vmpvetest/lxc/913" });
    expect(ct).toMatchObject({ status: "stopped", raw_status: "stopped" });
    expect((await call("GetInstanceStatus", { instance_id: "qemu/104" })).instance_id).toBe("vmpvetest/qemu/104");
    expect((await call("GetInstanceStatus", { instance_id: "101" })).instance_id).toBe("vmpvetest2/qemu/101");
    expect(pve.requestsTo("GET", /^\/nodes\/vmpvetest\/lxc\/913\/status\/current$/).length).toBeGreaterThan(0);
  });

  test("an id that does not parse is INVALID_ARGUMENT naming instance_id; an unknown vmid is NOT_FOUND", async () => {
    for (const id of ["garbage", "vmpvetest/vm/100", "node/qemu/abc", "qemu/7"]) {
      const err = await grpcError(call("GetInstanceStatus", { instance_id: id }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["instance_id"]);
    }
    const err = await grpcError(call("StartInstance", { instance_id: "vmpvetest/qemu/4242" }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });
});

describe("power actions", () => {
  test("stop = shutdown, force = stop, start, reboot, each followed to the end of its task", async () => {
    const id = "vmpvetest/qemu/104";
    const before = pve.requests.length;
    const shut = await call("StopInstance", { instance_id: id });
    expect(shut.success).toBe(true);
    expect(shut.message).toContain("shut down");
    expect(pve.requestsTo("POST", /\/qemu\/104\/status\/shutdown$/).length).toBe(1);
    expect(pve.requestsTo("POST", /\/qemu\/104\/status\/stop$/).length).toBe(0);
    // The task was polled until it stopped (2 "running" answers, then stopped).
    const polls = pve.requests.slice(before).filter((r) => r.method === "GET" && /\/tasks\/UPID.*qmshutdown.*\/status$/.test(decodeURIComponent(r.path)));
    expect(polls.length).toBe(3);
    expect((await call("GetInstanceStatus", { instance_id: id })).status).toBe("stopped");

    const again = await call("StopInstance", { instance_id: id, force: true });
    expect(again.message).toContain("already stopped");

    await call("StartInstance", { instance_id: id });
    expect(pve.requestsTo("POST", /\/qemu\/104\/status\/start$/).length).toBe(1);
    expect((await call("GetInstanceStatus", { instance_id: id })).status).toBe("running");

    await call("RestartInstance", { instance_id: id });
    expect(pve.requestsTo("POST", /\/qemu\/104\/status\/reboot$/).length).toBe(1);

    const forced = await call("StopInstance", { instance_id: id, force: true });
    expect(forced.message).toContain("powered off");
    expect(pve.requestsTo("POST", /\/qemu\/104\/status\/stop$/).length).toBe(1);
    const reboot = await grpcError(call("RestartInstance", { instance_id: id }));
    expect(reboot.code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  test("LXC containers start and stop through the lxc endpoints", async () => {
    await call("StartInstance", { instance_id: "vmpvetest/lxc/913" });
    expect(pve.requestsTo("POST", /^\/nodes\/vmpvetest\/lxc\/913\/status\/start$/).length).toBe(1);
    expect((await call("GetInstanceStatus", { instance_id: "vmpvetest/lxc/913" })).status).toBe("running");
    const ct = (await call("ListInstances", { filters: { kind: "lxc" } })).instances[0];
    expect(ct.private_ip).toBe("198.18.0.20");
    await call("StopInstance", { instance_id: "vmpvetest/lxc/913" });
    expect(pve.requestsTo("POST", /^\/nodes\/vmpvetest\/lxc\/913\/status\/shutdown$/).length).toBe(1);
  });

  test('"can\'t lock file" answers are retried a bounded number of times', async () => {
    pve.lockNextWrites(2);
    const before = pve.requestsTo("POST", /\/qemu\/110\/status\/start$/).length;
    await call("StartInstance", { instance_id: "vmpvetest/qemu/110" });
    expect(pve.requestsTo("POST", /\/qemu\/110\/status\/start$/).length - before).toBe(3);
    pve.lockNextWrites(50);
    const err = await grpcError(call("StopInstance", { instance_id: "vmpvetest/qemu/110", force: true }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toContain("can't lock file");
    pve.lockNextWrites(0);
    await call("StopInstance", { instance_id: "vmpvetest/qemu/110", force: true });
  });
});

describe("create by clone", () => {
  test("clones a template by name, sizes it, sets cloud-init and tags, starts it", async () => {
    const key = generateKeyPair("ed25519", "ops");
    await call("ImportKeyPair", { key_pair_name: "ops", public_key: key.publicKey });
    const request = {
      name: "web-1",
      type: "medium",
      region: "vmpvetest",
      image_id: "debian-12-2025-11-17T19-50-19Z-00000000",
      key_pair_name: "ops",
      tags: { web: "", env: "test" },
      idempotency_key: "create-web-1",
    };
    const res = await call("CreateInstance", request);
    const inst = res.instance;
    expect(inst.id).toMatch(/^vmpvetest\/qemu\/\d+$/);
    expect(inst).toMatchObject({ name: "web-1", status: "running", type: "medium", image_id: "901", key_pair_name: "ops", region: "vmpvetest" });
    expect(inst.tags).toEqual({ web: "", env: "test" });
    const vmid = Number(inst.extra.vmid);
    const clone = pve.requestsTo("POST", /^\/nodes\/vmpvetest\/qemu\/901\/clone$/).at(-1)!;
    expect(clone.params).toMatchObject({ newid: String(vmid), name: "web-1", full: "0" });
    expect(clone.csrf).toBe(true);
    const config = pve.guest(vmid)!.config;
    expect(config).toMatchObject({ cores: 2, memory: "4096", tags: "web", ipconfig0: "ip=dhcp" });
    expect(decodeURIComponent(config.sshkeys)).toBe(key.publicKey.split(" ").slice(0, 2).join(" ") + " ops");
    expect(config.description).toContain("skyclust.tag.env=test");
    expect(pve.guest(vmid)!.resource.status).toBe("running");
    // Every write's task was polled to completion.
    expect(pve.requestsTo("GET", /\/tasks\/.*qmclone.*\/status$/).length).toBeGreaterThanOrEqual(3);

    // A retry is the same request (the key is bound to it: another body is INVALID_ARGUMENT).
    const again = await call("CreateInstance", request);
    expect(again.instance.id).toBe(inst.id);
    expect(pve.requestsTo("POST", /\/clone$/).length).toBe(1);

    const tagged = await call("ListInstances", { filters: { "tag:env": "test" } });
    expect(tagged.instances.map((i: any) => i.id)).toEqual([inst.id]);
  });

  test("concurrent calls with one idempotency key clone once", async () => {
    const before = pve.requestsTo("POST", /\/clone$/).length;
    const req = { name: "api-1", type: "small", region: "vmpvetest", image_id: "900", idempotency_key: "create-api-1", tags: { env: "test" } };
    const [a, b] = await Promise.all([call("CreateInstance", req), call("CreateInstance", req)]);
    expect(a.instance.id).toBe(b.instance.id);
    expect(pve.requestsTo("POST", /\/clone$/).length - before).toBe(1);

    // Tag filters read descriptions; their pages still hold at most page_size.
    const first = await call("ListInstances", { filters: { "tag:env": "test" }, page_size: 1 });
    expect(first.instances.length).toBe(1);
    expect(first.next_page_token).not.toBe("");
    const second = await call("ListInstances", { filters: { "tag:env": "test" }, page_size: 1, page_token: first.next_page_token });
    expect(second.instances.length).toBe(1);
    expect(second.next_page_token).toBe("");
    expect(second.total_count).toBe(2);
    expect(new Set([first.instances[0].id, second.instances[0].id])).toEqual(new Set([a.instance.id, (await call("ListInstances", { filters: { name: "web-1" } })).instances[0].id]));
    await call("DeleteInstance", { instance_id: a.instance.id });
  });

  test("20 concurrent creates with one key, one at 0.5 s and 19 at 60 s: one clone, the 19 all get its guest, the short one DEADLINE_EXCEEDED", async () => {
    const before = pve.requestsTo("POST", /\/clone$/).length;
    const req = { name: "sf-pve", type: "small", region: "vmpvetest", image_id: "900", idempotency_key: "sf-pve-20" };
    // The clone task runs until the short caller has given up.
    const hold = pve.holdNextTask("qmclone");
    const { short, ids } = await sameKeyRace(provider.client, req, { arrived: hold.started, release: hold.release });
    expect(short.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(ids.size).toBe(1);
    expect(pve.requestsTo("POST", /\/clone$/).length - before).toBe(1);
    expect((await call("ListInstances", { filters: { name: "sf-pve" } })).instances.map((i: any) => i.id)).toEqual([...ids]);
    await call("DeleteInstance", { instance_id: [...ids][0] });
  }, 90_000);

  test("full clones onto another node carry full, target and storage", async () => {
    const p = await start({ ...baseEnv(), PROXMOX_TOKEN_ID: TOKEN_ID, PROXMOX_TOKEN_SECRET: TOKEN_SECRET, PROXMOX_CLONE_MODE: "full", PROXMOX_STORAGE: "local-zfs" });
    const res = await p.client.call("CreateInstance", { name: "far-1", type: "2c2g", region: "vmpvetest2", image_id: "900" }, { deadlineMs: 20_000 });
    expect(res.instance).toMatchObject({ region: "vmpvetest2", type: "2c2g", status: "running" });
    const clone = pve.requestsTo("POST", /^\/nodes\/vmpvetest\/qemu\/900\/clone$/).at(-1)!;
    expect(clone.params).toMatchObject({ full: "1", target: "vmpvetest2", storage: "local-zfs", name: "far-1" });
    await p.client.call("DeleteInstance", { instance_id: res.instance.id }, { deadlineMs: 20_000 });
  });

  test("a clone task that ends in error surfaces its exit status and log tail, and nothing is left behind", async () => {
    const before = pve.requestsTo("POST", /\/clone$/).length;
    pve.failNextTask("qmclone", "storage 'local-lvm' does not have enough free space", ["create full clone of drive scsi0 (local-lvm:base-900-disk-1)", "Logical volume \"vm-120-disk-0\" created."]);
    const err = await grpcError(call("CreateInstance", { name: "db-1", type: "small", region: "vmpvetest", image_id: "900" }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain("storage 'local-lvm' does not have enough free space");
    expect(err.details).toContain("vm-120-disk-0");
    expect(pve.requestsTo("POST", /\/clone$/).length - before).toBe(1);
    const list = await call("ListInstances", { filters: { name: "db-1" } });
    expect(list.instances).toEqual([]);
  });

  test("a failed start after the clone removes the half-made guest", async () => {
    pve.failNextTask("qmstart", "start failed: QEMU exited with code 1", ["kvm: cannot allocate memory"]);
    const err = await grpcError(call("CreateInstance", { name: "db-2", type: "small", region: "vmpvetest", image_id: "900" }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain("QEMU exited with code 1");
    expect((await call("ListInstances", { filters: { name: "db-2" } })).instances).toEqual([]);
  });

  test("bad create input is INVALID_ARGUMENT naming the field", async () => {
    const cases: [object, string][] = [
      [{ name: "x1", type: "huge", image_id: "900" }, "type"],
      [{ name: "x1", type: "small" }, "image_id"],
      [{ name: "bad_name!", type: "small", image_id: "900" }, "name"],
      [{ name: "x1", type: "small", image_id: "900", user_data: "#cloud-config\n" }, "user_data"],
    ];
    for (const [req, field] of cases) {
      const err = await grpcError(call("CreateInstance", req));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual([field]);
    }
    expect((await grpcError(call("CreateInstance", { name: "x1", type: "small", image_id: "no-such-template" }))).code).toBe(grpc.status.NOT_FOUND);
  });

  test("delete stops a running guest, then destroys it with purge", async () => {
    const list = await call("ListInstances", { filters: { name: "web-1" } });
    const id = list.instances[0].id;
    const vmid = list.instances[0].extra.vmid;
    const res = await call("DeleteInstance", { instance_id: id });
    expect(res.success).toBe(true);
    expect(pve.requestsTo("POST", new RegExp(`/qemu/${vmid}/status/stop$`)).length).toBe(1);
    const del = pve.requestsTo("DELETE", new RegExp(`/qemu/${vmid}$`));
    expect(del.length).toBe(1);
    expect(del[0]!.params.purge).toBe("1");
    expect((await grpcError(call("GetInstanceStatus", { instance_id: id }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await grpcError(call("DeleteInstance", { instance_id: "vmpvetest/qemu/900" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
  });
});

describe("security groups (PVE firewall)", () => {
  // The firewall endpoints' answers are MODELLED, not recorded: the cassettes
  // hold no firewall call, so testing/fake-pve.ts answers /cluster/firewall/groups,
  // .../firewall/options and .../firewall/rules in the shapes and with the
  // error bodies of the PVE API documentation (see FakePve.securityGroups).
  beforeAll(() => {
    pve.securityGroups.set("web", { comment: "http and https in", rules: [] });
    pve.securityGroups.set("ssh-in", { rules: [] });
  });

  test("CreateInstance enables the guest firewall and adds a group rule per group, in order; instances report them", async () => {
    const before = pve.requests.length;
    const res = await call("CreateInstance", { name: "fw-1", type: "small", region: "vmpvetest", image_id: "900", security_groups: ["web", "ssh-in"] });
    const vmid = Number(res.instance.extra.vmid);
    expect(res.instance.extra.security_groups).toBe("web,ssh-in");
    const guest = pve.guest(vmid)!;
    expect(guest.firewall.options.enable).toBe(1);
    expect(guest.firewall.rules.map((r) => [r.type, r.action, r.enable])).toEqual([
      ["group", "web", 1],
      ["group", "ssh-in", 1],
    ]);
    // Rules only filter on NICs marked firewall=1.
    expect(guest.config.net0).toMatch(/(^|,)firewall=1(,|$)/);
    expect(guest.config.net0).toContain("bridge=vmbr1");
    const put = pve.requests.slice(before).filter((r) => r.method === "PUT" && r.path.endsWith(`/qemu/${vmid}/firewall/options`));
    expect(put.map((r) => r.params)).toEqual([{ enable: "1" }]);
    // The firewall was set up before the guest started.
    const order = pve.requests.slice(before).filter((r) => r.path.includes(`/qemu/${vmid}/`) && r.method !== "GET").map((r) => r.path.replace(/^.*\/qemu\/\d+/, ""));
    expect(order.indexOf("/firewall/options")).toBeLessThan(order.indexOf("/status/start"));

    const listed = await call("ListInstances", { filters: { name: "fw-1" } });
    expect(listed.instances[0].extra.security_groups).toBe("web,ssh-in");
    // Guests without group rules report none.
    const plain = await call("ListInstances", { filters: { name: "vmpvevm1" } });
    expect(plain.instances[0].extra.security_groups).toBeUndefined();
    await call("DeleteInstance", { instance_id: res.instance.id });
  });

  test("an unknown group is INVALID_ARGUMENT naming it, before anything is cloned", async () => {
    const clones = pve.requestsTo("POST", /\/clone$/).length;
    const err = await grpcError(call("CreateInstance", { name: "fw-2", type: "small", region: "vmpvetest", image_id: "900", security_groups: ["web", "db-only"] }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["security_groups[1]"]);
    expect(err.details).toContain('"db-only"');
    expect(err.details).toContain("ssh-in, web");
    expect(pve.requestsTo("POST", /\/clone$/).length).toBe(clones);
  });

  test("malformed and repeated group names are refused without a PVE call", async () => {
    const before = pve.requestsTo("GET", /^\/cluster\/firewall\/groups$/).length;
    const cases: [string[], string][] = [
      [["web", "no spaces"], "security_groups[1]"],
      [["x".repeat(19)], "security_groups[0]"],
      [["9lives"], "security_groups[0]"],
      [["web", "web"], "security_groups[1]"],
    ];
    for (const [groups, field] of cases) {
      const err = await grpcError(call("CreateInstance", { name: "fw-3", type: "small", region: "vmpvetest", image_id: "900", security_groups: groups }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual([field]);
    }
    expect(pve.requestsTo("GET", /^\/cluster\/firewall\/groups$/).length).toBe(before);
  });

  test("a group deleted between the check and the rule is INVALID_ARGUMENT, and the half-made guest is removed", async () => {
    pve.securityGroups.set("short-lived", { rules: [] });
    // Removed as soon as the clone's task is done, i.e. after the provider checked it.
    pve.afterTask("qmclone", () => pve.securityGroups.delete("short-lived"));
    const err = await grpcError(call("CreateInstance", { name: "fw-4", type: "small", region: "vmpvetest", image_id: "900", security_groups: ["short-lived"] }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["security_groups[0]"]);
    expect((await call("ListInstances", { filters: { name: "fw-4" } })).instances).toEqual([]);
  });
});

describe("authentication", () => {
  test("ticket login once, cookie on reads, CSRF token on writes", () => {
    const authed = pve.requests.filter((r) => r.path !== "/access/ticket");
    expect(authed.filter((r) => r.auth !== "token").every((r) => r.auth === "ticket")).toBe(true);
    expect(pve.requests.filter((r) => r.method !== "GET" && r.auth === "ticket").every((r) => r.csrf)).toBe(true);
    expect(pve.requests.filter((r) => r.method !== "GET" && r.auth === "ticket").length).toBeGreaterThan(5);
    expect(pve.loginCount).toBe(1);
  });

  test("a 401 mid-session causes exactly one new login", async () => {
    const logins = pve.loginCount;
    pve.expireTickets();
    const res = await call("ListInstances", {});
    expect(res.instances.length).toBe(7);
    expect(pve.loginCount).toBe(logins + 1);
    await call("GetInstanceStatus", { instance_id: "vmpvetest/qemu/100" });
    expect(pve.loginCount).toBe(logins + 1);
    // Calls rejected together (region "*" lists both nodes at once) share one login.
    pve.expireTickets();
    const all = await call("ListInstances", { region: "*" });
    expect(all.instances.length).toBe(7);
    expect(pve.loginCount).toBe(logins + 2);
  });

  test("API token auth sends PVEAPIToken and never logs in", async () => {
    const logins = pve.loginCount;
    const before = pve.requests.length;
    const p = await start({ ...baseEnv(), PROXMOX_TOKEN_ID: TOKEN_ID, PROXMOX_TOKEN_SECRET: TOKEN_SECRET });
    const res = await p.client.call("ListInstances", { region: "vmpvetest2" });
    expect(res.instances.length).toBe(3);
    await p.client.call("StartInstance", { instance_id: "vmpvetest2/qemu/101" });
    const mine = pve.requests.slice(before);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.auth === "token")).toBe(true);
    expect(pve.loginCount).toBe(logins);
    expect((await p.client.call("GetProviderInfo")).capabilities.pve_auth).toBe("api-token");
    expect(p.logs.join("\n")).not.toContain(TOKEN_SECRET);
  });

  test("wrong password and wrong token are UNAUTHENTICATED and never logged", async () => {
    const bad = await start({ ...ticketEnv(), PROXMOX_PASSWORD: "not-the-password-123" });
    const err = await grpcError(bad.client.call("ListRegions"));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).not.toContain("not-the-password-123");
    expect(bad.logs.join("\n")).not.toContain("not-the-password-123");
    const badToken = await start({ ...baseEnv(), PROXMOX_TOKEN_ID: TOKEN_ID, PROXMOX_TOKEN_SECRET: "wrong-secret-456" });
    const err2 = await grpcError(badToken.client.call("ListRegions"));
    expect(err2.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(badToken.logs.join("\n")).not.toContain("wrong-secret-456");
  });
});

describe("key pairs and pricing", () => {
  test("key pairs live in the cluster (one resource pool each), not on the replica: a restart with an empty state dir sees them", async () => {
    const created = await call("CreateKeyPair", { key_pair_name: "deploy", tags: { team: "infra" } });
    expect(created.private_key).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(created.key_pair.fingerprint).toMatch(/^SHA256:/);
    const pool = pve.pools.get(keyPoolId("deploy"))!;
    expect(JSON.parse(pool.comment!)).toMatchObject({ name: "deploy", publicKey: created.key_pair.public_key, tags: { team: "infra" } });
    expect(pool.comment).not.toContain("PRIVATE KEY");
    expect(existsSync(join(stateDir, "keypairs.json"))).toBe(false);
    expect((await grpcError(call("CreateKeyPair", { key_pair_name: "deploy" }))).code).toBe(grpc.status.ALREADY_EXISTS);

    await provider.close(); // stays in `started` for the log check; a second close is harmless
    provider = await start({ ...ticketEnv(), PROXMOX_STATE_DIR: mkdtempSync(join(stateDir, "empty-")) });
    const listed = await call("ListKeyPairs", {});
    expect(listed.key_pairs.map((k: any) => k.key_pair_name)).toEqual(["deploy", "ops"]);
    const deploy = listed.key_pairs.find((k: any) => k.key_pair_name === "deploy");
    expect(deploy).toMatchObject({ key_pair_id: created.key_pair.key_pair_id, fingerprint: created.key_pair.fingerprint, tags: { team: "infra" } });
    expect((await call("ListKeyPairs", { filters: { "tag:team": "infra" } })).key_pairs.length).toBe(1);
    await call("DeleteKeyPair", { key_pair_name: "deploy" });
    expect(pve.pools.has(keyPoolId("deploy"))).toBe(false);
    expect((await grpcError(call("DeleteKeyPair", { key_pair_name: "deploy" }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await grpcError(call("ImportKeyPair", { key_pair_name: "junk", public_key: "ssh-rsa nope" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test("pools that are not key pairs are ignored: an admin's pools, and a prefixed pool whose comment names another key pair", async () => {
    pve.pools.set("production", { comment: "the admins' own pool" });
    pve.pools.set(keyPoolId("forged"), { comment: JSON.stringify({ skyclust: "key-pair/v1", id: "pve-key-x", name: "someone-else", fingerprint: "SHA256:x", publicKey: "ssh-ed25519 AAAA", keyType: "ed25519", createdAt: new Date().toISOString() }) });
    pve.pools.set(`${KEY_POOL_PREFIX}junk`, { comment: "{not json" });
    try {
      expect((await call("ListKeyPairs", {})).key_pairs.map((k: any) => k.key_pair_name)).toEqual(["ops"]);
    } finally {
      for (const id of ["production", keyPoolId("forged"), `${KEY_POOL_PREFIX}junk`]) pve.pools.delete(id);
    }
  });

  test("an earlier release's keypairs.json is imported into the cluster once (ids kept, file left as it was); a second replica with a copy adds nothing", async () => {
    const dir = mkdtempSync(join(stateDir, "legacy-"));
    const key = generateKeyPair("ed25519", "legacy");
    const entry = { id: "pve-key-0123456789ab", name: "legacy", fingerprint: key.sha256Fingerprint, publicKey: key.publicKey, keyType: "ed25519", tags: { from: "file" }, createdAt: "2025-01-02T03:04:05.000Z" };
    const text = JSON.stringify({ version: 1, keyPairs: [entry] }, null, 2) + "\n";
    writeFileSync(join(dir, "keypairs.json"), text, { mode: 0o600 });
    const a = await start({ ...ticketEnv(), PROXMOX_STATE_DIR: dir });
    const b = await start({ ...ticketEnv(), PROXMOX_STATE_DIR: dir });
    const listed = (await a.client.call("ListKeyPairs", {}, { deadlineMs: 20_000 })).key_pairs;
    expect(listed.find((k: any) => k.key_pair_name === "legacy")).toMatchObject({ key_pair_id: entry.id, fingerprint: entry.fingerprint, tags: { from: "file" } });
    const again = (await b.client.call("ListKeyPairs", {}, { deadlineMs: 20_000 })).key_pairs;
    expect(again.filter((k: any) => k.key_pair_name === "legacy")).toHaveLength(1);
    expect(readFileSync(join(dir, "keypairs.json"), "utf8")).toBe(text);
    expect(a.logs.some((l) => l.includes("imported") && l.includes('"imported":1'))).toBe(true);
    expect(b.logs.some((l) => l.includes("imported") && l.includes('"already_present":1'))).toBe(true);
    await a.client.call("DeleteKeyPair", { key_pair_name: "legacy" }, { deadlineMs: 20_000 });
  });

  test("a corrupt keypairs.json fails start-up naming the file, rather than dropping key pairs", async () => {
    const dir = mkdtempSync(join(stateDir, "corrupt-"));
    writeFileSync(join(dir, "keypairs.json"), JSON.stringify({ something: "else" }));
    await expect(start({ ...ticketEnv(), PROXMOX_STATE_DIR: dir })).rejects.toThrow("keypairs.json is not a SkyClust key pair store");
  });

  test("cost estimates price the size catalog with the operator rate card", async () => {
    const res = await call("GetCostEstimate", { instance_type: "medium", duration: "10h" });
    expect(res.hourly_rate).toBeCloseTo(2 * 0.01 + 4 * 0.005, 6);
    expect(res.cost).toBeCloseTo(10 * (2 * 0.01 + 4 * 0.005), 6);
    expect(res.breakdown.map((b: any) => b.name)).toEqual(["vcpu", "memory"]);
    const generic = await call("GetCostEstimate", { instance_type: "1c512m" });
    expect(generic.hourly_rate).toBeCloseTo(0.01 + 0.5 * 0.005, 6);
    const err = await grpcError(call("GetCostEstimate", { instance_type: "gigantic" }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(err)).toEqual(["instance_type"]);
  });

  test("health check reaches the API", async () => {
    const res = await call("HealthCheck");
    expect(res.healthy).toBe(true);
    expect(res.message).toContain("9.1.5");
  });
});

describe("the end of the session", () => {
  test("LXC containers reboot and are deleted through the lxc endpoints", async () => {
    const id = "vmpvetest/lxc/913";
    await call("StartInstance", { instance_id: id });
    await call("RestartInstance", { instance_id: id });
    expect(pve.requestsTo("POST", /^\/nodes\/vmpvetest\/lxc\/913\/status\/reboot$/).length).toBe(1);
    await call("DeleteInstance", { instance_id: id });
    expect(pve.requestsTo("POST", /^\/nodes\/vmpvetest\/lxc\/913\/status\/stop$/).length).toBe(1);
    expect(pve.requestsTo("DELETE", /^\/nodes\/vmpvetest\/lxc\/913$/)[0]!.params.purge).toBe("1");
    expect((await grpcError(call("GetInstanceStatus", { instance_id: id }))).code).toBe(grpc.status.NOT_FOUND);
  });

  test("task polling stops at the caller's deadline", async () => {
    pve.hangNextTask("qmstart");
    const err = await grpcError(provider.client.call("StartInstance", { instance_id: "vmpvetest/qemu/110" }, { deadlineMs: 1500 }));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(pve.requestsTo("GET", /\/tasks\/.*qmstart(%3A|:)110.*\/status$/).length).toBeGreaterThan(0);
  });

  test("a missing privilege is PERMISSION_DENIED", async () => {
    pve.denyPaths(/\/qemu\/110\/status\/start$/);
    try {
      const err = await grpcError(call("StartInstance", { instance_id: "vmpvetest/qemu/110" }));
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toContain("VM.PowerMgmt");
    } finally {
      pve.denyPaths(undefined);
    }
  });

  test("an offline node: unavailable region, 595 is UNAVAILABLE, the cluster listing still answers", async () => {
    pve.setNodeOffline("vmpvetest2");
    const regions = await call("ListRegions");
    expect(regions.regions.find((r: any) => r.id === "vmpvetest2").status).toBe("unavailable");
    const err = await grpcError(call("GetInstanceStatus", { instance_id: "vmpvetest2/qemu/101" }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    const all = await call("ListInstances", {});
    const ghost = all.instances.find((i: any) => i.id === "vmpvetest2/qemu/101");
    expect(ghost).toMatchObject({ status: "unknown", raw_status: "unknown" });
    expect(all.unreachable).toEqual(["vmpvetest2: node is unavailable; its guests show status unknown"]);
    const star = await call("ListInstances", { region: "*" });
    expect(star.instances.every((i: any) => i.region === "vmpvetest")).toBe(true);
    expect((await grpcError(call("CreateInstance", { name: "x2", type: "small", region: "vmpvetest2", image_id: "963" }))).code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  test("no password, token secret, ticket or CSRF token ever reached a log line", () => {
    const logs = started.flatMap((p) => p.logs).join("\n");
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain("proxmox ticket obtained");
    for (const secret of [PASSWORD, TOKEN_SECRET, ...pve.issuedSecrets()]) expect(logs).not.toContain(secret);
  });
});
