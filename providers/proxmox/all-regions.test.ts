// Region "*" on Proxmox is answered natively: the one /cluster/resources
// call a page makes covers every node, instead of one listing (and one
// /cluster/resources) per node. Counted at the PVE stand-in
// (testing/fake-pve.ts) through a real gRPC client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodePageToken, queryFingerprint } from "../../shared/server/page-token";
import { grpcError } from "../../shared/testing/client";
import { forgeFanoutToken } from "../../shared/testing/forge";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { proxmoxProvider } from "./definition";
import { makeTestPki, type TestPki } from "./testing/certs";
import { FakePve } from "./testing/fake-pve";

const TOKEN_ID = "PROXMOX_USERNAME@pam!skyclust";
const TOKEN_SECRET = "5f8a1c2e-0000-4000-8000-a1b2c3d4e5f6";

let pki: TestPki;
let pve: FakePve;
let stateDir: string;
let provider: TestProvider;

beforeAll(async () => {
  pki = makeTestPki();
  pve = await new FakePve({ cert: pki.cert, key: pki.key, tokens: { [TOKEN_ID]: TOKEN_SECRET }, taskPolls: 2 }).start();
  stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-state-"));
  provider = await startTestProvider(proxmoxProvider, [], {
    PROXMOX_HOST: pve.host,
    PROXMOX_CA_FILE: pki.caFile,
    PROXMOX_STATE_DIR: stateDir,
    PROXMOX_TOKEN_ID: TOKEN_ID,
    PROXMOX_TOKEN_SECRET: TOKEN_SECRET,
  });
});

afterAll(async () => {
  await provider?.close();
  await pve?.stop();
  pki?.cleanup();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const call = <T = any>(method: string, req: object = {}) => provider.client.call<T>(method, req, { deadlineMs: 20_000 });
const resourceCalls = () => pve.requestsTo("GET", /^\/cluster\/resources$/).length;

const walk = (req: Record<string, unknown>) => provider.client.listPages(req, 20, { deadlineMs: 20_000 });

describe('region "*" on Proxmox', () => {
  test("one /cluster/resources per page, however many nodes; the same guests as region cluster", async () => {
    const cluster = await call("ListInstances", { region: "cluster", page_size: 500 });
    const nodes = new Set(cluster.instances.map((i: any) => i.region));
    expect(nodes.size).toBeGreaterThan(1); // a per-node fan-out would have listed the cluster once per node
    const before = resourceCalls();
    const pages = await walk({ region: "*", page_size: 3 });
    expect(pages.length).toBeGreaterThan(1);
    expect(resourceCalls() - before).toBe(pages.length);
    expect(pages.every((p) => p.instances.length <= 3)).toBe(true);
    const ids = pages.flatMap((p) => p.instances.map((i: any) => i.id));
    expect(ids).toEqual(cluster.instances.map((i: any) => i.id));
    expect(pages.at(-1).total_count).toBe(ids.length);
  });

  test("forged cursors are INVALID_ARGUMENT before any PVE call", async () => {
    const fingerprint = queryFingerprint("*", {});
    const forged = [
      forgeFanoutToken([["vmpvetest", null, 0]]),
      encodePageToken({ cursor: "after:" + "9".repeat(5000), seen: 0 }, fingerprint),
      encodePageToken({ cursor: "before:100", seen: 0 }, fingerprint),
    ];
    for (const page_token of forged) {
      const before = pve.requests.length;
      const err = await grpcError(call("ListInstances", { region: "*", page_token }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toContain("page_token");
      expect(pve.requests.length).toBe(before);
    }
  });

  // Last: takes a node offline for good.
  test("an offline node's guests are left out and the node is reported unreachable", async () => {
    pve.setNodeOffline("vmpvetest2");
    const res = await call("ListInstances", { region: "*", page_size: 500 });
    expect(res.instances.length).toBeGreaterThan(0);
    expect(res.instances.every((i: any) => i.region === "vmpvetest")).toBe(true);
    expect(res.unreachable).toEqual(["vmpvetest2: node is unavailable; its guests are left out"]);
    expect(res.total_count).toBe(res.instances.length);
  });
});
