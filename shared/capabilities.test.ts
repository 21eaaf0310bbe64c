// The capability vocabulary's wire form, and the check every provider's
// tests apply to GetProviderInfo.
import { describe, expect, test } from "bun:test";
import { CAPABILITY_EXTRAS, CAPABILITY_FLAGS, capabilitiesToWire, isVocabularyKey, type Capabilities, type CapabilityFlag } from "./capabilities";
import { capabilityProblems } from "./testing/capabilities";

const allFlags = (value: boolean) => Object.fromEntries(CAPABILITY_FLAGS.map((k) => [k, value])) as Record<CapabilityFlag, boolean>;
const sample: Capabilities = {
  flags: { ...allFlags(true), stop_force: false },
  extras: { idempotency_mechanism: "tag", key_pair_storage: "cloud", price_source: "catalog" },
  details: { project: "p1", stop_force: "true (a detail may not override a flag)", mode: "not a detail" },
};
const withServerKeys = (wire: Record<string, string>): Record<string, string> => ({ ...wire, mode: "sandbox", default_region: "r1", reflection: "true", tls: "plaintext" });

describe("capability vocabulary", () => {
  test("flags travel as \"true\"/\"false\", extras as given, and details never override a vocabulary key", () => {
    const wire = capabilitiesToWire(sample);
    expect(wire.create_instance).toBe("true");
    expect(wire.stop_force).toBe("false");
    expect(wire.price_source).toBe("catalog");
    expect(wire.project).toBe("p1");
    expect(wire.mode).toBeUndefined();
    expect(Object.keys(wire).sort()).toEqual([...CAPABILITY_FLAGS, ...CAPABILITY_EXTRAS, "project"].sort());
  });

  test("keys are snake_case and unique, and the shared server's keys are reserved too", () => {
    const keys = [...CAPABILITY_FLAGS, ...CAPABILITY_EXTRAS];
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) expect(k).toMatch(/^[a-z][a-z0-9_]*$/);
    for (const k of ["mode", "default_region", "reflection", "tls", "ssh_exec", "price_source"]) expect(isVocabularyKey(k)).toBe(true);
    expect(isVocabularyKey("project")).toBe(false);
  });

  test("the check accepts a full map and names every missing or non-boolean key (so it cannot pass vacuously)", () => {
    const good = withServerKeys(capabilitiesToWire(sample));
    expect(capabilityProblems(good)).toEqual([]);
    const { ssh_exec: _gone, ...missing } = good;
    expect(capabilityProblems(missing)).toEqual(["missing flag ssh_exec"]);
    expect(capabilityProblems({ ...good, restart: "yes", price_source: "operator rate card", tls: "" })).toEqual([
      'flag restart is "yes", not "true" or "false"',
      "missing extra tls",
      'price_source "operator rate card" is not one of catalog, rate-card, demo-rate-card, none',
    ]);
  });
});
