// Operator rate cards: file formats, environment overrides, per-flavor
// prices, root disk, and the refusals (no card, malformed card).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseArgs } from "../config";
import { ProviderError } from "../errors";
import { DEMO_RATE_CARDS, loadRateCard, RATE_CARD_FLAGS, rateCardQuote } from ".";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "skyclust-rate-card-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Settings exactly as the provider would parse them from argv and env. */
const settingsFrom = (argv: string[], env: Record<string, string> = {}) => parseArgs(RATE_CARD_FLAGS, argv, env).settings;

const YAML_CARD = `
source: ACME private cloud price list v3
date: 2026-01-15
currency: eur
vcpu_hour: 0.021
gib_hour: 0.0029
disk_gib_month: 0.05
flavors:
  m1.xlarge:
    hourly: 0.25
  gpu.large:
    vcpu_hour: 0.05
`;

describe("loadRateCard", () => {
  test("no flag and no variable means no card", () => {
    expect(loadRateCard(settingsFrom([]))).toBeUndefined();
  });

  test("a YAML file with per-flavor prices", () => {
    const card = loadRateCard(settingsFrom(["--rate-card", file("card.yaml", YAML_CARD)]))!;
    expect(card).toEqual({
      source: "operator rate card: ACME private cloud price list v3",
      date: "2026-01-15",
      currency: "EUR",
      vcpuHour: 0.021,
      gibHour: 0.0029,
      diskGibMonth: 0.05,
      flavors: {
        "m1.xlarge": { hourly: 0.25, vcpuHour: undefined, gibHour: undefined, diskGibMonth: undefined },
        "gpu.large": { hourly: undefined, vcpuHour: 0.05, gibHour: undefined, diskGibMonth: undefined },
      },
    });
  });

  test("a JSON file via SKYCLUST_RATE_CARD; the date defaults to the file's date", () => {
    const path = file("card.json", JSON.stringify({ vcpu_hour: 0.01, gib_hour: 0.002 }));
    utimesSync(path, new Date("2025-03-04T12:00:00Z"), new Date("2025-03-04T12:00:00Z"));
    const card = loadRateCard(settingsFrom([], { SKYCLUST_RATE_CARD: path }))!;
    expect(card.source).toBe("operator rate card (card.json)");
    expect(card.date).toBe("2025-03-04");
    expect(card.currency).toBe("USD");
  });

  test("environment variables alone make a card, and override a file", () => {
    const env = { SKYCLUST_RATE_VCPU_HOUR: "0.03", SKYCLUST_RATE_GIB_HOUR: "0.004", SKYCLUST_RATE_CURRENCY: "CHF", SKYCLUST_RATE_DATE: "2026-02-01" };
    const card = loadRateCard(settingsFrom([], env))!;
    expect(card).toMatchObject({ source: "operator rate card (environment)", vcpuHour: 0.03, gibHour: 0.004, currency: "CHF", date: "2026-02-01" });
    const both = loadRateCard(settingsFrom(["--rate-card", file("c2.yaml", YAML_CARD), "--rate-gib-hour", "0.1"], env))!;
    expect(both.vcpuHour).toBe(0.03); // env beats the file
    expect(both.gibHour).toBe(0.1); // the flag beats env
    expect(both.flavors["m1.xlarge"]!.hourly).toBe(0.25); // the file's flavors stay
  });

  test.each([
    ["only one per-unit rate", [], { SKYCLUST_RATE_VCPU_HOUR: "0.02" }, "both the per-vCPU-hour and the per-GiB-hour rate"],
    ["a negative rate", ["--rate-card", "neg.yaml"], {}, "vcpu_hour: expected a price >= 0"],
    ["a typo in a key", ["--rate-card", "typo.yaml"], {}, 'unknown key "vcpu_hours"'],
    ["a bad currency", [], { SKYCLUST_RATE_VCPU_HOUR: "1", SKYCLUST_RATE_GIB_HOUR: "1", SKYCLUST_RATE_CURRENCY: "dollars" }, "ISO 4217"],
    ["a bad date", [], { SKYCLUST_RATE_VCPU_HOUR: "1", SKYCLUST_RATE_GIB_HOUR: "1", SKYCLUST_RATE_DATE: "15/01/2026" }, "YYYY-MM-DD"],
    ["a missing file", ["--rate-card", "missing.yaml"], {}, "cannot read it (ENOENT)"],
    ["invalid YAML", ["--rate-card", "broken.yaml"], {}, "not valid YAML"],
    ["an empty flavor", ["--rate-card", "emptyflavor.yaml"], {}, "flavors.m1.tiny sets no rate"],
    ["currency without rates", [], { SKYCLUST_RATE_CURRENCY: "EUR" }, "need rates"],
  ] as const)("refuses %s with a ConfigError", (_label, argv, env, message) => {
    file("neg.yaml", "vcpu_hour: -1\ngib_hour: 0.1\n");
    file("typo.yaml", "vcpu_hours: 1\ngib_hour: 0.1\n");
    file("broken.yaml", "vcpu_hour: [1,\n");
    file("emptyflavor.yaml", "flavors:\n  m1.tiny: {}\n");
    const args = argv.map((a) => (a.endsWith(".yaml") ? join(dir, a) : a));
    expect(() => loadRateCard(settingsFrom(args, env as Record<string, string>))).toThrow(ConfigError);
    expect(() => loadRateCard(settingsFrom(args, env as Record<string, string>))).toThrow(message);
  });
});

