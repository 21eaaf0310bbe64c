// The GCE provider against the recorded Compute Engine server (fake-gce.ts)
// as a conformance target (shared/conformance). Calls go through a
// GateProxy in front of it, so the suite can hold an insert's answer; the
// server itself quotes the request in an error when asked (echo).
import { randomBytes } from "node:crypto";
import type { ConformanceTarget } from "../../../shared/conformance/target";
import { GateProxy } from "../../../shared/testing/gate-proxy";
import { startTestProvider } from "../../../shared/testing/harness";
import { gcpProvider } from "../definition";
import { FakeGce, type InjectedFailure } from "./fake-gce";

const PROJECT = "project_name";
const lastPart = (url: unknown) => String(url ?? "").split("/").at(-1)!;

export const gcpConformanceTarget: ConformanceTarget = {
  name: "gcp (recorded GCE)",
  cannot: {
    hangRegion:
      'GCE answers region "*" with one aggregatedList call for every zone (zones GCE cannot reach come back in its warnings, see gcp.test.ts): there is no per-region call to hang',
    ssh: "the recorded GCE server runs no machines to log in to (the SSH case runs against the sandbox with a real sshd)",
  },
  async start(opts = {}) {
    const token = `ya29.a0Conf${randomBytes(24).toString("base64url")}`;
    const fake = new FakeGce({ project: PROJECT, accessToken: token }).start();
    const proxy = await GateProxy.start(fake.url);
    const provider = await startTestProvider(gcpProvider, ["--endpoint", proxy.url, "--region", "us-central1", "--project", PROJECT, ...(opts.args ?? [])], { GOOGLE_OAUTH_ACCESS_TOKEN: token });
    return {
      provider,
      fixture: { region: "us-central1", type: "n1-standard-1", unknownInstanceId: "us-central1-a/no-such-vm" },
      // The stand-in's own state, as a change made in the Cloud Console would be.
      behindTheBack: {
        async stop(id) {
          const vm = fake.allInstances().find((i) => String(i.id) === id || `${lastPart(i.zone)}/${i.name}` === id);
          if (!vm) throw new Error(`no instance ${id} on the stand-in`);
          vm.status = "TERMINATED";
        },
        async remove(id) {
          for (const list of fake.instances.values()) {
            const at = list.findIndex((i) => String(i.id) === id || `${lastPart(i.zone)}/${i.name}` === id);
            if (at >= 0) return void list.splice(at, 1);
          }
          throw new Error(`no instance ${id} on the stand-in`);
        },
      },
      listingCalls: () => proxy.requests.filter((r) => r.method === "GET" && /\/instances(\?|$)/.test(r.path)).length,
      holdNextCreate: () => proxy.holdNext((r) => r.method === "POST" && /\/zones\/[^/]+\/instances(\?|$)/.test(r.path)),
      echo: {
        arm() {
          const failure: InjectedFailure = { method: "GET", path: /\/instances$/, status: 400, reason: "invalid", echo: true, times: 1 };
          fake.failures.push(failure);
          return () => {
            fake.failures = fake.failures.filter((f) => f !== failure);
          };
        },
        secrets: () => [token, token.slice("ya29.".length)],
      },
      async stop() {
        await provider.close();
        await proxy.stop();
        await fake.stop();
      },
    };
  },
};
