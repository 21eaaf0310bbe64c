// A backend that loads at its first cloud call (the aws and gcp providers'
// real mode), served through the real server and a gRPC client: it serves
// before loading, a burst of first calls shares one load, a failed load is
// those calls' error and the next call loads again, and a server that never
// needed the cloud loads nothing, not even to close. The implementation is
// the in-memory sandbox, behind a loader the test holds back.
import { afterEach, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { awsProvider } from "../../providers/aws/definition";
import { unavailable } from "../errors";
import type { CloudBackend } from "../provider";
import { SandboxBackend } from "../sandbox/backend";
import { grpcError } from "../testing/client";
import { startTestServerWithBackend, type TestProvider } from "../testing/harness";
import { healthStatus } from "../testing/health-client";
import { DeferredBackend } from "./deferred-backend";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The backend, its loader's call count, and a gate the loader waits on (open unless held). */
function deferred(opts: { failFirst?: boolean } = {}) {
  const inner = new SandboxBackend(awsProvider.sandboxProfile({}), { transitionMs: 1000, seedPerRegion: 2, latencyMs: 0, failRegions: [] });
  let closed = 0;
  Object.assign(inner, { close: async () => void closed++ });
  let loads = 0;
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  const backend = new DeferredBackend(
    {
      provider: inner.provider,
      defaultRegion: inner.defaultRegion,
      tagLimits: inner.tagLimits,
      loginUsers: inner.loginUsers,
      capabilities: () => inner.capabilities(),
      listsAllRegions: false,
    },
    async (): Promise<CloudBackend> => {
      loads++;
      await gate;
      if (opts.failFirst && loads === 1) throw unavailable("the cloud client did not load (test)");
      return inner;
    },
  );
  return {
    backend,
    loads: () => loads,
    closed: () => closed,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
      return () => open();
    },
  };
}

async function serve(backend: CloudBackend): Promise<TestProvider> {
  const provider = await startTestServerWithBackend(backend);
  cleanups.push(() => provider.close());
  return provider;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await Bun.sleep(2);
}

describe("DeferredBackend", () => {
  test("serves before it loads; a burst of first calls shares one load; later calls reuse it", async () => {
    const d = deferred();
    const release = d.hold();
    const provider = await serve(d.backend);
    expect(await healthStatus(provider.address)).toBe("SERVING");
    expect(d.loads()).toBe(0);
    expect(d.backend.isLoaded).toBe(false);

    // Counts the calls that reached the backend (each then waits for the load).
    let waiting = 0;
    const list = d.backend.listInstances;
    d.backend.listInstances = (ctx, q) => (waiting++, list(ctx, q));
    const burst = Promise.all(Array.from({ length: 5 }, () => provider.client.call("ListInstances", { page_size: 10 })));
    await until(() => waiting === 5);
    expect(d.loads()).toBe(1);
    release();
    const pages = await burst;
    for (const page of pages) expect(page.instances.length).toBeGreaterThan(0);
    const info = await provider.client.call("GetProviderInfo");
    expect(info.capabilities.default_region).toBe("us-east-1");
    expect(info.capabilities.mode).toBe("cloud");
    expect(d.loads()).toBe(1);
    expect(d.backend.isLoaded).toBe(true);
  });

  test("a failed load is the waiting calls' error; the next call loads again", async () => {
    const d = deferred({ failFirst: true });
    const release = d.hold();
    const provider = await serve(d.backend);
    const first = Promise.all([grpcError(provider.client.call("ListInstances", {})), grpcError(provider.client.call("ListKeyPairs", {}))]);
    await until(() => d.loads() === 1);
    release();
    for (const err of await first) {
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toContain("did not load");
    }
    const page = await provider.client.call("ListInstances", {});
    expect(page.instances.length).toBeGreaterThan(0);
    expect(d.loads()).toBe(2);
  });

  test("a server that never called the cloud loads nothing, not even to close", async () => {
    const d = deferred();
    const provider = await startTestServerWithBackend(d.backend);
    expect(await healthStatus(provider.address)).toBe("SERVING");
    await provider.close();
    expect(d.loads()).toBe(0);
    expect(d.closed()).toBe(0);
  });

  test("shutdown closes the loaded implementation", async () => {
    const d = deferred();
    const provider = await startTestServerWithBackend(d.backend);
    await provider.client.call("ListInstances", {});
    await provider.close();
    expect(d.loads()).toBe(1);
    expect(d.closed()).toBe(1);
  });
});
