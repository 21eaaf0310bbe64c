// The AWS sandbox: EC2-looking regions, instance types, ids and states.
import type { SandboxProfile } from "../../shared/sandbox/profile";
import { hexId, privateIpFor } from "../../shared/sandbox/ids";
import type * as Quote from "./pricing/quote";
import { AWS_TAG_LIMITS } from "./tag-limits";
import { awsLoginUsers } from "./login-users";

export function awsSandboxProfile(defaultRegion = "us-east-1"): SandboxProfile {
  const zones = (r: string, letters = "abc") => [...letters].map((l) => `${r}${l}`);
  return {
    provider: "aws",
    tagLimits: AWS_TAG_LIMITS,
    defaultRegion,
    regions: [
      { id: "us-east-1", displayName: "US East (N. Virginia)", zones: zones("us-east-1", "abcdef") },
      { id: "us-east-2", displayName: "US East (Ohio)", zones: zones("us-east-2") },
      { id: "us-west-2", displayName: "US West (Oregon)", zones: zones("us-west-2", "abcd") },
      { id: "eu-west-1", displayName: "Europe (Ireland)", zones: zones("eu-west-1") },
      { id: "eu-central-1", displayName: "Europe (Frankfurt)", zones: zones("eu-central-1") },
      { id: "ap-southeast-1", displayName: "Asia Pacific (Singapore)", zones: zones("ap-southeast-1") },
      { id: "ap-northeast-1", displayName: "Asia Pacific (Tokyo)", zones: zones("ap-northeast-1", "acd") },
      { id: "af-south-1", displayName: "Africa (Cape Town)", zones: zones("af-south-1"), status: "not-opted-in" },
    ],
    instanceTypes: [
      { name: "t3.micro", vcpus: 2, memoryGiB: 1 },
      { name: "t3.small", vcpus: 2, memoryGiB: 2 },
      { name: "t3.medium", vcpus: 2, memoryGiB: 4 },
      { name: "m5.large", vcpus: 2, memoryGiB: 8 },
      { name: "m5.xlarge", vcpus: 4, memoryGiB: 16 },
      { name: "c5.large", vcpus: 2, memoryGiB: 4 },
    ],
    images: [
      { id: "ami-0abcdef1234567890", name: "al2023-ami-2023.6-x86_64", loginUser: "ec2-user" },
      { id: "ami-0fedcba9876543210", name: "ubuntu-noble-24.04-amd64-server", loginUser: "ubuntu" },
      { id: "ami-01234567890abcdef", name: "debian-12-amd64", loginUser: "admin" },
    ],
    rawStatus: {
      pending: "pending",
      running: "running",
      stopping: "stopping",
      stopped: "stopped",
      rebooting: "running",
      terminating: "shutting-down",
      terminated: "terminated",
    },
    instanceId: (n) => `i-${hexId(`aws-instance-${n}`, 17)}`,
    keyPairId: (n) => `key-${hexId(`aws-key-${n}`, 17)}`,
    privateIp: (n) => privateIpFor("172.31", n),
    // The bundled EC2 catalog, for any type it lists (the same numbers as
    // cloud mode): INVALID_ARGUMENT for an unknown type, NOT_FOUND for a
    // type without a price in the region.
    // The catalog (~190 KB of literals) is evaluated on the first quote, not
    // at every start: `require` in the closure defers it in the bundle too.
    price: (typeName, region) => (require("./pricing/quote") as typeof Quote).awsPriceQuote(typeName, region),
    priceSource: "catalog",
    loginUsers: awsLoginUsers,
  };
}
