// The OpenStack provider against the real testbed (Keystone, Nova with the
// fake virt driver, Glance) as a conformance target (shared/conformance),
// as the demo (member) user. Keystone and Nova are reached through
// GateProxies (Keystone's catalog is rewritten to point compute at the Nova
// proxy), so the suite can hold a server create, hang the region's Nova and
// replace a Nova answer with an error that quotes the request. The testbed
// is shared with other runs: the suite removes what it made.
import type { ConformanceTarget } from "../../../shared/conformance/target";
import { describeRequest } from "../../../shared/testing/echo";
import type { SeenRequest } from "../../../shared/testing/gate-proxy";
import { startTestProvider } from "../../../shared/testing/harness";
import { openstackProvider } from "../definition";
import { novaRequest, proxiedTestbed, requireTestbed, testbedEnv } from "./testbed";

const REGION = "RegionOne";
const listsServers = (r: SeenRequest) => r.method === "GET" && /\/servers\/detail(\?|$)/.test(r.path);

export const openstackConformanceTarget: ConformanceTarget = {
  name: "openstack (testbed)",
  // A real Nova: servers take seconds to build, stop and reboot.
  caseTimeoutMs: 180_000,
  cannot: { ssh: "the testbed's fake virt driver boots no guest to log in to (the SSH case runs against the sandbox with a real sshd)" },
  async start(opts = {}) {
    const env = testbedEnv("demo");
    await requireTestbed(env);
    const proxies = await proxiedTestbed(env);
    const { nova } = proxies;
    const provider = await startTestProvider(openstackProvider, [...(opts.args ?? [])], { ...env, OS_AUTH_URL: proxies.authUrl });
    return {
      provider,
      fixture: { region: REGION, type: "m1.tiny", imageId: "fake-image", unknownInstanceId: "00000000-0000-4000-8000-000000000000" },
      // Nova's REST API directly, as `openstack server stop/delete` would.
      behindTheBack: {
        stop: async (id) => void (await novaRequest(env, "POST", `/servers/${id}/action`, { "os-stop": null })),
        remove: async (id) => void (await novaRequest(env, "DELETE", `/servers/${id}`)),
      },
      listingCalls: () => nova.requests.filter(listsServers).length,
      holdNextCreate: () => nova.holdNext((r) => r.method === "POST" && /\/servers$/.test(r.path)),
      // The testbed has one region: hung, it is the whole "*" listing.
      hangRegion: { region: REGION, hang: () => nova.hangEvery(listsServers) },
      echo: {
        arm: () =>
          nova.replaceNext(listsServers, (r) => ({
            status: 400,
            contentType: "application/json",
            body: JSON.stringify({ badRequest: { code: 400, message: describeRequest(r.method, r.path, r.headers, r.body) } }),
          })),
        secrets: () => [env.OS_PASSWORD!, ...new Set(nova.requests.map((r) => String(r.headers["x-auth-token"] ?? "")).filter(Boolean))],
      },
      async stop() {
        await provider.close();
        await proxies.stop();
      },
    };
  },
};
