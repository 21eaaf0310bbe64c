// Attack against the real EC2 backend (moto): a forged "*" page token made
// moto serve 500 DescribeInstances for one RPC. DescribeInstances calls are
// counted by a proxy between the provider and moto.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { grpcError } from "../../shared/testing/client";
import { startCountingProxy, type CountingProxy } from "../../shared/testing/counting-proxy";
import { forgeFanoutToken } from "../../shared/testing/forge";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { awsProvider } from "./definition";
import { startMoto, type MotoServer } from "./moto-server";

let moto: MotoServer;
let proxy: CountingProxy;
let provider: TestProvider;
const list = (req: object) => provider.client.call("ListInstances", { region: "*", page_size: 500, ...req }, { deadlineMs: 120_000 });

beforeAll(async () => {
  moto = await startMoto();
  proxy = startCountingProxy(moto.url, (body) => body.includes("Action=DescribeInstances"));
  provider = await startTestProvider(awsProvider, ["--endpoint", proxy.url, "--region", "us-east-1", "--max-attempts", "1"], {
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
  });
}, 90_000);
afterAll(async () => {
  await provider?.close();
  proxy?.stop();
  await moto?.stop();
});

test("500 copies of one region in a forged token: INVALID_ARGUMENT and no DescribeInstances", async () => {
  proxy.reset();
  const err = await grpcError(list({ page_token: forgeFanoutToken(Array.from({ length: 500 }, () => ["us-east-1", null, 0])) }));
  expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(proxy.count()).toBe(0);
}, 120_000);

test("a forged token naming made-up regions: INVALID_ARGUMENT and no DescribeInstances", async () => {
  proxy.reset();
  const err = await grpcError(list({ page_token: forgeFanoutToken(Array.from({ length: 100 }, (_, i) => [`zz-fake-${i}`, null, 0])) }));
  expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(proxy.count()).toBe(0);
}, 120_000);

test("a well-formed forgery costs no more DescribeInstances than a genuine first page", async () => {
  proxy.reset();
  await list({});
  const genuine = proxy.count();
  expect(genuine).toBeGreaterThan(0);
  const regions = (await provider.client.call("ListRegions")).regions as { id: string; status: string }[];
  const available = regions.filter((r) => r.status === "available").map((r) => r.id);
  proxy.reset();
  await list({ page_token: forgeFanoutToken(available.map((r) => [r, null, 0])) });
  expect(proxy.count()).toBeLessThanOrEqual(genuine);
}, 120_000);
