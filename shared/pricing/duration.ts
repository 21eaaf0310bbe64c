// GetCostEstimate durations: a decimal count and a unit, e.g. "1.5h", "30min",
// "1m". Months are 730 hours (365 days x 24 h / 12), as AWS bills; the
// reference implementation read "m" as a month, so "m" keeps that meaning and
// minutes are always spelled "min" (or "minute(s)"), never "m". Anything else
// is INVALID_ARGUMENT naming the field.
//
// Proration is exact up to the one unavoidable rounding of a double: the
// count is read as an exact decimal (digits / 10^k), multiplied by the unit's
// whole number of minutes with integer arithmetic, and divided once, so
// "1.1h" is the double nearest 1.1 (not 1.1 x 1 with drift) and "45min" is
// the double nearest 0.75. Costs are rounded only in the response.
import { invalidArgument } from "../errors";
import { quote } from "../quote";

/** Whole minutes per unit; every spelling maps to one of these. */
const MINUTES_PER_UNIT: Record<string, number> = {
  min: 1,
  h: 60,
  d: 24 * 60,
  w: 7 * 24 * 60,
  m: 730 * 60,
  y: 8760 * 60,
};

/** Accepted spellings (lower case only: "M" could mean minutes or months). */
const UNIT_SPELLINGS: Record<string, keyof typeof MINUTES_PER_UNIT> = {
  min: "min",
  mins: "min",
  minute: "min",
  minutes: "min",
  h: "h",
  hr: "h",
  hrs: "h",
  hour: "h",
  hours: "h",
  d: "d",
  day: "d",
  days: "d",
  w: "w",
  wk: "w",
  week: "w",
  weeks: "w",
  m: "m",
  mo: "m",
  month: "m",
  months: "m",
  y: "y",
  yr: "y",
  year: "y",
  years: "y",
};

/** Hours in one of each canonical unit (min, h, d, w, m, mo, y). */
export const HOURS_PER_UNIT: Record<string, number> = {
  min: 1 / 60,
  h: 1,
  d: 24,
  w: 24 * 7,
  m: 730,
  mo: 730,
  y: 8760,
};

export interface Duration {
  hours: number;
  /** The duration as the caller wrote it, trimmed ("" became "1h"). */
  text: string;
}

const PATTERN = /^(\d+)?(?:\.(\d+))?\s*([a-z]+)$/;
const MAX_HOURS = 876_000; // 100 years: beyond that an estimate means nothing.

export function parseDuration(raw: string, field = "duration"): Duration {
  const text = raw.trim() === "" ? "1h" : raw.trim();
  const match = PATTERN.exec(text);
  const unit = match ? UNIT_SPELLINGS[match[3]!] : undefined;
  if (!match || (match[1] === undefined && match[2] === undefined) || unit === undefined) {
    throw invalidArgument(
      field,
      `${quote(raw)} is not a duration; use a decimal number and a unit: min (minutes), h (hours), d (days), w (weeks), ` +
        `m or mo (730-hour months), y (8760-hour years), e.g. "30min", "1.5h", "1m"`,
    );
  }
  const whole = match[1] ?? "0";
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (whole.length + fraction.length > 15) throw invalidArgument(field, `${quote(raw)} has more digits than a price estimate can use`);
  // count = digits / 10^fraction.length, exactly (at most 15 digits fit a double).
  const digits = Number(whole + fraction);
  if (!(digits > 0)) throw invalidArgument(field, `${quote(raw)} must be greater than zero`);
  const minutes = MINUTES_PER_UNIT[unit]!;
  const hours = (digits * minutes) / (10 ** fraction.length * 60);
  if (hours > MAX_HOURS) throw invalidArgument(field, `${quote(raw)} is longer than 100 years`);
  return { hours, text };
}
