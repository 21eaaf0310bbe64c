// Domain objects -> wire messages (proto-loader plain objects, field names
// as in the proto). Absent optional values become the proto3 defaults.
import type { Instance, KeyPair, Region } from "../provider";

export interface WireTimestamp {
  seconds: number;
  nanos: number;
}

export function toTimestamp(date: Date | undefined): WireTimestamp | null {
  if (!date || Number.isNaN(date.getTime())) return null;
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function instanceToWire(i: Instance, provider: string) {
  return {
    id: i.id,
    name: i.name,
    status: i.status,
    type: i.type,
    region: i.region,
    created_at: toTimestamp(i.createdAt),
    tags: i.tags,
    public_ip: i.publicIp ?? "",
    private_ip: i.privateIp ?? "",
    provider,
    zone: i.zone ?? "",
    image_id: i.imageId ?? "",
    raw_status: i.rawStatus,
    key_pair_name: i.keyPairName ?? "",
    extra: i.extra ?? {},
  };
}

export function regionToWire(r: Region) {
  return {
    id: r.id,
    name: r.name,
    display_name: r.displayName,
    status: r.status,
    zones: r.zones ?? [],
    zone_details: (r.zoneDetails ?? []).map((z) => ({
      name: z.name,
      id: z.id ?? "",
      status: z.status,
      zone_type: z.zoneType ?? "",
      opt_in_required: Boolean(z.optInRequired),
      opt_in_status: z.optInStatus ?? "",
      parent_zone: z.parentZone ?? "",
      group_name: z.groupName ?? "",
    })),
  };
}

export function keyPairToWire(k: KeyPair) {
  return {
    key_pair_id: k.id,
    key_pair_name: k.name,
    fingerprint: k.fingerprint,
    region: k.region,
    tags: k.tags,
    created_at: toTimestamp(k.createdAt),
    key_type: k.keyType ?? "",
    public_key: k.publicKey ?? "",
  };
}
