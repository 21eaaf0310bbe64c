// Nova server <-> domain Instance: the status table, the task states that
// refine it, addresses, flavor, metadata and tags, and how ListInstances
// filters become Nova query parameters (or client-side checks where Nova
// has no server-side filter).
import { createHash } from "node:crypto";
import { invalidArgument } from "../../shared/errors";
import type { Instance } from "../../shared/provider";
import { statusFromTable, type InstanceStatus } from "../../shared/status";
import type { NovaFlavor, NovaServer } from "./compute";
import { quote } from "../../shared/quote";

/** Nova server status -> normalized status (raw word kept in rawStatus). */
export const NOVA_STATUS: Record<string, InstanceStatus> = {
  BUILD: "pending",
  ACTIVE: "running",
  SHUTOFF: "stopped",
  REBOOT: "rebooting",
  HARD_REBOOT: "rebooting",
  ERROR: "error",
  DELETED: "terminated",
  SOFT_DELETED: "terminated",
  SUSPENDED: "suspended",
  PAUSED: "suspended",
  SHELVED: "stopped",
  SHELVED_OFFLOADED: "stopped",
  RESCUE: "running",
  RESIZE: "pending",
  VERIFY_RESIZE: "running",
  REVERT_RESIZE: "pending",
  MIGRATING: "running",
  REBUILD: "pending",
  PASSWORD: "running",
  UNKNOWN: "unknown",
};

/** Task states that say more than the status while an action runs. */
const TASK_STATUS: Record<string, InstanceStatus> = {
  "powering-off": "stopping",
  "powering-on": "pending",
  deleting: "terminating",
  "soft-deleting": "terminating",
  rebooting: "rebooting",
  "reboot_pending": "rebooting",
  "reboot_started": "rebooting",
  "rebooting_hard": "rebooting",
  "reboot_pending_hard": "rebooting",
  "reboot_started_hard": "rebooting",
};

export function serverStatus(server: Pick<NovaServer, "status" | "OS-EXT-STS:task_state">): InstanceStatus {
  const task = server["OS-EXT-STS:task_state"];
  if (task && TASK_STATUS[task] && server.status !== "ERROR") return TASK_STATUS[task]!;
  return statusFromTable(NOVA_STATUS, server.status);
}

/** Metadata key holding the caller's idempotency key on servers we create. */
export const IDEMPOTENCY_METADATA = "skyclust:idempotency-key";
/** Nova tags are at most 60 characters, so the tag carries a digest of the key. */
export const idempotencyTag = (key: string) => "skyclust-idem-" + createHash("sha256").update(key).digest("hex").slice(0, 40);
const isInternalTag = (t: string) => t.startsWith("skyclust-idem-");

function addresses(server: NovaServer) {
  let privateIp: string | undefined;
  let publicIp: string | undefined;
  const all: string[] = [];
  for (const [network, list] of Object.entries(server.addresses ?? {})) {
    for (const a of list ?? []) {
      all.push(`${network}=${a.addr}`);
      const floating = a["OS-EXT-IPS:type"] === "floating";
      if (floating && !publicIp && a.version === 4) publicIp = a.addr;
      if (!floating && !privateIp && a.version === 4) privateIp = a.addr;
    }
  }
  if (!publicIp && server.accessIPv4) publicIp = server.accessIPv4;
  // An IPv6-only server still deserves an address in the common shape.
  if (!privateIp) for (const list of Object.values(server.addresses ?? {})) for (const a of list ?? []) privateIp ??= a.addr;
  return { privateIp, publicIp, all };
}

export function toInstance(server: NovaServer, region: string, flavorsById: Map<string, NovaFlavor>): Instance {
  const flavor = server.flavor ?? {};
  const known = flavor.id ? flavorsById.get(flavor.id) : undefined;
  const { privateIp, publicIp, all } = addresses(server);
  const tags: Record<string, string> = {};
  for (const t of server.tags ?? []) if (!isInternalTag(t)) tags[t] = "";
  for (const [k, v] of Object.entries(server.metadata ?? {})) if (k !== IDEMPOTENCY_METADATA) tags[k] = v;
  const extra: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== "") extra[k] = String(v);
  };
  put("flavor_id", flavor.id);
  put("vcpus", flavor.vcpus ?? known?.vcpus);
  put("memory_mb", flavor.ram ?? known?.ram);
  put("disk_gb", flavor.disk ?? known?.disk);
  put("task_state", server["OS-EXT-STS:task_state"]);
  put("vm_state", server["OS-EXT-STS:vm_state"]);
  put("power_state", server["OS-EXT-STS:power_state"]);
  put("host_id", server.hostId);
  put("addresses", all.join(","));
  put("ipv6", server.accessIPv6);
  put("nova_tags", (server.tags ?? []).filter((t) => !isInternalTag(t)).join(","));
  put("idempotency_key", server.metadata?.[IDEMPOTENCY_METADATA]);
  put("locked", server.locked);
  put("fault", server.fault?.message);
  const imageId = server.image && typeof server.image === "object" ? server.image.id : undefined;
  const created = server.created ? new Date(server.created) : undefined;
  return {
    id: server.id,
    name: server.name,
    status: serverStatus(server),
    rawStatus: server.status,
    type: flavor.original_name ?? known?.name ?? flavor.id ?? "",
    region,
    zone: server["OS-EXT-AZ:availability_zone"] || undefined,
    imageId: imageId || undefined,
    createdAt: created && !Number.isNaN(created.getTime()) ? created : undefined,
    tags,
    publicIp,
    privateIp,
    keyPairName: server.key_name ?? undefined,
    extra,
  };
}

