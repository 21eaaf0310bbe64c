// WatchInstances on OpenStack with Nova's versioned notifications (the
// testbed's Nova publishes them on its RabbitMQ): with polling set so slow
// that it never happens during the test, a change made straight through
// Nova's REST API still reaches the watcher, because the notice makes the
// watch relist at once. Without the notification source this test fails.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { metricSample } from "../../shared/testing/metrics-sample";
import { WatchSubscriber } from "../../shared/testing/watch-client";
import { openstackProvider } from "./definition";
import { TESTBED_BUS_URL, novaRequest, requireTestbed, testbedEnv } from "./testing/testbed";

setDefaultTimeout(180_000);
const REGION = "RegionOne";
const RUN = `wn${Date.now().toString(36)}`;
const env = testbedEnv("demo");
let provider: TestProvider;
const created: string[] = [];

beforeAll(async () => {
  await requireTestbed(env);
  provider = await startTestProvider(
    openstackProvider,
    ["--nova-notifications-url", TESTBED_BUS_URL, "--watch-poll-fast-ms", "600000", "--watch-poll-slow-ms", "600000", "--metrics-addr", "127.0.0.1:0"],
    env,
  );
});

afterAll(async () => {
  for (const id of created) await provider.client.call("DeleteInstance", { instance_id: id, region: REGION }).catch(() => undefined);
  await provider?.close();
});

test("a change made behind the provider's back reaches a watcher through Nova's notification, long before any poll", async () => {
  const vm = (await provider.client.call("CreateInstance", { name: `${RUN}-n`, type: "m1.tiny", image_id: "fake-image", region: REGION, tags: { watch: RUN }, wait_until_running: true }, { deadlineMs: 120_000 })).instance;
  created.push(vm.id);
  const w = new WatchSubscriber(provider.client, { region: REGION, filters: { "tag:watch": RUN } });
  try {
    await w.until((x) => x.linesFor(vm.id).some((l) => l.endsWith(" running")), "running", 120_000);
    const polls = async () => metricSample(provider.started.metrics!.address, "skyclust_watch_polls_total", { provider: "openstack", outcome: "ok" });
    const pollsBefore = await polls();
    await novaRequest(env, "POST", `/servers/${vm.id}/action`, { "os-stop": null });
    await w.until((x) => x.linesFor(vm.id).some((l) => l.endsWith(" stopped")), "stopped", 120_000);
    // Only notices made the watch look again (its interval is ten minutes).
    expect(await metricSample(provider.started.metrics!.address, "skyclust_watch_change_notices_total", { provider: "openstack" })).toBeGreaterThan(0);
    expect(await polls()).toBeGreaterThan(pollsBefore);
    const logs = provider.logs.join("\n");
    expect(logs).toContain("nova notifications: listening");
    expect(logs).not.toContain("secret@");
  } finally {
    w.cancel();
  }
});
