// Which replica this process is, for names of things only it holds: a
// listener tunnel lives in one process, so its id names that process, and
// a Close that reaches another replica (round_robin) can say who owns it
// instead of NOT_FOUND. From --replica-id / SKYCLUST_REPLICA_ID, else the
// pod name (POD_NAME, set from the downward API) or the hostname, which is
// the pod name on Kubernetes.
import { hostname } from "node:os";

const MAX = 40;

/** Lower-case letters, digits and '-', at most 40 characters; "replica" when nothing is left. */
export function sanitizeReplicaId(raw: string): string {
  const clean = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, MAX).replace(/-+$/, "");
  return clean || "replica";
}

export function replicaIdFrom(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  return sanitizeReplicaId(flag || env.POD_NAME || env.HOSTNAME || hostname());
}

/** `tun-<replica>-<16 hex>` -> the replica, or undefined for ids this scheme did not make. */
export function tunnelOwner(tunnelId: string): string | undefined {
  return /^tun-([a-z0-9-]{1,40})-[0-9a-f]{16}$/.exec(tunnelId)?.[1];
}
