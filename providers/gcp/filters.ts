// ListInstances filters -> one Compute Engine filter expression.
//
// Portable keys use GCE's regular-expression filter syntax, because it is
// the only one that can say "any of these statuses" and "any zone of this
// region" in one request: `(field eq "RE2")` terms, all of which must match
// (full match). The key `filter` passes the caller's own GCE filter text
// through unchanged; GCE forbids mixing its two syntaxes in one request, so
// `filter` stands alone, and the region is then restricted on our side.
import { invalidArgument } from "../../shared/errors";
import { isInstanceStatus } from "../../shared/status";
import { rawStatusesFor, STATUS_TABLE } from "./instances";
import { labelKeyForFilter, type ListScope } from "./rules";
import { quote } from "../../shared/quote";

export const RAW_FILTER_KEY = "filter";
const FIELD_PATH = /^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z0-9_-]+)*$/;

export interface GceFilter {
  /** The expression to send, if any. */
  expression?: string;
  /** True when no instance can match (e.g. status "terminated" on GCE). */
  matchesNothing: boolean;
}

/** Escapes RE2 metacharacters so a value matches literally. */
export function reLiteral(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

function quoted(field: string, value: string): string {
  if (value.includes('"')) throw invalidArgument(field, "must not contain double quotes");
  return `"${value}"`;
}

function statusPattern(value: string): string[] {
  const v = value.trim();
  if (STATUS_TABLE[v.toUpperCase()] && v === v.toUpperCase()) return [v]; // a GCE word, e.g. TERMINATED
  if (!isInstanceStatus(v)) {
    throw invalidArgument("filters[status]", `${quote(v)} is not a status (pending, running, stopping, stopped, suspended, error, ... or a GCE word such as TERMINATED)`);
  }
  return rawStatusesFor(v);
}

export function buildFilter(filters: Record<string, string>, location: ListScope): GceFilter {
  const keys = Object.keys(filters);
  if (RAW_FILTER_KEY in filters) {
    if (keys.length > 1) {
      throw invalidArgument(`filters[${RAW_FILTER_KEY}]`, "raw GCE filter text cannot be combined with other filters (GCE does not mix its filter syntaxes); write the whole expression in it");
    }
    const text = filters[RAW_FILTER_KEY]!.trim();
    return { expression: text || undefined, matchesNothing: false };
  }
  const terms: string[] = [];
  if (location.kind === "region") terms.push(`(zone eq ".*/zones/${reLiteral(location.region)}-[a-z]+")`);
  for (const key of keys.sort()) {
    const value = filters[key]!;
    const field = `filters[${key}]`;
    if (key === "status") {
      const raws = statusPattern(value);
      if (raws.length === 0) return { matchesNothing: true };
      terms.push(`(status eq ${quoted(field, raws.join("|"))})`);
    } else if (key === "name") {
      terms.push(`(name eq ${quoted(field, reLiteral(value))})`);
    } else if (key === "type") {
      terms.push(`(machineType eq ${quoted(field, `.*/machineTypes/${reLiteral(value)}`)})`);
    } else if (key.startsWith("tag:")) {
      terms.push(`(labels.${labelKeyForFilter(key.slice(4), field)} eq ${quoted(field, reLiteral(value))})`);
    } else if (FIELD_PATH.test(key)) {
      // Any other instance field, compared for equality (cpuPlatform, scheduling.preemptible, ...).
      terms.push(`(${key} eq ${quoted(field, reLiteral(value))})`);
    } else {
      throw invalidArgument(field, "unknown filter: use status, name, type, tag:KEY, a GCE instance field name, or filter (raw GCE filter text)");
    }
  }
  return { expression: terms.length ? terms.join(" ") : undefined, matchesNothing: false };
}
