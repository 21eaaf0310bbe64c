// A Compute Engine instance resource -> the common Instance shape. Machine
// type, zone and region come from the resource's URLs; the GCE status word
// is kept as rawStatus.
import type { google } from "@google-cloud/compute/build/protos/protos";
import type { Instance } from "../../shared/provider";
import { statusFromTable, type InstanceStatus } from "../../shared/status";
import type { BootSource } from "./boot-images";
import { regionOfZone } from "./rules";

export type GceInstance = google.cloud.compute.v1.IInstance;

export const STATUS_TABLE: Record<string, InstanceStatus> = {
  PROVISIONING: "pending",
  STAGING: "pending",
  RUNNING: "running",
  STOPPING: "stopping",
  // SUSPENDING is on its way to SUSPENDED, the way STOPPING leads to TERMINATED.
  SUSPENDING: "stopping",
  SUSPENDED: "suspended",
  // TERMINATED is GCE's word for a stopped VM that still exists.
  TERMINATED: "stopped",
  // GCE is recovering the VM after a host failure: not usable, not gone.
  REPAIRING: "error",
};

/** GCE status words that a normalized status filter stands for. */
export function rawStatusesFor(status: InstanceStatus): string[] {
  return Object.entries(STATUS_TABLE)
    .filter(([, s]) => s === status)
    .map(([raw]) => raw);
}

export const lastSegment = (url: string | null | undefined): string => (url ?? "").split("/").filter(Boolean).pop() ?? "";

/** The metadata items of an instance or project as a map. */
export function metadataItems(metadata: { items?: { key?: string | null; value?: string | null }[] | null } | null | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of metadata?.items ?? []) if (item.key) out.set(item.key, item.value ?? "");
  return out;
}

export const IDEMPOTENCY_METADATA_KEY = "skyclust-idempotency-key";

function firstSshUser(sshKeys: string | undefined): string | undefined {
  const line = sshKeys?.split("\n").find((l) => l.includes(":"));
  return line ? line.slice(0, line.indexOf(":")) : undefined;
}

/** `boot`: what the boot disk was made from (see boot-images.ts), when known. */
export function toInstance(raw: GceInstance, boot?: BootSource): Instance {
  const zone = lastSegment(raw.zone);
  const nic = raw.networkInterfaces?.[0];
  const natIp = nic?.accessConfigs?.find((a) => a.natIP)?.natIP ?? undefined;
  const metadata = metadataItems(raw.metadata);
  const extra: Record<string, string> = { zone };
  if (raw.selfLink) extra.self_link = raw.selfLink;
  if (nic?.network) extra.network = lastSegment(nic.network);
  if (nic?.subnetwork) extra.subnetwork = lastSegment(nic.subnetwork);
  if (raw.cpuPlatform) extra.cpu_platform = raw.cpuPlatform;
  const networkTags = raw.tags?.items ?? [];
  if (networkTags.length) extra.network_tags = networkTags.join(",");
  const bootDisk = raw.disks?.find((d) => d.boot);
  if (bootDisk?.source) extra.boot_disk = lastSegment(bootDisk.source);
  if (boot?.imageId) extra.source_image_id = boot.imageId;
  if (boot?.snapshot) extra.source_snapshot = boot.snapshot;
  const created = raw.creationTimestamp ? new Date(raw.creationTimestamp) : undefined;
  return {
    id: String(raw.id ?? ""),
    name: raw.name ?? "",
    status: statusFromTable(STATUS_TABLE, raw.status ?? undefined),
    rawStatus: raw.status ?? "",
    type: lastSegment(raw.machineType),
    region: regionOfZone(zone),
    zone,
    imageId: boot?.image,
    createdAt: created && !Number.isNaN(created.getTime()) ? created : undefined,
    tags: { ...(raw.labels ?? {}) },
    publicIp: natIp,
    privateIp: nic?.networkIP ?? undefined,
    keyPairName: firstSshUser(metadata.get("ssh-keys")),
    extra,
  };
}
