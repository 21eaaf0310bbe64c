// The sandbox as a conformance target: the in-memory cloud started exactly
// as `--sandbox` starts it (flags, server, telemetry wrapper), with a profile
// of its own so shared/ needs no provider. Its "peer" is in-process, so the
// hooks sit at the backend's edge (the place a real cloud call would leave
// the process): a create held before it reaches the in-memory cloud, a
// region whose listing never answers. SSH goes to a real sshd.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProviderDefinition } from "../definition";
import { throwIfAborted } from "../errors";
import type { CallContext, CloudBackend, CreateInstanceSpec, ListInstancesQuery } from "../provider";
import { hexId, privateIpFor } from "../sandbox/ids";
import type { SandboxProfile } from "../sandbox/profile";
import { startTestSshd } from "../ssh/test-sshd";
import { startTestProvider } from "../testing/harness";
import type { ConformanceTarget, Hold } from "./target";

const REGION = "cf-one";
const HUNG = "cf-two";

export function conformanceSandboxProfile(): SandboxProfile {
  return {
    provider: "conformance",
    tagLimits: { maxTags: 50, maxKeyLength: 128, maxValueLength: 256 },
    defaultRegion: REGION,
    regions: [
      { id: REGION, displayName: "Conformance One", zones: [`${REGION}a`, `${REGION}b`] },
      { id: HUNG, displayName: "Conformance Two", zones: [`${HUNG}a`] },
      { id: "cf-three", displayName: "Conformance Three", zones: ["cf-threea"] },
      { id: "cf-closed", displayName: "Conformance Closed", zones: ["cf-closeda"], status: "not-opted-in" },
    ],
    instanceTypes: [{ name: "cf.small", vcpus: 1, memoryGiB: 1 }],
    images: [{ id: "cf-image-1", name: "conformance-linux", loginUser: "root" }],
    loginUsers: { families: [], fallback: "root" },
    priceSource: "demo-rate-card",
    rawStatus: { pending: "PENDING", running: "RUNNING", stopping: "STOPPING", stopped: "STOPPED", rebooting: "REBOOTING", terminating: "TERMINATING", terminated: "TERMINATED" },
    instanceId: (n) => `cf-${hexId(`cf-instance-${n}`, 12)}`,
    keyPairId: (n) => `cfkey-${n}`,
    privateIp: (n) => privateIpFor("10.9", n),
    price: (_type, _region, known) =>
      known ? { hourlyRate: 0.01 * known.vcpus, currency: "USD", source: "conformance", date: "2026-01-01", breakdown: [{ name: "compute", hourlyRate: 0.01 * known.vcpus }] } : undefined,
  };
}

/** The sandbox-only provider the conformance suite (and other shared tests) serve. */
export const conformanceSandboxDefinition: ProviderDefinition = {
  name: "conformance",
  displayName: "conformance sandbox",
  defaultPort: 0,
  flags: [],
  missingCredentials: () => ["(sandbox only)"],
  sandboxProfile: conformanceSandboxProfile,
  createCloudBackend: () => Promise.reject(new Error("the conformance definition serves the sandbox only")),
};

/** Waits until release() or until the call is cancelled (then fails as the cloud call would). */
function gate(): { hold: Hold; wait(ctx: CallContext): Promise<void>; arrive(): void } {
  let arrive!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  const released = new Promise<void>((r) => (release = r));
  return {
    hold: { arrived, release },
    arrive,
    async wait(ctx) {
      await Promise.race([released, new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r(), { once: true }))]);
      throwIfAborted(ctx.signal);
    },
  };
}

export const sandboxTarget: ConformanceTarget = {
  name: "sandbox",
  cannot: { echo: "the sandbox has no upstream that could echo a request" },
  async start(opts = {}) {
    const sshd = await startTestSshd();
    const knownHosts = join(sshd.dir, "known_hosts");
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`, { mode: 0o600 });
    const provider = await startTestProvider(conformanceSandboxDefinition, [
      "--sandbox",
      "--sandbox-transition-ms", "200",
      "--sandbox-seed-instances", "2",
      "--sandbox-ssh-target", sshd.target,
      "--ssh-key-dir", sshd.keyDir,
      "--ssh-known-hosts", knownHosts,
      "--ssh-user", sshd.user,
      ...(opts.args ?? []),
    ]);
    // The backend the server calls; its methods are the edge of the in-memory cloud.
    const backend = provider.started.backend as CloudBackend;
    const listInstances = backend.listInstances.bind(backend);
    const createInstance = backend.createInstance.bind(backend);
    let hung: ReturnType<typeof gate> | undefined;
    let heldCreate: ReturnType<typeof gate> | undefined;
    let listings = 0;
    // The in-memory cloud itself, not the gRPC service in front of it.
    const direct = (): CallContext => ({ signal: new AbortController().signal, requestId: "behind-the-back", log: provider.started.log });
    backend.listInstances = async (ctx: CallContext, q: ListInstancesQuery) => {
      listings++;
      const g = hung;
      if (g && q.region === HUNG) {
        g.arrive();
        await g.wait(ctx);
      }
      return listInstances(ctx, q);
    };
    backend.createInstance = async (ctx: CallContext, spec: CreateInstanceSpec) => {
      const g = heldCreate;
      heldCreate = undefined;
      if (g) {
        g.arrive();
        await g.wait(ctx);
      }
      return createInstance(ctx, spec);
    };
    return {
      provider,
      fixture: { region: REGION, type: "cf.small", unknownInstanceId: "cf-000000000000" },
      behindTheBack: {
        stop: async (instanceId) => void (await backend.stopInstance(direct(), { instanceId, region: REGION, force: false })),
        remove: async (instanceId) => void (await backend.deleteInstance(direct(), { instanceId, region: REGION })),
      },
      listingCalls: () => listings,
      holdNextCreate() {
        heldCreate = gate();
        return heldCreate.hold;
      },
      hangRegion: {
        region: HUNG,
        hang() {
          const g = gate();
          hung = g;
          return {
            arrived: g.hold.arrived,
            release() {
              if (hung === g) hung = undefined;
              g.hold.release();
            },
          };
        },
      },
      ssh: { keyPairName: sshd.keyName },
      async stop() {
        await provider.close();
        await sshd.stop();
      },
    };
  },
};
