#!/usr/bin/env bun
// The aws provider with a 20-region sandbox, for the fan-out benchmark only.
// The aws sandbox profile has 8 regions (7 available); the shared server,
// fan-out and sandbox code are exactly the ones every provider runs, only
// the profile's region list is longer. Keeps shared/ and providers/aws
// untouched.
import { runProvider } from "../../shared/main";
import { awsProvider } from "../../providers/aws/definition";
import { awsSandboxProfile } from "../../providers/aws/sandbox-profile";
import { str } from "../../shared/config";

export const FANOUT_REGIONS = [
  "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
  "sa-east-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1",
  "eu-north-1", "eu-south-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
  "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "me-south-1", "af-south-1",
];

if (import.meta.main) {
  await runProvider({
    ...awsProvider,
    sandboxProfile(settings) {
      const profile = awsSandboxProfile(str(settings, "region") ?? "us-east-1");
      return { ...profile, regions: FANOUT_REGIONS.map((id) => ({ id, displayName: id, zones: [`${id}a`, `${id}b`, `${id}c`] })) };
    },
  });
}