/** Nova /servers/detail query parameters a caller may pass through as filters. */
export const NOVA_FILTERS = new Set([
  "access_ip_v4",
  "access_ip_v6",
  "auto_disk_config",
  "availability_zone",
  "changes-before",
  "changes-since",
  "config_drive",
  "created_at",
  "deleted",
  "description",
  "flavor",
  "host",
  "hostname",
  "image",
  "ip",
  "ip6",
  "kernel_id",
  "key_name",
  "launch_index",
  "launched_at",
  "locked",
  "locked_by",
  "node",
  "not-tags",
  "not-tags-any",
  "power_state",
  "progress",
  "project_id",
  "ramdisk_id",
  "reservation_id",
  "root_device_name",
  "sort_dir",
  "sort_key",
  "tags",
  "tags-any",
  "task_state",
  "terminated_at",
  "user_id",
  "uuid",
  "vm_state",
  "all_tenants",
]);

export interface PlannedFilters {
  /** Sent to Nova. */
  query: Record<string, string>;
  /** Checked on each returned server (filters Nova cannot apply). */
  matches: (instance: Instance) => boolean;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Portable keys: status (normalized word, or a Nova status word), name
 * (exact), name_regex (Nova's regex), type (flavor name or id), tag:KEY
 * (metadata or tag). Nova's own keys (flavor, image, tags, ip, ...) pass
 * through unchanged. Unknown keys are INVALID_ARGUMENT: Nova would silently
 * ignore them and answer with every server.
 */
export function planFilters(filters: Record<string, string>, flavors: NovaFlavor[] | undefined): PlannedFilters {
  const query: Record<string, string> = {};
  const checks: ((i: Instance) => boolean)[] = [];
  for (const [key, value] of Object.entries(filters)) {
    const field = `filters[${key}]`;
    if (key === "status") {
      const upper = value.toUpperCase();
      if (NOVA_STATUS[upper]) {
        query.status = upper;
        continue;
      }
      const novaWords = Object.entries(NOVA_STATUS).filter(([, s]) => s === value).map(([w]) => w);
      if (novaWords.length === 0 && !["stopping", "terminating"].includes(value)) {
        throw invalidArgument(field, `${quote(value)} is neither a status (pending, running, stopping, stopped, rebooting, suspended, terminating, terminated, error, unknown) nor a Nova status`);
      }
      // One Nova word can be asked server-side; the normalized status still
      // decides (task states refine it), client-side.
      if (novaWords.length === 1) query.status = novaWords[0]!;
      checks.push((i) => i.status === value);
    } else if (key === "name") {
      query.name = `^${escapeRegex(value)}$`;
      checks.push((i) => i.name === value);
    } else if (key === "name_regex") {
      query.name = value;
    } else if (key === "type") {
      const flavor = flavors?.find((f) => f.name === value) ?? flavors?.find((f) => f.id === value);
      if (!flavor) throw invalidArgument(field, `no flavor named ${quote(value)}`);
      query.flavor = flavor.id;
    } else if (key.startsWith("tag:")) {
      const tag = key.slice(4);
      if (!tag) throw invalidArgument(field, "tag:KEY needs a key");
      checks.push((i) => i.tags[tag] === value);
    } else if (NOVA_FILTERS.has(key)) {
      query[key] = value;
    } else {
      throw invalidArgument(field, `unknown filter; use status, name, name_regex, type, tag:KEY or a Nova server filter (${[...NOVA_FILTERS].slice(0, 12).join(", ")}, ...)`);
    }
  }
  return { query, matches: (i) => checks.every((c) => c(i)) };
}
