// The repository must work as a public clone: no file may reach outside it
// (the development machines keep reference material in a sibling `shared/`
// folder that a clone never has) or name an absolute path of a development
// machine. Scans every file git would ship.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { REPO_ROOT, shippedFiles } from "./shipped-files";

const REPO = REPO_ROOT;

// A relative path that climbs out of the repository (the sibling `shared/`
// reference folder is the usual culprit), resolved from the file it is in;
// and absolute paths of a development machine.
const CLIMB = /(?:\.\.\/)+[A-Za-z0-9_.-]+/g;
const ABSOLUTE: { name: string; pattern: RegExp }[] = [
  { name: "a development machine's work tree", pattern: /\/work\/(?:main|shared)\b/ },
  { name: "a development machine's home folder", pattern: /\/root\/(?!\.ssh\b)[A-Za-z0-9_.-]+\// },
];
// Lines whose climb is not ours: attack strings in tests, and the README's
// kustomize overlay example, which lives in the user's own folder.
const NOT_A_PATH = /traversal|escape|"\.\.\/\.\.\/etc|resources: \[\.\.\//;

export function findOutsideReferences(files: string[], read: (f: string) => string, root = REPO): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (file === "scripts/self-contained.test.ts") continue; // names the patterns it looks for
    let text: string;
    try {
      text = read(file);
    } catch {
      continue; // removed in the work tree but still tracked
    }
    if (text.includes("\0")) continue; // binary
    text.split("\n").forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      for (const m of line.matchAll(CLIMB)) {
        if (NOT_A_PATH.test(line)) break;
        const target = relative(root, resolve(root, dirname(file), m[0]));
        if (target.startsWith("..")) found.push(`${where}: climbs out of the repository (${m[0]}): ${line.trim().slice(0, 160)}`);
      }
      for (const { name, pattern } of ABSOLUTE) if (pattern.test(line)) found.push(`${where}: ${name}: ${line.trim().slice(0, 160)}`);
    });
  }
  return found;
}

describe("the repository is self-contained", () => {
  test("no shipped file refers to ../shared or to a development machine's absolute paths", () => {
    const files = shippedFiles();
    expect(files.length).toBeGreaterThan(100);
    expect(findOutsideReferences(files, (f) => readFileSync(join(REPO, f), "utf8"))).toEqual([]);
  });

  test("the scan finds each kind of reference it is meant to catch (so it cannot pass vacuously)", () => {
    const samples: Record<string, string> = {
      "a.sh": "TESTBED=../shared/openstack-testbed/testbed.sh",
      "b.ts": 'resolve(import.meta.dir, "../../../shared/pricing/x.json")',
      "c.md": "copied from `/work/shared/fixtures/gce`",
      "d.ts": 'const p = "/root/project/file"',
      "providers/x/b.ts": 'resolve(import.meta.dir, "../../../shared/pricing/x.json")',
      "providers/x/ok.ts": 'import { x } from "../../shared/errors"; // the repo\'s own shared/ module',
    };
    const found = findOutsideReferences(Object.keys(samples), (f) => samples[f]!, "/r");
    expect(found.map((l) => l.split(":")[0])).toEqual(["a.sh", "b.ts", "c.md", "d.ts", "providers/x/b.ts"]);
  });

  test("what the tests read from disk is in the repository", () => {
    const files = new Set(shippedFiles());
    for (const needed of [
      "providers/openstack/testbed/testbed.sh",
      "providers/openstack/testbed/setup.sh",
      "providers/aws/pricing/snapshot/aws-ec2-linux-ondemand.json",
      "providers/gcp/pricing/snapshot/gce-family-rates.json",
    ]) expect(files.has(needed)).toBe(true);
  });
});
