// The OpenStack sandbox: Nova-looking regions, flavors, UUID server ids and
// Nova status words. Prices come from a demo operator rate card.
import type { SandboxProfile } from "../../shared/sandbox/profile";
import { privateIpFor, uuidFrom } from "../../shared/sandbox/ids";
import { DEMO_RATE_CARDS, rateCardQuote } from "../../shared/pricing";
import { OPENSTACK_TAG_LIMITS } from "./tag-limits";
import { openstackLoginUsers } from "./login-users";

export function openstackSandboxProfile(defaultRegion = "RegionOne"): SandboxProfile {
  return {
    provider: "openstack",
    tagLimits: OPENSTACK_TAG_LIMITS,
    defaultRegion,
    regions: [
      { id: "RegionOne", displayName: "RegionOne", zones: ["nova"] },
      { id: "RegionTwo", displayName: "RegionTwo", zones: ["nova", "az2"] },
    ],
    instanceTypes: [
      { name: "m1.tiny", vcpus: 1, memoryGiB: 0.5 },
      { name: "m1.small", vcpus: 1, memoryGiB: 2 },
      { name: "m1.medium", vcpus: 2, memoryGiB: 4 },
      { name: "m1.large", vcpus: 4, memoryGiB: 8 },
    ],
    images: [
      { id: "70a599e0-31e7-49b7-b260-868f441e862b", name: "cirros-0.6.2", loginUser: "cirros" },
      { id: "a2459075-d96c-40d5-893e-577ff92e721c", name: "ubuntu-24.04", loginUser: "ubuntu" },
    ],
    rawStatus: {
      pending: "BUILD",
      running: "ACTIVE",
      stopping: "ACTIVE",
      stopped: "SHUTOFF",
      rebooting: "REBOOT",
      terminating: "ACTIVE",
      terminated: "DELETED",
    },
    instanceId: (n) => uuidFrom(`openstack-server-${n}`),
    keyPairId: (n) => uuidFrom(`openstack-keypair-${n}`),
    privateIp: (n) => privateIpFor("192.168", n),
    // Sandbox only: a demo operator rate card, labelled as such in every
    // quote's price_source (a real deployment configures --rate-card).
    price: (_typeName, _region, known) => known && rateCardQuote(DEMO_RATE_CARDS.openstack, known),
    priceSource: "demo-rate-card",
    loginUsers: openstackLoginUsers,
  };
}
