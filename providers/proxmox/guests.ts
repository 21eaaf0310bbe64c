// Translation between PVE guests (QEMU VMs and LXC containers) and the
// common Instance shape: status words, tags, the description block where
// SkyClust keeps what PVE has no field for, and guest-agent addresses.
import type { Instance } from "../../shared/provider";
import { statusFromTable, type InstanceStatus } from "../../shared/status";
import { formatInstanceId, type GuestKind } from "./ids";
import type { SizeCatalog } from "./sizes";

/** One entry of GET /cluster/resources?type=vm (field names as PVE sends them). */
export interface PveResource {
  id: string;
  type: GuestKind | string;
  vmid: number;
  node: string;
  name?: string;
  status: string;
  template?: number;
  maxcpu?: number;
  maxmem?: number;
  maxdisk?: number;
  uptime?: number;
  tags?: string;
  lock?: string;
  pool?: string;
}

/** GET /nodes/{node}/{kind}/{vmid}/status/current (the fields we read). */
export interface PveStatusCurrent {
  status: string;
  qmpstatus?: string;
  lock?: string;
  name?: string;
  template?: number;
}

export type PveConfig = Record<string, string | number | undefined>;

/** The qemu guest agent's network-get-interfaces result. */
export interface AgentInterface {
  name: string;
  "hardware-address"?: string;
  "ip-addresses"?: { "ip-address": string; "ip-address-type": string; prefix?: number }[];
}

const STATUS: Record<string, InstanceStatus> = {
  running: "running",
  stopped: "stopped",
  paused: "suspended",
  suspended: "suspended",
  prelaunch: "pending",
  "finish-migrate": "running",
  inmigrate: "pending",
  postmigrate: "running",
  shutdown: "stopping",
  "guest-panicked": "error",
  "io-error": "error",
  "internal-error": "error",
};

/** PVE's word for the guest: qmpstatus is finer than status while running. */
export function rawStatusOf(status: string, qmpstatus?: string): string {
  return status === "running" && qmpstatus && qmpstatus !== "running" ? qmpstatus : status;
}

export function normalizedStatus(raw: string, lock?: string): InstanceStatus {
  if (lock === "clone" || lock === "create") return "pending";
  return statusFromTable(STATUS, raw);
}

// PVE tags allow only these characters; a tag with a value, or a key PVE
// would refuse, goes into the description block instead.
const PVE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_+.-]*$/;
export const isPveTag = (key: string, value: string) => value === "" && PVE_TAG.test(key) && !key.startsWith("skyclust-");

export function splitPveTags(tags: string | undefined): string[] {
  return (tags ?? "").split(/[;, ]+/).filter(Boolean);
}

/** What SkyClust writes into a guest's description (one "skyclust.*" line each). */
export interface Marker {
  idempotencyKey?: string;
  image?: string;
  keyPair?: string;
  tags: Record<string, string>;
}

const LINE = /^skyclust\.(idempotency-key|image|key-pair|tag\.([^=]+))=(.*)$/;

export function parseDescription(description: string | undefined): Marker {
  const marker: Marker = { tags: {} };
  for (const line of (description ?? "").split(/\r?\n/)) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const value = safeDecode(m[3]!);
    if (m[1] === "idempotency-key") marker.idempotencyKey = value;
    else if (m[1] === "image") marker.image = value;
    else if (m[1] === "key-pair") marker.keyPair = value;
    else marker.tags[safeDecode(m[2]!)] = value;
  }
  return marker;
}

