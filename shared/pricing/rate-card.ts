// Operator rate cards for clouds without a public price list (OpenStack,
// Proxmox): per vCPU-hour, per GiB-of-RAM-hour, optionally per GiB-month of
// root disk, with per-flavor (or per-size) overrides. Loaded once at start
// from a YAML/JSON file and/or environment; a provider without one answers
// GetCostEstimate with FAILED_PRECONDITION instead of inventing a number.
import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { ConfigError, num, str, type FlagSpec, type Settings } from "../config";
import { failedPrecondition } from "../errors";
import type { CostComponent, PriceQuote } from "../provider";
import { HOURS_PER_UNIT } from "./duration";

export interface FlavorRate {
  /** Whole-instance price per hour; replaces the per-unit computation for compute. */
  hourly?: number;
  vcpuHour?: number;
  gibHour?: number;
  diskGibMonth?: number;
}

export interface RateCard {
  /** Where the rates come from, shown as price_source. */
  source: string;
  /** Date of the rates, YYYY-MM-DD, shown as price_date. */
  date: string;
  currency: string;
  vcpuHour?: number;
  gibHour?: number;
  /** Root disk, per GiB-month (730 hours). */
  diskGibMonth?: number;
  /** Per flavor (OpenStack) or size (Proxmox) name. */
  flavors: Record<string, FlavorRate>;
}

export interface PricedShape {
  name: string;
  vcpus: number;
  memoryGiB: number;
  diskGiB?: number;
}

export const RATE_CARD_FLAGS: FlagSpec[] = [
  {
    name: "rate-card",
    kind: "string",
    env: "SKYCLUST_RATE_CARD",
    help: "operator rate card file (YAML or JSON) for GetCostEstimate; see shared/pricing/README.md",
  },
  { name: "rate-vcpu-hour", kind: "number", env: "SKYCLUST_RATE_VCPU_HOUR", help: "price per vCPU-hour (overrides the rate card file)" },
  { name: "rate-gib-hour", kind: "number", env: "SKYCLUST_RATE_GIB_HOUR", help: "price per GiB of RAM per hour (overrides the rate card file)" },
  {
    name: "rate-disk-gib-month",
    kind: "number",
    env: "SKYCLUST_RATE_DISK_GIB_MONTH",
    help: "price per GiB of root disk per 730-hour month (overrides the rate card file)",
  },
  { name: "rate-currency", kind: "string", env: "SKYCLUST_RATE_CURRENCY", help: "ISO 4217 currency of the rates (default USD)" },
  { name: "rate-date", kind: "string", env: "SKYCLUST_RATE_DATE", help: "date the rates took effect, YYYY-MM-DD (default: the file's date, or today)" },
];

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const CURRENCY = /^[A-Z]{3}$/;

/**
 * The operator's rate card from --rate-card / SKYCLUST_RATE_CARD and the
 * per-unit flags/variables (which override the file's values), or undefined
 * when none is configured. Throws ConfigError for a malformed card so the
 * provider refuses to start rather than quote wrong numbers.
 */
