// Compute Engine naming rules, checked before calling the API so a bad
// request is INVALID_ARGUMENT naming the caller's field instead of a 400.
import { invalidArgument } from "../../shared/errors";
import { quote } from "../../shared/quote";

const INSTANCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Labels: keys start with a lower-case letter; keys and values hold lower-case
// letters (international ones too), digits, "_" and "-"; at most 63 chars.
const LABEL_KEY = /^\p{Ll}[\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const MAX_LABELS = 64;
const NETWORK_TAG = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
// The ssh-keys metadata entry "USER:KEY" makes GCE's guest agent create USER.
const LINUX_USER = /^[a-z_][a-z0-9_.-]{0,31}$/;
const RESOURCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function checkInstanceName(name: string): string {
  if (!INSTANCE_NAME.test(name)) {
    throw invalidArgument("name", "a GCE instance name is 1-63 characters of a-z, 0-9 and -, starting with a letter and not ending with -");
  }
  return name;
}

/**
 * Tags become GCE labels. Keys are lower-cased (GCE only has lower-case
 * keys); anything still breaking the label rules is INVALID_ARGUMENT naming
 * tags[KEY], never silently changed further.
 */
export function tagsToLabels(tags: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {};
  const entries = Object.entries(tags);
  if (entries.length > MAX_LABELS) throw invalidArgument("tags", `GCE allows at most ${MAX_LABELS} labels`);
  for (const [key, value] of entries) {
    const k = key.toLowerCase();
    if (!LABEL_KEY.test(k)) {
      throw invalidArgument(`tags[${key}]`, "a GCE label key starts with a lower-case letter and holds at most 63 lower-case letters, digits, _ and -");
    }
    if (!LABEL_VALUE.test(value)) {
      throw invalidArgument(`tags[${key}]`, "a GCE label value holds at most 63 lower-case letters, digits, _ and - (no upper case, spaces or dots)");
    }
    if (k in labels) throw invalidArgument(`tags[${key}]`, `collides with another tag once lower-cased to ${quote(k)}`);
    labels[k] = value;
  }
  return labels;
}

export function labelKeyForFilter(key: string, field: string): string {
  const k = key.toLowerCase();
  if (!LABEL_KEY.test(k)) throw invalidArgument(field, "not a GCE label key");
  return k;
}

export function checkNetworkTags(groups: string[]): string[] {
  groups.forEach((g, i) => {
    if (!NETWORK_TAG.test(g)) throw invalidArgument(`security_groups[${i}]`, "on GCE a security group is a network tag: 1-63 characters of a-z, 0-9 and -, starting with a letter");
  });
  return groups;
}

export function checkSshUser(name: string, field = "key_pair_name"): string {
  if (!LINUX_USER.test(name)) {
    throw invalidArgument(field, "on GCE the key pair name is the Linux user the key logs in as: 1-32 characters of a-z, 0-9, _, . and -, starting with a letter or _");
  }
  return name;
}

export function checkResourceName(field: string, name: string): string {
  if (!RESOURCE_NAME.test(name)) throw invalidArgument(field, `${quote(name)} is not a GCE resource name`);
  return name;
}

const REGION_NAME = /^[a-z]+-[a-z]+\d+$/;
const ZONE_NAME = /^([a-z]+-[a-z]+\d+)-[a-z]$/;

export type Location = { kind: "region"; region: string } | { kind: "zone"; region: string; zone: string };
/** What one listing covers: a region, a zone, or every zone of the project (region "*"). */
export type ListScope = Location | { kind: "all" };

/**
 * A request's `region` names either a region ("us-central1": all of its
 * zones) or one zone ("us-central1-a": that zone only).
 */
export function parseLocation(value: string, field = "region"): Location {
  const zone = ZONE_NAME.exec(value);
  if (zone) return { kind: "zone", region: zone[1]!, zone: value };
  if (REGION_NAME.test(value)) return { kind: "region", region: value };
  throw invalidArgument(field, `${quote(value)} is neither a GCE region (us-central1) nor a zone (us-central1-a)`);
}

export function regionOfZone(zone: string): string {
  return zone.replace(/-[a-z]$/, "");
}
