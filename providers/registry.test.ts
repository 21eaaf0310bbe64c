// The provider registry (providers/index.ts) is complete, and no provider
// binary bundles another cloud's code: everything reachable from
// providers/<name>/main.ts through relative imports (static or dynamic) is
// in providers/<name>/ or shared/. Bun bundles exactly what is reachable,
// so this is what each binary holds of this repository.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { PROVIDERS } from "./index";

const repo = resolve(import.meta.dir, "..");
const SPECIFIER = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|import\s*["']([^"']+)["']/g;

function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined; // a package
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) if (existsSync(candidate) && candidate.endsWith(".ts")) return candidate;
  return undefined;
}

/** Repository files reachable from `entry`, repo-relative. */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [resolve(repo, entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
      const target = resolveLocal(file, m[1] ?? m[2] ?? m[3]!);
      if (target) queue.push(target);
    }
  }
  return [...seen].map((f) => relative(repo, f));
}

describe("provider registry", () => {
  test("every providers/<name>/main.ts is registered, and every entry exists", () => {
    const folders = readdirSync(import.meta.dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(import.meta.dir, d.name, "main.ts")))
      .map((d) => d.name);
    expect(PROVIDERS.map((p) => p.name).sort()).toEqual(folders.sort());
    for (const p of PROVIDERS) expect(existsSync(join(repo, p.entry))).toBe(true);
  });

  for (const p of PROVIDERS) {
    test(`${p.name}: its binary reaches only providers/${p.name}/ and shared/`, () => {
      const files = reachable(p.entry);
      expect(files.length).toBeGreaterThan(5); // the walk works
      expect(files.filter((f) => !f.startsWith(`providers/${p.name}/`) && !f.startsWith("shared/"))).toEqual([]);
    });
  }

  test("the walk sees a foreign import (the test can fail)", () => {
    expect(reachable("scripts/start-all.ts")).toContain("providers/index.ts");
  });
});
