// The Proxmox provider against the recorded PVE API (fake-pve.ts, HTTPS
// with its own CA) as a conformance target (shared/conformance). The server
// holds a clone task on request and quotes the request in an error when
// asked (echo).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConformanceTarget } from "../../../shared/conformance/target";
import { startTestProvider } from "../../../shared/testing/harness";
import { proxmoxProvider } from "../definition";
import { makeTestPki } from "./certs";
import { FakePve } from "./fake-pve";

export const proxmoxConformanceTarget: ConformanceTarget = {
  name: "proxmox (recorded PVE)",
  cannot: {
    hangRegion:
      'Proxmox answers region "*" from one /cluster/resources call for every node (a node that is down comes back marked in it, see proxmox.test.ts): there is no per-node call to hang',
    ssh: "the recorded PVE server runs no machines to log in to (the SSH case runs against the sandbox with a real sshd)",
  },
  async start(opts = {}) {
    const password = `Conf-${randomBytes(12).toString("base64url")}`;
    const pki = makeTestPki();
    const pve = await new FakePve({ cert: pki.cert, key: pki.key, password, taskPolls: 1 }).start();
    const stateDir = mkdtempSync(join(tmpdir(), "skyclust-pve-conformance-"));
    const provider = await startTestProvider(proxmoxProvider, [...(opts.args ?? [])], {
      PROXMOX_HOST: pve.host,
      PROXMOX_CA_FILE: pki.caFile,
      PROXMOX_STATE_DIR: stateDir,
      PROXMOX_TASK_POLL_MS: "10",
      PROXMOX_LOCK_RETRY_MS: "10",
      PROXMOX_USER: "PROXMOX_USERNAME",
      PROXMOX_REALM: "pam",
      PROXMOX_PASSWORD: password,
    });
    return {
      provider,
      fixture: { region: "vmpvetest", type: "small", imageId: "900", unknownInstanceId: "vmpvetest/qemu/4242" },
      // The cluster's own state, as a change made in the PVE web UI would be (instance ids are NODE/qemu/VMID).
      behindTheBack: {
        stop: async (id) => pve.stopGuest(Number(id.split("/").at(-1))),
        remove: async (id) => pve.removeGuest(Number(id.split("/").at(-1))),
      },
      listingCalls: () => pve.requestsTo("GET", /^\/cluster\/resources$|^\/nodes\/[^/]+\/qemu$/).length,
      holdNextCreate() {
        const hold = pve.holdNextTask("qmclone");
        return { arrived: hold.started, release: hold.release };
      },
      echo: {
        arm() {
          const failure = { path: /^\/cluster\/resources$/, status: 400 };
          pve.echoFailures.push(failure);
          return () => {
            const i = pve.echoFailures.indexOf(failure);
            if (i >= 0) pve.echoFailures.splice(i, 1);
          };
        },
        // A ticket's user name and time are not secret: its signature is, like the CSRF token's.
        secrets: () => [password, ...pve.issuedSecrets().map((s) => s.slice(s.lastIndexOf(":") + 1))],
      },
      async stop() {
        await provider.close();
        await pve.stop();
        pki.cleanup();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  },
};
