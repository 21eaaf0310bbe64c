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

export const gcpConformanceTarget: ConformanceTarget = {
  name: "gcp (recorded GCE)",
  cannot: {
    hangRegion:
      'GCE answers region "*" with one aggregatedList call for every zone (zones GCE cannot reach come back in its warnings, see gcp.test.ts): there is no per-region call to hang',
    ssh: "the recorded GCE server runs no machines to log in to (the SSH case runs against the sandbox with a real sshd)",
  },
  async start() {
    const token = `ya29.a0Conf${randomBytes(24).toString("base64url")}`;
    const fake = new FakeGce({ project: PROJECT, accessToken: token }).start();
    const proxy = await GateProxy.start(fake.url);
    const provider = await startTestProvider(gcpProvider, ["--endpoint", proxy.url, "--region", "us-central1", "--project", PROJECT], { GOOGLE_OAUTH_ACCESS_TOKEN: token });
    return {
      provider,
      fixture: { region: "us-central1", type: "n1-standard-1", unknownInstanceId: "us-central1-a/no-such-vm" },
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