export function renderDescription(marker: Marker): string {
  const lines = ["Managed by SkyClust (lines starting with skyclust. are read back by the provider)."];
  if (marker.idempotencyKey) lines.push(`skyclust.idempotency-key=${encodeURIComponent(marker.idempotencyKey)}`);
  if (marker.image) lines.push(`skyclust.image=${encodeURIComponent(marker.image)}`);
  if (marker.keyPair) lines.push(`skyclust.key-pair=${encodeURIComponent(marker.keyPair)}`);
  for (const [k, v] of Object.entries(marker.tags)) lines.push(`skyclust.tag.${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return lines.join("\n");
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** MAC addresses of the guest's configured NICs ("virtio=BC:24:11:...,bridge=vmbr0"). */
export function configuredMacs(config: PveConfig | undefined): Set<string> {
  const macs = new Set<string>();
  for (const [k, v] of Object.entries(config ?? {})) {
    if (!/^net\d+$/.test(k) || typeof v !== "string") continue;
    const m = /(?:^|,)(?:[a-z0-9]+=)?((?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})/.exec(v);
    if (m) macs.add(m[1]!.toLowerCase());
  }
  return macs;
}

const isLoopback = (ip: string) => ip.startsWith("127.") || ip === "::1";
const isLinkLocal = (ip: string) => ip.startsWith("169.254.") || /^fe80:/i.test(ip);

/** Globally routable IPv4 (not private, CGNAT, link-local or documentation ranges). */
export function isPublicIpv4(ip: string): boolean {
  const o = ip.split(".").map(Number);
  if (o.length !== 4 || o.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return false;
  const [a, b, c] = o as [number, number, number, number];
  if (a === 10 || a === 127 || a === 0 || a >= 224) return false;
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 100 && b >= 64 && b <= 127) return false;
  if (a === 169 && b === 254) return false;
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return false;
  if (a === 198 && (b === 18 || b === 19)) return false;
  return true;
}

/** Picks addresses from the guest agent, preferring the NICs PVE configured. */
export function addressesFromAgent(ifaces: AgentInterface[], macs: Set<string>): { privateIp?: string; publicIp?: string } {
  const ordered = [...ifaces].filter((i) => i.name !== "lo").sort((x, y) => Number(macs.has((y["hardware-address"] ?? "").toLowerCase())) - Number(macs.has((x["hardware-address"] ?? "").toLowerCase())));
  const v4 = ordered.flatMap((i) => (i["ip-addresses"] ?? []).filter((a) => a["ip-address-type"] === "ipv4").map((a) => a["ip-address"])).filter((ip) => !isLoopback(ip) && !isLinkLocal(ip));
  return { privateIp: v4[0], publicIp: v4.find(isPublicIpv4) };
}

/** GET /nodes/{node}/lxc/{vmid}/interfaces (PVE 7.2+): addresses in CIDR form. */
export interface LxcInterface {
  name: string;
  hwaddr?: string;
  inet?: string;
  inet6?: string;
}

export function addressesFromLxc(ifaces: LxcInterface[]): { privateIp?: string; publicIp?: string } {
  return addressesFromAgent(
    ifaces.map((i) => ({
      name: i.name,
      "hardware-address": i.hwaddr,
      "ip-addresses": i.inet ? [{ "ip-address": i.inet.split("/")[0]!, "ip-address-type": "ipv4" }] : [],
    })),
    new Set(),
  );
}

export interface GuestDetails {
  config?: PveConfig;
  live?: PveStatusCurrent;
  addresses?: { privateIp?: string; publicIp?: string };
  /** The guest firewall's enabled group rules; undefined when they could not be read. */
  securityGroups?: string[];
}

export function toInstance(r: PveResource, sizes: SizeCatalog, details: GuestDetails = {}): Instance {
  const kind = r.type as GuestKind;
  const config = details.config;
  const marker = parseDescription(typeof config?.description === "string" ? config.description : undefined);
  const tags: Record<string, string> = {};
  for (const t of splitPveTags(typeof config?.tags === "string" ? config.tags : r.tags)) if (!t.startsWith("skyclust-")) tags[t] = "";
  Object.assign(tags, marker.tags);
  const lock = (details.live?.lock ?? (typeof config?.lock === "string" ? config.lock : undefined) ?? r.lock) || undefined;
  const raw = details.live ? rawStatusOf(details.live.status, details.live.qmpstatus) : r.status;
  const cores = Number(config?.cores ?? 0) * Number(config?.sockets ?? 1) || r.maxcpu || 0;
  const memoryMiB = Number(config?.memory ?? 0) || Math.round((r.maxmem ?? 0) / 1024 / 1024);
  const ctime = /(?:^|,)ctime=(\d+)/.exec(String(config?.meta ?? ""));
  const extra: Record<string, string> = {
    vmid: String(r.vmid),
    kind,
    node: r.node,
    vcpus: String(cores),
    memory_mb: String(memoryMiB),
  };
  if (r.maxdisk) extra.disk_gb = String(Math.round(r.maxdisk / 1024 ** 3));
  if (lock) extra.lock = lock;
  if (r.pool) extra.pool = r.pool;
  if (r.template) extra.template = "true";
  if (typeof config?.ciuser === "string") extra.ciuser = config.ciuser;
  if (typeof config?.ostype === "string") extra.ostype = config.ostype;
  if (details.securityGroups?.length) extra.security_groups = details.securityGroups.join(",");
  return {
    id: formatInstanceId(r.node, kind, r.vmid),
    name: r.name ?? String(typeof config?.hostname === "string" ? config.hostname : r.vmid),
    status: normalizedStatus(raw, lock),
    rawStatus: raw,
    type: sizes.nameFor(cores, memoryMiB * 1024 * 1024),
    region: r.node,
    zone: r.node,
    imageId: marker.image,
    createdAt: ctime ? new Date(Number(ctime[1]) * 1000) : undefined,
    tags,
    privateIp: details.addresses?.privateIp,
    publicIp: details.addresses?.publicIp,
    keyPairName: marker.keyPair,
    extra,
  };
}
