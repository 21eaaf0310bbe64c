// The one status vocabulary every provider reports (documented in the proto).
// Backends map their cloud's own word with a table and keep that word in
// rawStatus; anything a table does not know becomes "unknown", never a guess.

export const INSTANCE_STATUSES = [
  "pending",
  "running",
  "stopping",
  "stopped",
  "rebooting",
  "suspended",
  "terminating",
  "terminated",
  "error",
  "unknown",
] as const;

export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export function isInstanceStatus(value: string): value is InstanceStatus {
  return (INSTANCE_STATUSES as readonly string[]).includes(value);
}

/** Normalizes a cloud's raw state with a case-insensitive table. */
export function statusFromTable(table: Record<string, InstanceStatus>, raw: string | undefined): InstanceStatus {
  if (!raw) return "unknown";
  return table[raw] ?? table[raw.toLowerCase()] ?? table[raw.toUpperCase()] ?? "unknown";
}