describe("rateCardQuote", () => {
  const card = () => loadRateCard(settingsFrom(["--rate-card", file("q.yaml", YAML_CARD)]))!;

  test("per-unit rates, with the root disk prorated from a 730-hour month", () => {
    const q = rateCardQuote(card(), { name: "m1.medium", vcpus: 2, memoryGiB: 4, diskGiB: 40 });
    expect(q.breakdown).toEqual([
      { name: "vcpu", hourlyRate: 2 * 0.021, detail: "2 vCPU x 0.021/vCPU-hour" },
      { name: "memory", hourlyRate: 4 * 0.0029, detail: "4 GiB x 0.0029/GiB-hour" },
      { name: "root_disk", hourlyRate: (40 * 0.05) / 730, detail: "40 GiB x 0.05/GiB-month (730 h)" },
    ]);
    expect(q.hourlyRate).toBeCloseTo(0.042 + 0.0116 + 2 / 730, 15);
    expect(q).toMatchObject({ currency: "EUR", date: "2026-01-15", source: "operator rate card: ACME private cloud price list v3" });
  });

  test("a flavor's flat price replaces the per-unit computation; a flavor's own unit rate overrides the card's", () => {
    expect(rateCardQuote(card(), { name: "m1.xlarge", vcpus: 8, memoryGiB: 16 }).breakdown).toEqual([
      { name: "compute", hourlyRate: 0.25, detail: "m1.xlarge: flat rate card price per hour" },
    ]);
    const gpu = rateCardQuote(card(), { name: "gpu.large", vcpus: 4, memoryGiB: 8 });
    expect(gpu.breakdown[0]!.hourlyRate).toBeCloseTo(0.2, 15);
    expect(gpu.breakdown[1]!.hourlyRate).toBeCloseTo(8 * 0.0029, 15);
  });

  test("no card: FAILED_PRECONDITION that says how to configure one", () => {
    let err: unknown;
    try {
      rateCardQuote(undefined, { name: "m1.small", vcpus: 1, memoryGiB: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe("FAILED_PRECONDITION");
    expect((err as ProviderError).message).toContain("--rate-card FILE (SKYCLUST_RATE_CARD)");
  });

  test("a flavors-only card cannot price an unlisted flavor: FAILED_PRECONDITION naming it", () => {
    const only = loadRateCard(settingsFrom(["--rate-card", file("only.yaml", "flavors:\n  small: { hourly: 0.01 }\n")]))!;
    expect(rateCardQuote(only, { name: "small", vcpus: 1, memoryGiB: 1 }).hourlyRate).toBe(0.01);
    expect(() => rateCardQuote(only, { name: "large", vcpus: 4, memoryGiB: 8 })).toThrow("no price for large");
  });

  test("the demo cards say they are demo cards", () => {
    for (const demo of Object.values(DEMO_RATE_CARDS)) expect(demo.source).toContain("demo");
  });
});
