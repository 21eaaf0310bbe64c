// Two Proxmox provider replicas against one PVE (the stand-in), driven by
// one round_robin client: key pairs are the cluster's (resource pools), and
// a create with an idempotency key is kept single across replicas by a
// create claim (create-claims.ts), not by either process.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestProvider } from "../../shared/testing/harness";
import { twoReplicaSuite } from "../../shared/testing/replicas";
import { CREATE_CLAIM_PREFIX } from "./create-claims";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FakePve } from "./testing/fake-pve";

const TEMPLATE = 901;
let pki: TestPki;
let pve: FakePve;
let stateDir: string;
let seq = 0;

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, taskPolls: 2 }).start();
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-replicas-"));
});

afterAll(async () => {
  await pve?.stop();
  pki?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

twoReplicaSuite({
  start: () =>
    startTestProvider(proxmoxProvider, [], {
      PROXMOX_HOST: pve.host,
      PROXMOX_CA_FILE: pki.caFile,
      PROXMOX_USER: "PROXMOX_USERNAME",
      PROXMOX_REALM: "pam",
      PROXMOX_PASSWORD: pve.password,
      // Each replica its own (empty) state directory, as two pods have.
      PROXMOX_STATE_DIR: mkdtempSync(join(stateDir, "replica-")),
      PROXMOX_TASK_POLL_MS: "10",
      PROXMOX_LOCK_RETRY_MS: "10",
      SKYCLUST_RATE_VCPU_HOUR: "0.01",
      SKYCLUST_RATE_GIB_HOUR: "0.005",
    }),
  name: (suffix) => `rr-${suffix}-${++seq}`,
  createRequest: (name, key) => ({ name, type: "small", region: "vmpvetest", image_id: String(TEMPLATE), ...(key ? { idempotency_key: key } : {}) }),
  cloudInstancesNamed: async (name) => {
    let n = 0;
    for (let vmid = 100; vmid < 10_000; vmid++) if (pve.guest(vmid)?.resource.name === name) n++;
    return n;
  },
});

test("no create claim outlives its create", () => {
  expect([...pve.pools.keys()].filter((p) => p.startsWith(CREATE_CLAIM_PREFIX))).toEqual([]);
});
