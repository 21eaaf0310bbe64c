// The GCP sandbox: Compute Engine-looking regions, zones, machine types,
// numeric instance ids and GCE status words.
import type { SandboxProfile } from "../../shared/sandbox/profile";
import { hexId, numericId, privateIpFor } from "../../shared/sandbox/ids";
import type * as Quote from "./pricing/quote";
import { GCP_TAG_LIMITS } from "./tag-limits";
import { gcpLoginUsers } from "./login-users";

export function gcpSandboxProfile(defaultRegion = "us-central1"): SandboxProfile {
  const zones = (r: string, letters: string) => [...letters].map((l) => `${r}-${l}`);
  return {
    provider: "gcp",
    tagLimits: GCP_TAG_LIMITS,
    defaultRegion,
    regions: [
      { id: "us-central1", displayName: "Iowa", zones: zones("us-central1", "abcf") },
      { id: "us-east1", displayName: "South Carolina", zones: zones("us-east1", "bcd") },
      { id: "europe-west1", displayName: "Belgium", zones: zones("europe-west1", "bcd") },
      { id: "asia-east1", displayName: "Taiwan", zones: zones("asia-east1", "abc") },
    ],
    instanceTypes: [
      { name: "e2-micro", vcpus: 2, memoryGiB: 1 },
      { name: "e2-small", vcpus: 2, memoryGiB: 2 },
      { name: "e2-medium", vcpus: 2, memoryGiB: 4 },
      { name: "e2-standard-2", vcpus: 2, memoryGiB: 8 },
      { name: "e2-standard-4", vcpus: 4, memoryGiB: 16 },
    ],
    images: [
      { id: "projects/debian-cloud/global/images/family/debian-12", name: "debian-12", loginUser: "debian" },
      { id: "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64", name: "ubuntu-2404-lts", loginUser: "ubuntu" },
    ],
    rawStatus: {
      pending: "PROVISIONING",
      running: "RUNNING",
      stopping: "STOPPING",
      stopped: "TERMINATED",
      rebooting: "RUNNING",
      terminating: "STOPPING",
      terminated: "DELETED",
    },
    instanceId: (n) => numericId(`gcp-instance-${n}`, 19),
    keyPairId: (n) => `SHA256:${hexId(`gcp-key-${n}`, 43)}`,
    privateIp: (n) => privateIpFor("10.128", n),
    // The bundled Compute Engine catalog (the same numbers as cloud mode),
    // any machine type it can price, shared-core and custom included.
    // The catalog is evaluated on the first quote, not at every start
    // (`require` in the closure defers it in the bundle too).
    price: (typeName, region) => (require("./pricing/quote") as typeof Quote).gcpPriceQuote(typeName, region),
    priceSource: "catalog",
    loginUsers: gcpLoginUsers,
  };
}
