// Attack: forged page tokens must not amplify cloud calls. The checksum is
// public, so an attacker can wrap any multi-region cursor; each forgery must
// be INVALID_ARGUMENT before an instance listing, and a well-formed forgery
// may cost no more than a genuine token (one page per real region, once).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { awsProvider } from "../../providers/aws/definition";
import { parseArgs } from "../config";
import { allFlags, createSandbox } from "../main";
import type { CloudBackend } from "../provider";
import { grpcError } from "../testing/client";
import { forgeFanoutToken } from "../testing/forge";
import { startTestServerWithBackend, type TestProvider } from "../testing/harness";
import { MAX_PAGE_TOKEN } from "./page-token";

const calls = { listInstances: 0, listRegions: 0 };
let p: TestProvider;
let available: string[];

/** The sandbox backend with every cloud call counted. */
function counted(backend: CloudBackend): CloudBackend {
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "listInstances" || prop === "listRegions") calls[prop]++;
        return value.apply(target, args);
      };
    },
  });
}

beforeAll(async () => {
  const { settings } = parseArgs(allFlags(awsProvider), ["--sandbox", "--sandbox-seed-instances", "3"], {});
  p = await startTestServerWithBackend(counted(createSandbox(awsProvider, settings)));
  const regions = (await p.client.call("ListRegions")).regions as { id: string; status: string }[];
  available = regions.filter((r) => r.status === "available").map((r) => r.id);
});
afterAll(() => p.close());

async function attack(token: string) {
  calls.listInstances = 0;
  calls.listRegions = 0;
  return grpcError(p.client.call("ListInstances", { region: "*", page_size: 500, page_token: token }));
}

describe("forged multi-region page tokens", () => {
  test("3,200 copies of one region: INVALID_ARGUMENT before any cloud call", async () => {
    const err = await attack(forgeFanoutToken(Array.from({ length: 3200 }, () => ["us-east-1", null, 0])));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("page_token");
    expect(calls).toEqual({ listInstances: 0, listRegions: 0 });
  });

  test("one region twice: INVALID_ARGUMENT before any cloud call", async () => {
    const err = await attack(forgeFanoutToken([["us-east-1", null, 0], ["us-west-2", null, 0], ["us-east-1", null, 0]]));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("appears twice");
    expect(calls).toEqual({ listInstances: 0, listRegions: 0 });
  });

  test("regions that do not exist: INVALID_ARGUMENT, no instance listing", async () => {
    const err = await attack(forgeFanoutToken(Array.from({ length: 100 }, (_, i) => [`fake-region-${i}`, null, 0])));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("not an available region");
    expect(calls.listInstances).toBe(0);
  });

  test("a region that is not opted in (af-south-1) is refused like an unknown one", async () => {
    const err = await attack(forgeFanoutToken([["af-south-1", null, 0]]));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(calls.listInstances).toBe(0);
  });

  test("regions out of the cloud's order are refused", async () => {
    const err = await attack(forgeFanoutToken([...available].reverse().map((r) => [r, null, 0] as [string, null, number])));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(calls.listInstances).toBe(0);
  });

  test("oversized tokens, cursors and skips are refused before any cloud call", async () => {
    for (const token of [
      "v1." + "A".repeat(MAX_PAGE_TOKEN + 1) + ".x",
      forgeFanoutToken([["us-east-1", "x".repeat(100_000), 0]]),
      forgeFanoutToken([["us-east-1", null, 1e9]]),
      forgeFanoutToken([["us-east-1", null, -1]]),
    ]) {
      const err = await attack(token);
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(calls).toEqual({ listInstances: 0, listRegions: 0 });
    }
  });

  test("a well-formed forgery of every region costs what a genuine first page costs", async () => {
    calls.listInstances = 0;
    const genuine = await p.client.call("ListInstances", { region: "*", page_size: 500 });
    const genuineCost = calls.listInstances;
    expect(genuineCost).toBe(available.length);
    calls.listInstances = 0;
    const forged = await p.client.call("ListInstances", {
      region: "*",
      page_size: 500,
      page_token: forgeFanoutToken(available.map((r) => [r, null, 0])),
    });
    expect(calls.listInstances).toBeLessThanOrEqual(genuineCost);
    expect(forged.instances.length).toBe(genuine.instances.length);
  });

  test("genuine tokens still page through every region", async () => {
    const ids: string[] = [];
    let token = "";
    do {
      const page = await p.client.call("ListInstances", { region: "*", page_size: 4, page_token: token });
      ids.push(...page.instances.map((i: { id: string }) => i.id));
      token = page.next_page_token;
    } while (token);
    expect(ids.length).toBe(available.length * 3);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
