// A region "*" walk whose pages alternate between two replicas (two
// sandbox servers seeded alike, as two replicas behind a round_robin
// balancer see the same cloud): every token one replica mints, with its
// region cursors and read-ahead hint, is read by the other, and the walk
// lists exactly what a walk on one replica lists, in the same pages.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { awsProvider } from "../../providers/aws/definition";
import { startTestProvider, type TestProvider } from "../testing/harness";

let a: TestProvider;
let b: TestProvider;

beforeAll(async () => {
  // 7 available regions x 30 instances: several pages per region at page_size 20.
  const args = ["--sandbox", "--sandbox-seed-instances", "30"];
  [a, b] = await Promise.all([startTestProvider(awsProvider, args), startTestProvider(awsProvider, args)]);
});
afterAll(() => Promise.all([a?.close(), b?.close()]));

async function walk(replicas: TestProvider[]): Promise<string[][]> {
  const pages: string[][] = [];
  let token = "";
  do {
    const replica = replicas[pages.length % replicas.length]!;
    const page = await replica.client.call("ListInstances", { region: "*", page_size: 20, page_token: token });
    expect(page.unreachable).toEqual([]);
    pages.push(page.instances.map((i: { id: string }) => i.id));
    token = page.next_page_token;
  } while (token && pages.length < 100);
  return pages;
}

describe('region "*" across replicas', () => {
  test("a walk alternating between two replicas lists what a walk on one lists, page for page", async () => {
    const alone = await walk([a]);
    const alternating = await walk([a, b]);
    expect(alone.flat().length).toBe(7 * 30);
    expect(new Set(alone.flat()).size).toBe(7 * 30);
    expect(alternating).toEqual(alone);
  });
});