export function loadRateCard(settings: Settings): RateCard | undefined {
  const path = str(settings, "rate-card");
  const fromFile = path ? readRateCardFile(path) : undefined;
  const vcpuHour = num(settings, "rate-vcpu-hour");
  const gibHour = num(settings, "rate-gib-hour");
  const diskGibMonth = num(settings, "rate-disk-gib-month");
  const currency = str(settings, "rate-currency");
  const date = str(settings, "rate-date");
  const anyUnitSetting = vcpuHour !== undefined || gibHour !== undefined || diskGibMonth !== undefined;
  if (!fromFile && !anyUnitSetting) {
    if (currency || date) throw new ConfigError("SKYCLUST_RATE_CURRENCY/SKYCLUST_RATE_DATE need rates: set SKYCLUST_RATE_VCPU_HOUR and SKYCLUST_RATE_GIB_HOUR or --rate-card FILE");
    return undefined;
  }
  const card: RateCard = fromFile ?? { source: "operator rate card (environment)", date: todayUtc(), currency: "USD", flavors: {} };
  if (vcpuHour !== undefined) card.vcpuHour = rate(vcpuHour, "--rate-vcpu-hour / SKYCLUST_RATE_VCPU_HOUR");
  if (gibHour !== undefined) card.gibHour = rate(gibHour, "--rate-gib-hour / SKYCLUST_RATE_GIB_HOUR");
  if (diskGibMonth !== undefined) card.diskGibMonth = rate(diskGibMonth, "--rate-disk-gib-month / SKYCLUST_RATE_DISK_GIB_MONTH");
  if (currency !== undefined) card.currency = checkCurrency(currency, "--rate-currency / SKYCLUST_RATE_CURRENCY");
  if (date !== undefined) card.date = checkDate(date, "--rate-date / SKYCLUST_RATE_DATE");
  if ((card.vcpuHour === undefined) !== (card.gibHour === undefined)) {
    throw new ConfigError(
      "rate card: set both the per-vCPU-hour and the per-GiB-hour rate (a card with only one would price the other at zero)",
    );
  }
  if (card.vcpuHour === undefined && Object.keys(card.flavors).length === 0) {
    throw new ConfigError("rate card: no rates; set vcpu_hour and gib_hour, or per-flavor prices under flavors");
  }
  return card;
}

