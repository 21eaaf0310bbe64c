// GetCostEstimate durations: a decimal count and a unit. Months are 730
// hours (365 days x 24 h / 12), as AWS bills; the reference implementation
// read "m" as a month, so "m" keeps that meaning and minutes are spelled
// "min". Anything else is INVALID_ARGUMENT naming the field.
import { invalidArgument } from "../errors";

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

const PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*(min|mo|h|d|w|m|y)$/;

export function parseDuration(raw: string, field = "duration"): Duration {
  const text = raw.trim() === "" ? "1h" : raw.trim();
  const match = PATTERN.exec(text);
  if (!match) {
    throw invalidArgument(
      field,
      `"${raw}" is not a duration; use a number and a unit: min (minutes), h, d, w, m or mo (730-hour months), y (8760 hours), e.g. "1.5h" or "1m"`,
    );
  }
  const count = Number(match[1]);
  if (!(count > 0)) throw invalidArgument(field, `"${raw}" must be greater than zero`);
  const hours = count * HOURS_PER_UNIT[match[2]!]!;
  if (hours > 876_000) throw invalidArgument(field, `"${raw}" is longer than 100 years`);
  return { hours, text };
}
