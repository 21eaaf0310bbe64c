// EC2 instance <-> domain Instance, and the portable ListInstances filters
// -> EC2 Filters translation.
import type { Filter, Instance as Ec2Instance, Tag } from "@aws-sdk/client-ec2";
import { invalidArgument } from "../../shared/errors";
import type { Instance } from "../../shared/provider";
import { isInstanceStatus, statusFromTable, type InstanceStatus } from "../../shared/status";
import { quote } from "../../shared/quote";

/** Tag that records the caller's idempotency key on the instance it created. */
export const IDEMPOTENCY_TAG = "skyclust:idempotency-key";
/** EC2 keeps the instance name in this tag. */
export const NAME_TAG = "Name";

// EC2 instance-state-name values. EC2 has no "rebooting" state: a rebooting
// instance stays "running".
const EC2_STATUS: Record<string, InstanceStatus> = {
  pending: "pending",
  running: "running",
  "shutting-down": "terminating",
  terminated: "terminated",
  stopping: "stopping",
  stopped: "stopped",
};

export function normalizeStatus(raw: string | undefined): InstanceStatus {
  return statusFromTable(EC2_STATUS, raw);
}

/** EC2 state names that a normalized status stands for (empty: none can match). */
export function ec2StatesFor(status: InstanceStatus): string[] {
  return Object.entries(EC2_STATUS)
    .filter(([, s]) => s === status)
    .map(([raw]) => raw);
}

export function tagsToRecord(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? "";
  return out;
}

export function recordToTags(record: Record<string, string>): Tag[] {
  return Object.entries(record).map(([Key, Value]) => ({ Key, Value }));
}

export function toInstance(i: Ec2Instance, region: string): Instance {
  const allTags = tagsToRecord(i.Tags);
  // Name and our own bookkeeping tag have their own fields; tags holds what
  // the caller set, so a create's tags read back unchanged.
  const { [NAME_TAG]: name = "", [IDEMPOTENCY_TAG]: idempotencyKey, ...tags } = allTags;
  const extra: Record<string, string> = {};
  const put = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== "") extra[k] = v;
  };
  put("vpc_id", i.VpcId);
  put("subnet_id", i.SubnetId);
  put("architecture", i.Architecture);
  put("platform", i.PlatformDetails);
  put("lifecycle", i.InstanceLifecycle ?? "on-demand");
  put("security_group_ids", (i.SecurityGroups ?? []).map((g) => g.GroupId).filter(Boolean).join(","));
  put("public_dns_name", i.PublicDnsName);
  put("private_dns_name", i.PrivateDnsName);
  put("root_device_name", i.RootDeviceName);
  put("root_device_type", i.RootDeviceType);
  put("state_reason", i.StateReason?.Message);
  put("idempotency_key", idempotencyKey);
  return {
    id: i.InstanceId ?? "",
    name,
    status: normalizeStatus(i.State?.Name),
    rawStatus: i.State?.Name ?? "",
    type: i.InstanceType ?? "",
    region,
    zone: i.Placement?.AvailabilityZone,
    imageId: i.ImageId,
    createdAt: i.LaunchTime,
    tags,
    publicIp: i.PublicIpAddress,
    privateIp: i.PrivateIpAddress,
    keyPairName: i.KeyName,
    extra,
  };
}

export interface TranslatedFilters {
  filters: Filter[];
  /** True when a filter can match no EC2 instance (e.g. status "suspended"). */
  matchesNothing: boolean;
}

/**
 * Portable keys: status (normalized vocabulary), name, type, tag:KEY. Any
 * other key is an EC2 DescribeInstances filter name (instance-state-name,
 * vpc-id, availability-zone, ...) passed through with its value.
 */
export function translateFilters(filters: Record<string, string>): TranslatedFilters {
  const out: Filter[] = [];
  let matchesNothing = false;
  for (const [key, value] of Object.entries(filters)) {
    if (key === "status") {
      if (!isInstanceStatus(value)) throw invalidArgument("filters[status]", `${quote(value)} is not a status (pending, running, stopping, stopped, rebooting, suspended, terminating, terminated, error, unknown)`);
      const states = ec2StatesFor(value);
      if (states.length === 0) matchesNothing = true;
      else out.push({ Name: "instance-state-name", Values: states });
    } else if (key === "name") {
      out.push({ Name: `tag:${NAME_TAG}`, Values: [value] });
    } else if (key === "type") {
      out.push({ Name: "instance-type", Values: [value] });
    } else if (key.startsWith("tag:")) {
      if (key.length === 4) throw invalidArgument(`filters[${key}]`, "tag filter needs a key, e.g. tag:env");
      out.push({ Name: key, Values: [value] });
    } else {
      if (!/^[A-Za-z0-9][A-Za-z0-9.:_-]*$/.test(key)) throw invalidArgument(`filters[${key}]`, "not an EC2 filter name");
      out.push({ Name: key, Values: [value] });
    }
  }
  return { filters: out, matchesNothing };
}
