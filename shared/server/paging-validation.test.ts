// Paging, the "*" fan-out and request validation, through a real client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { awsProvider } from "../../providers/aws/definition";
import { badRequestFields, grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";

let p: TestProvider;
const call = <T = any>(m: string, req: object = {}) => p.client.call<T>(m, req);

beforeAll(async () => {
  // 7 available regions x 5 instances; eu-west-1 is made to fail.
  p = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-seed-instances", "5", "--sandbox-fail-regions", "eu-west-1"]);
});
afterAll(() => p.close());

const listAll = (req: Record<string, unknown>) => p.client.listPages(req, 100);

describe("paging", () => {
  test("pages of 2 in one region hold every instance exactly once; the last page knows the total", async () => {
    const pages = await listAll({ region: "us-east-1", page_size: 2 });
    const ids = pages.flatMap((pg) => pg.instances.map((i: any) => i.id));
    expect(pages.map((pg) => pg.instances.length)).toEqual([2, 2, 1]);
    expect(new Set(ids).size).toBe(5);
    expect(pages.at(-1).total_count).toBe(5);
  });

  test('region "*" lists every available region concurrently, reports the failing one, never exceeds page_size', async () => {
    const pages = await listAll({ region: "*", page_size: 3 });
    for (const pg of pages) expect(pg.instances.length).toBeLessThanOrEqual(3);
    const ids = pages.flatMap((pg) => pg.instances.map((i: any) => i.id));
    const regions = new Set(pages.flatMap((pg) => pg.instances.map((i: any) => i.region)));
    // 8 regions: af-south-1 is not opted in, eu-west-1 fails -> 6 x 5 instances.
    expect(ids.length).toBe(30);
    expect(new Set(ids).size).toBe(30);
    expect(regions.has("eu-west-1")).toBe(false);
    expect(regions.has("af-south-1")).toBe(false);
    const unreachable = pages.flatMap((pg) => pg.unreachable);
    expect(unreachable.length).toBe(1);
    expect(unreachable[0]).toStartWith("eu-west-1: UNAVAILABLE");
    expect(pages.at(-1).total_count).toBe(30);
    expect(pages[0].total_count).toBe(-1);
  });

  test("filters apply across pages", async () => {
    const pages = await listAll({ region: "us-east-1", page_size: 1, filters: { "tag:env": "demo" } });
    const all = pages.flatMap((pg) => pg.instances);
    expect(all.length).toBe(3);
    for (const i of all) expect(i.tags.env).toBe("demo");
  });

  test("a corrupted page token is INVALID_ARGUMENT, not a restart from page one", async () => {
    const first = await call("ListInstances", { region: "us-east-1", page_size: 2 });
    const tampered = first.next_page_token.slice(0, -2) + (first.next_page_token.endsWith("AA") ? "BB" : "AA");
    for (const token of ["garbage", tampered]) {
      const err = await grpcError(call("ListInstances", { region: "us-east-1", page_size: 2, page_token: token }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(err)).toEqual(["page_token"]);
    }
  });

  test("a page token replayed with other filters or region is INVALID_ARGUMENT", async () => {
    const first = await call("ListInstances", { region: "us-east-1", page_size: 2 });
    const otherFilters = await grpcError(call("ListInstances", { region: "us-east-1", page_size: 2, page_token: first.next_page_token, filters: { status: "running" } }));
    expect(otherFilters.code).toBe(grpc.status.INVALID_ARGUMENT);
    const otherRegion = await grpcError(call("ListInstances", { region: "us-east-2", page_size: 2, page_token: first.next_page_token }));
    expect(otherRegion.details).toContain("another region or other filters");
  });
});

describe("validation names the field (message and google.rpc.BadRequest)", () => {
  const cases: [string, object, string][] = [
    ["GetInstanceStatus", {}, "instance_id"],
    ["GetInstanceStatus", { instance_id: "i-1", region: "*" }, "region"],
    ["GetInstanceStatus", { instance_id: "i-1", region: "us east" }, "region"],
    ["StopInstance", { instance_id: "bad\u0001id" }, "instance_id"],
    ["ListInstances", { page_size: 501 }, "page_size"],
    ["ListInstances", { page_size: -1 }, "page_size"],
    ["ListInstances", { filters: { "": "x" } }, "filters"],
    ["ListInstances", { filters: { colour: "red" } }, "filters[colour]"],
    ["CreateInstance", { type: "t3.micro" }, "name"],
    ["CreateInstance", { name: "a" }, "type"],
    ["CreateInstance", { name: "a", type: "t9.huge" }, "type"],
    ["CreateInstance", { name: "a", type: "t3.micro", region: "mars-1" }, "region"],
    ["CreateInstance", { name: "a", type: "t3.micro", root_volume_size: 999999 }, "root_volume_size"],
    ["CreateInstance", { name: "a", type: "t3.micro", idempotency_key: "spaces are bad" }, "idempotency_key"],
    ["CreateInstance", { name: "a", type: "t3.micro", tags: { k: "v".repeat(300) } }, "tags[k]"],
    ["CreateInstance", { name: "a", type: "t3.micro", image_id: "ami-nope" }, "image_id"],
    ["GetCostEstimate", { duration: "1h" }, "instance_type"],
    ["GetCostEstimate", { instance_type: "t3.micro", duration: "1 fortnight" }, "duration"],
    ["GetCostEstimate", { instance_type: "t3.micro", duration: "-1h" }, "duration"],
    ["CreateKeyPair", {}, "key_pair_name"],
    ["CreateKeyPair", { key_pair_name: "../etc/passwd" }, "key_pair_name"],
    ["CreateKeyPair", { key_pair_name: "ok", key_type: "dsa" }, "key_type"],
    ["ImportKeyPair", { key_pair_name: "k" }, "public_key"],
    ["ImportKeyPair", { key_pair_name: "k", public_key: "ssh-rsa AAAAB3NzaC1yc2E=" }, "public_key"],
    ["ExecuteInstanceCommand", { instance_id: "i-1" }, "command"],
    ["ExecuteInstanceCommand", { instance_id: "i-1", command: "uptime", timeout_seconds: 100000 }, "timeout_seconds"],
    ["CreateInstanceSSHTunnel", { instance_id: "i-1", remote_port: 0 }, "remote_port"],
    ["CreateInstanceSSHTunnel", { instance_id: "i-1", remote_port: 22, local_port: 70000 }, "local_port"],
    ["CloseInstanceSSHTunnel", {}, "tunnel_id"],
  ];
  for (const [method, req, field] of cases) {
    test(`${method} ${JSON.stringify(req)} -> ${field}`, async () => {
      const err = await grpcError(call(method, req));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toStartWith(`${field}:`);
      expect(badRequestFields(err)).toEqual([field]);
    });
  }
});
