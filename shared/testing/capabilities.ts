// Checks a GetProviderInfo capability map against the fixed vocabulary
// (shared/capabilities.ts), for every provider's tests alike.
import { CAPABILITY_EXTRAS, CAPABILITY_FLAGS, SERVER_CAPABILITY_KEYS } from "../capabilities";

const PRICE_SOURCES = new Set(["catalog", "rate-card", "demo-rate-card", "none"]);

/** Everything wrong with `wire` as a vocabulary capability map; [] when it is right. */
export function capabilityProblems(wire: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const key of CAPABILITY_FLAGS) {
    if (!(key in wire)) problems.push(`missing flag ${key}`);
    else if (wire[key] !== "true" && wire[key] !== "false") problems.push(`flag ${key} is ${JSON.stringify(wire[key])}, not "true" or "false"`);
  }
  for (const key of [...CAPABILITY_EXTRAS, ...SERVER_CAPABILITY_KEYS]) {
    if (!wire[key]) problems.push(`missing extra ${key}`);
  }
  if (wire.price_source && !PRICE_SOURCES.has(wire.price_source)) problems.push(`price_source ${JSON.stringify(wire.price_source)} is not one of ${[...PRICE_SOURCES].join(", ")}`);
  return problems;
}

/** The vocabulary's flags as booleans (for per-provider expectations). */
export function capabilityFlags(wire: Record<string, string>): Record<string, boolean> {
  return Object.fromEntries(CAPABILITY_FLAGS.map((k) => [k, wire[k] === "true"]));
}