export function readRateCardFile(path: string): RateCard {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`rate card ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : Bun.YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`rate card ${path}: not valid ${/\.json$/i.test(path) ? "JSON" : "YAML"}: ${(err as Error).message}`);
  }
  return parseRateCard(raw, path, () => {
    try {
      return statSync(path).mtime.toISOString().slice(0, 10);
    } catch {
      return todayUtc();
    }
  });
}

/** Validates a parsed rate card document; `where` prefixes every error. */
export function parseRateCard(raw: unknown, where: string, defaultDate: () => string = todayUtc): RateCard {
  if (!isRecord(raw)) throw new ConfigError(`rate card ${where}: expected a mapping with vcpu_hour, gib_hour, flavors, ...`);
  const known = new Set(["source", "date", "currency", "vcpu_hour", "gib_hour", "disk_gib_month", "flavors"]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new ConfigError(`rate card ${where}: unknown key "${key}" (known: ${[...known].join(", ")})`);
  }
  const card: RateCard = {
    source: raw.source === undefined ? `operator rate card (${basename(where)})` : `operator rate card: ${text(raw.source, `${where}: source`)}`,
    date: raw.date === undefined ? defaultDate() : checkDate(dateText(raw.date), `rate card ${where}: date`),
    currency: raw.currency === undefined ? "USD" : checkCurrency(text(raw.currency, `${where}: currency`), `rate card ${where}: currency`),
    flavors: {},
  };
  const unit = (value: unknown, field: string) => (value === undefined ? undefined : rate(value, `rate card ${where}: ${field}`));
  card.vcpuHour = unit(raw.vcpu_hour, "vcpu_hour");
  card.gibHour = unit(raw.gib_hour, "gib_hour");
  card.diskGibMonth = unit(raw.disk_gib_month, "disk_gib_month");
  if (raw.flavors !== undefined) {
    if (!isRecord(raw.flavors)) throw new ConfigError(`rate card ${where}: flavors must map flavor names to rates`);
    for (const [name, entry] of Object.entries(raw.flavors)) {
      if (!isRecord(entry)) throw new ConfigError(`rate card ${where}: flavors.${name} must be a mapping (hourly, vcpu_hour, gib_hour, disk_gib_month)`);
      const flavorKeys = new Set(["hourly", "vcpu_hour", "gib_hour", "disk_gib_month"]);
      for (const key of Object.keys(entry)) {
        if (!flavorKeys.has(key)) throw new ConfigError(`rate card ${where}: flavors.${name}: unknown key "${key}" (known: ${[...flavorKeys].join(", ")})`);
      }
      const flavor: FlavorRate = {
        hourly: unit(entry.hourly, `flavors.${name}.hourly`),
        vcpuHour: unit(entry.vcpu_hour, `flavors.${name}.vcpu_hour`),
        gibHour: unit(entry.gib_hour, `flavors.${name}.gib_hour`),
        diskGibMonth: unit(entry.disk_gib_month, `flavors.${name}.disk_gib_month`),
      };
      if (Object.values(flavor).every((v) => v === undefined)) throw new ConfigError(`rate card ${where}: flavors.${name} sets no rate`);
      card.flavors[name] = flavor;
    }
  }
  return card;
}

/**
 * Hourly price of a flavor/size under an operator rate card. FAILED_PRECONDITION
 * when no card is configured or the card cannot price this shape.
 */
export function rateCardQuote(card: RateCard | undefined, shape: PricedShape): PriceQuote {
  if (!card) {
    throw failedPrecondition(
      "no rate card configured: this cloud has no public price list, so GetCostEstimate needs the operator's rates; " +
        "set --rate-card FILE (SKYCLUST_RATE_CARD) or SKYCLUST_RATE_VCPU_HOUR and SKYCLUST_RATE_GIB_HOUR",
    );
  }
  const flavor = card.flavors[shape.name] ?? {};
  const breakdown: CostComponent[] = [];
  if (flavor.hourly !== undefined) {
    breakdown.push({ name: "compute", hourlyRate: flavor.hourly, detail: `${shape.name}: flat rate card price per hour` });
  } else {
    const vcpuRate = flavor.vcpuHour ?? card.vcpuHour;
    const gibRate = flavor.gibHour ?? card.gibHour;
    if (vcpuRate === undefined || gibRate === undefined) {
      throw failedPrecondition(
        `the rate card (${card.source}) has no price for ${shape.name}: add flavors.${shape.name} or the vcpu_hour and gib_hour rates`,
      );
    }
    breakdown.push({ name: "vcpu", hourlyRate: shape.vcpus * vcpuRate, detail: `${shape.vcpus} vCPU x ${vcpuRate}/vCPU-hour` });
    breakdown.push({ name: "memory", hourlyRate: shape.memoryGiB * gibRate, detail: `${shape.memoryGiB} GiB x ${gibRate}/GiB-hour` });
  }
  const diskRate = flavor.diskGibMonth ?? card.diskGibMonth;
  if (diskRate !== undefined && shape.diskGiB !== undefined && shape.diskGiB > 0) {
    breakdown.push({
      name: "root_disk",
      hourlyRate: (shape.diskGiB * diskRate) / HOURS_PER_UNIT.m!,
      detail: `${shape.diskGiB} GiB x ${diskRate}/GiB-month (730 h)`,
    });
  }
  return {
    hourlyRate: breakdown.reduce((sum, c) => sum + c.hourlyRate, 0),
    currency: card.currency,
    source: card.source,
    date: card.date,
    breakdown,
  };
}

/**
 * Demo rate cards for the sandboxes only: made-up round numbers, labelled as
 * such in every quote so nobody mistakes them for a real price list.
 */
export const DEMO_RATE_CARDS: Record<"openstack" | "proxmox", RateCard> = {
  openstack: {
    source: "demo rate card (sandbox only, not a real price list)",
    date: "2025-01-01",
    currency: "USD",
    vcpuHour: 0.02,
    gibHour: 0.005,
    diskGibMonth: 0.05,
    flavors: {},
  },
  proxmox: {
    source: "demo rate card (sandbox only, not a real price list)",
    date: "2025-01-01",
    currency: "USD",
    vcpuHour: 0.015,
    gibHour: 0.004,
    diskGibMonth: 0.04,
    flavors: {},
  },
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function rate(value: unknown, field: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) throw new ConfigError(`${field}: expected a price >= 0, got ${JSON.stringify(value)}`);
  return n;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new ConfigError(`rate card ${field}: expected text`);
  return value.trim();
}

function dateText(value: unknown): string {
  return value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
}

function checkDate(value: string, field: string): string {
  if (!DATE.test(value) || Number.isNaN(Date.parse(value))) throw new ConfigError(`${field}: expected YYYY-MM-DD, got "${value}"`);
  return value;
}

function checkCurrency(value: string, field: string): string {
  const upper = value.trim().toUpperCase();
  if (!CURRENCY.test(upper)) throw new ConfigError(`${field}: expected an ISO 4217 code such as USD or EUR, got "${value}"`);
  return upper;
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}
