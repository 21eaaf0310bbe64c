// The Proxmox VE sandbox: cluster nodes as regions, a size catalog as
// instance types, "node/qemu/vmid" ids and PVE status words. Prices come
// from a demo operator rate card.
import type { SandboxProfile } from "../../shared/sandbox/profile";
import { hexId, privateIpFor } from "../../shared/sandbox/ids";
import { DEMO_RATE_CARDS, rateCardQuote } from "../../shared/pricing";
import { PROXMOX_TAG_LIMITS } from "./tag-limits";
import { proxmoxLoginUsers } from "./login-users";

export function proxmoxSandboxProfile(defaultRegion = "pve1"): SandboxProfile {
  return {
    provider: "proxmox",
    tagLimits: PROXMOX_TAG_LIMITS,
    defaultRegion,
    regions: [
      { id: "pve1", displayName: "pve1 (cluster demo)", zones: ["pve1"] },
      { id: "pve2", displayName: "pve2 (cluster demo)", zones: ["pve2"] },
      { id: "pve3", displayName: "pve3 (cluster demo)", zones: ["pve3"] },
    ],
    instanceTypes: [
      { name: "small", vcpus: 1, memoryGiB: 1 },
      { name: "medium", vcpus: 2, memoryGiB: 4 },
      { name: "large", vcpus: 4, memoryGiB: 8 },
    ],
    images: [
      { id: "9000", name: "debian-12-cloudinit", loginUser: "debian" },
      { id: "9001", name: "ubuntu-2404-cloudinit", loginUser: "ubuntu" },
    ],
    rawStatus: {
      pending: "prelaunch",
      running: "running",
      stopping: "running",
      stopped: "stopped",
      rebooting: "running",
      terminating: "stopped",
      terminated: "deleted",
    },
    instanceId: (n, region) => `${region}/qemu/${100 + n}`,
    keyPairId: (n) => `proxmox-key-${hexId(`proxmox-key-${n}`, 12)}`,
    privateIp: (n) => privateIpFor("10.10", n),
    instanceExtra: (_type, n) => ({ vmid: String(100 + n), kind: "qemu" }),
    // Sandbox only: a demo operator rate card, labelled as such in every
    // quote's price_source (a real deployment configures --rate-card).
    price: (_typeName, _region, known) => known && rateCardQuote(DEMO_RATE_CARDS.proxmox, known),
    priceSource: "demo-rate-card",
    loginUsers: proxmoxLoginUsers,
  };
}
