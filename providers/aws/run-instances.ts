// CreateInstanceSpec -> RunInstances input. Pure functions, so the request
// shape (ClientToken, network interface, block device mapping, user data)
// is unit-tested without a cloud.
import type { RunInstancesCommandInput, _InstanceType } from "@aws-sdk/client-ec2";
import { createHash } from "node:crypto";
import { invalidArgument } from "../../shared/errors";
import type { CreateInstanceSpec } from "../../shared/provider";
import { IDEMPOTENCY_TAG, NAME_TAG, recordToTags } from "./instances";

/** EC2's limit on user data before base64. */
export const MAX_USER_DATA_BYTES = 16 * 1024;

/**
 * EC2 wants user data base64-encoded. Callers usually send the script or
 * cloud-config itself; a value that already is strict base64 (what the EC2
 * API and the AWS CLI take) is passed on unchanged instead of being encoded
 * twice. Plain scripts never qualify: they contain "#", spaces or newlines.
 */
export function encodeUserData(userData: string): string {
  const looksEncoded = userData.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(userData);
  const raw = looksEncoded ? Buffer.from(userData, "base64") : Buffer.from(userData, "utf8");
  if (raw.length > MAX_USER_DATA_BYTES) throw invalidArgument("user_data", `is larger than EC2's ${MAX_USER_DATA_BYTES / 1024} KiB limit`);
  return looksEncoded ? userData : raw.toString("base64");
}

/**
 * EC2 ClientToken for a caller's idempotency key. EC2 deduplicates
 * RunInstances by ClientToken per account and region, so a retried create
 * returns the first call's instance. Hashing scopes the key to SkyClust (a
 * caller key "1" never collides with another tool's token) and keeps it
 * within EC2's 64 ASCII characters.
 */
export function clientTokenFor(idempotencyKey: string): string {
  return `skyclust-${createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 48)}`;
}

export interface ResolvedPlacement {
  /** Subnet to launch into: the caller's, or one picked from vpc_id. */
  subnetId?: string;
  /** Root device of the image, needed only when the root volume is customized. */
  rootDeviceName?: string;
  /** Key pair name looked up from key_pair_id (RunInstances takes names only). */
  keyName?: string;
}

function splitSecurityGroups(groups: string[]): { ids: string[]; names: string[] } {
  const ids = groups.filter((g) => g.startsWith("sg-"));
  const names = groups.filter((g) => !g.startsWith("sg-"));
  return { ids, names };
}

export function buildRunInstancesInput(spec: CreateInstanceSpec, placement: ResolvedPlacement): RunInstancesCommandInput {
  if (!spec.imageId) throw invalidArgument("image_id", "is required on EC2 (an AMI id such as ami-0abcdef1234567890)");
  const tags: Record<string, string> = { ...spec.tags, [NAME_TAG]: spec.name };
  if (spec.idempotencyKey) tags[IDEMPOTENCY_TAG] = spec.idempotencyKey;
  const { ids: groupIds, names: groupNames } = splitSecurityGroups(spec.securityGroups);

  const input: RunInstancesCommandInput = {
    ImageId: spec.imageId,
    InstanceType: spec.type as _InstanceType,
    MinCount: 1,
    MaxCount: 1,
    TagSpecifications: [
      { ResourceType: "instance", Tags: recordToTags(tags) },
      // Volumes carry the same tags so cost reports group them with the instance.
      { ResourceType: "volume", Tags: recordToTags(tags) },
    ],
  };
  if (spec.idempotencyKey) input.ClientToken = clientTokenFor(spec.idempotencyKey);
  if (spec.zone) input.Placement = { AvailabilityZone: spec.zone };
  const keyName = spec.keyPairName ?? placement.keyName;
  if (keyName) input.KeyName = keyName;
  if (spec.userData) input.UserData = encodeUserData(spec.userData);

  if (spec.publicIp) {
    // A public address on launch is a property of the primary network
    // interface; subnet and groups then move onto that interface too.
    if (groupNames.length > 0) {
      const i = spec.securityGroups.indexOf(groupNames[0]!);
      throw invalidArgument(`security_groups[${i}]`, "with public_ip, give security group ids (sg-...), not names");
    }
    input.NetworkInterfaces = [
      {
        DeviceIndex: 0,
        AssociatePublicIpAddress: true,
        DeleteOnTermination: true,
        SubnetId: placement.subnetId,
        Groups: groupIds.length > 0 ? groupIds : undefined,
      },
    ];
  } else {
    if (placement.subnetId) input.SubnetId = placement.subnetId;
    if (groupIds.length > 0) input.SecurityGroupIds = groupIds;
    if (groupNames.length > 0) input.SecurityGroups = groupNames;
  }

  if (spec.rootVolumeSizeGb !== undefined || spec.rootVolumeType !== undefined) {
    if (!placement.rootDeviceName) throw invalidArgument("image_id", "the image has no root device to size");
    input.BlockDeviceMappings = [
      {
        DeviceName: placement.rootDeviceName,
        Ebs: {
          VolumeSize: spec.rootVolumeSizeGb,
          VolumeType: spec.rootVolumeType as never,
          DeleteOnTermination: true,
        },
      },
    ];
  }
  return input;
}
