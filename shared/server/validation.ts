// Checks of the request shape shared by every cloud. Each failure is
// INVALID_ARGUMENT naming the field. Cloud-specific rules (GCE label syntax,
// EC2 id formats) belong to the backends, which throw invalidArgument too.
import { invalidArgument } from "../errors";
import type { TagLimits } from "../provider";
import { quote } from "../quote";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const MAX_ID = 256;
const CONTROL = /[\u0000-\u001f\u007f]/;
const REGION = /^[A-Za-z0-9][A-Za-z0-9._\/-]{0,62}$/;
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
const KEY_PAIR_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,254}$/;

export function requireText(field: string, value: string | undefined, max = MAX_ID): string {
  const v = (value ?? "").trim();
  if (v === "") throw invalidArgument(field, "is required");
  if (v.length > max) throw invalidArgument(field, `is longer than ${max} characters`);
  if (CONTROL.test(v)) throw invalidArgument(field, "contains control characters");
  return v;
}

export function optionalText(field: string, value: string | undefined, max = MAX_ID): string | undefined {
  const v = (value ?? "").trim();
  if (v === "") return undefined;
  return requireText(field, v, max);
}

/** "" stays "" (default region); "*" only where allowAll. */
export function checkRegion(field: string, value: string | undefined, allowAll: boolean): string {
  const v = (value ?? "").trim();
  if (v === "") return "";
  if (v === "*") {
    if (allowAll) return v;
    throw invalidArgument(field, `"*" (every region) is only accepted by ListInstances`);
  }
  if (!REGION.test(v)) throw invalidArgument(field, `${quote(v)} is not a region name`);
  return v;
}

export function checkPageSize(value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isInteger(v) || v < 0) throw invalidArgument("page_size", "must be 0 (default) or a positive number");
  if (v > MAX_PAGE_SIZE) throw invalidArgument("page_size", `must be at most ${MAX_PAGE_SIZE}`);
  return v === 0 ? DEFAULT_PAGE_SIZE : v;
}

/** Filters a listing may carry: more than any query needs. */
export const MAX_FILTERS = 32;

export function checkStringMap(
  field: string,
  map: Record<string, string> | undefined,
  maxKey = 128,
  maxValue = 256,
  maxEntries = MAX_FILTERS,
): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = Object.entries(map ?? {});
  if (entries.length > maxEntries) throw invalidArgument(field, `holds ${entries.length} entries, more than ${maxEntries}`);
  for (const [k, v] of entries) {
    // The field names the key; a long key is shown as a prefix only.
    const at = `${field}[${k.length > 64 || CONTROL.test(k) ? quote(k, 32) : k}]`;
    if (k.trim() === "") throw invalidArgument(field, "keys must not be empty");
    if (k.length > maxKey) throw invalidArgument(at, `key is ${k.length} characters, longer than ${maxKey}`);
    if (v.length > maxValue) throw invalidArgument(at, `value is ${v.length} characters, longer than ${maxValue}`);
    if (CONTROL.test(k) || CONTROL.test(v)) throw invalidArgument(at, "contains control characters");
    out[k] = v;
  }
  return out;
}

/** Tags of a create, within the cloud's own limits (TagLimits). */
export function checkTags(field: string, map: Record<string, string> | undefined, limits: TagLimits, cloud: string): Record<string, string> {
  const count = Object.keys(map ?? {}).length;
  if (count > limits.maxTags) throw invalidArgument(field, `${cloud} allows at most ${limits.maxTags} tags per resource (got ${count})`);
  return checkStringMap(field, map, limits.maxKeyLength, limits.maxValueLength, limits.maxTags);
}

export function checkIdempotencyKey(value: string | undefined): string | undefined {
  const v = (value ?? "").trim();
  if (v === "") return undefined;
  if (!IDEMPOTENCY_KEY.test(v)) throw invalidArgument("idempotency_key", "must be 1-64 characters of A-Z a-z 0-9 _ . : -");
  return v;
}

export function checkKeyPairName(field: string, value: string | undefined): string {
  const v = requireText(field, value, 255);
  if (!KEY_PAIR_NAME.test(v)) {
    throw invalidArgument(field, "must start with a letter or digit and hold only letters, digits and . _ @ + = -");
  }
  return v;
}

export function checkVolumeSize(value: number | undefined): number | undefined {
  const v = value ?? 0;
  if (v === 0) return undefined;
  if (!Number.isInteger(v) || v < 1 || v > 65536) throw invalidArgument("root_volume_size", "must be between 1 and 65536 GiB");
  return v;
}

export function checkUserData(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (Buffer.byteLength(value) > 64 * 1024) throw invalidArgument("user_data", "is larger than 64 KiB");
  return value;
}
