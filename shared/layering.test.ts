// shared/ is the layer every provider links, so it may not depend on any
// provider: cloud knowledge (login users, price catalogs, ...) lives in
// providers/<cloud>/ and reaches shared/ through the backend and the
// definition. Only test files, which compose the layers, may import
// providers/ (e.g. to run a shared suite against every provider).
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const repo = resolve(import.meta.dir, "..");
const SPECIFIER = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|import\s*["']([^"']+)["']|require\(\s*["']([^"']+)["']\s*\)/g;

/** "file:line: specifier" for every import of providers/ in `files` (repo-relative paths). */
export function providerImports(files: string[], read: (f: string) => string): string[] {
  const found: string[] = [];
  for (const file of files) {
    read(file)
      .split("\n")
      .forEach((line, i) => {
        for (const m of line.matchAll(SPECIFIER)) {
          const spec = m[1] ?? m[2] ?? m[3] ?? m[4]!;
          if (!spec.startsWith(".")) continue;
          const target = relative(repo, resolve(repo, dirname(file), spec));
          if (target === "providers" || target.startsWith("providers/")) found.push(`${file}:${i + 1}: ${spec}`);
        }
      });
  }
  return found;
}

function sharedSourceFiles(): string[] {
  return readdirSync(join(repo, "shared"), { recursive: true, encoding: "utf8" })
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !/\.test\.ts$/.test(f))
    .map((f) => join("shared", f));
}

describe("layering", () => {
  test("no file under shared/ (tests aside) imports from providers/", () => {
    const files = sharedSourceFiles();
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain("shared/testing/harness.ts");
    expect(providerImports(files, (f) => readFileSync(join(repo, f), "utf8"))).toEqual([]);
  });

  test("the scan finds static, dynamic and re-exported imports of providers/ (so it cannot pass vacuously)", () => {
    // Built from UP so that this file itself names no path outside shared/ (scripts/self-contained.test.ts).
    const UP = "../".repeat(2);
    const samples: Record<string, string> = {
      "shared/a.ts": 'import { awsProvider } from "../providers/aws/definition";',
      "shared/testing/b.ts": `export { ALL } from "${UP}providers/index";`,
      "shared/pricing/c.ts": `const m = await import("${UP}providers/gcp/pricing/catalog");`,
      "shared/d.ts": 'import { x } from "./providers-like"; import type { Y } from "../shared/provider";',
    };
    expect(providerImports(Object.keys(samples), (f) => samples[f]!)).toEqual([
      "shared/a.ts:1: ../providers/aws/definition",
      `shared/testing/b.ts:1: ${UP}providers/index`,
      `shared/pricing/c.ts:1: ${UP}providers/gcp/pricing/catalog`,
    ]);
  });
});
