// The build plugin must catch both of ssh2's optional native add-ons, so a
// build machine that happens to have compiled them still produces a binary
// on the pure-JavaScript path.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ssh2PureJsPlugin } from "./bundle-plugin";

const dir = mkdtempSync("/tmp/skyclust-ssh2-bundle-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundle(plugins: import("bun").BunPlugin[]): Promise<string> {
  const entry = join(dir, "entry.ts");
  writeFileSync(entry, `import { Client } from "${join(import.meta.dir, "../../node_modules/ssh2")}"; console.log(typeof Client);\n`);
  const result = await Bun.build({ entrypoints: [entry], target: "bun", plugins });
  expect(result.success).toBe(true);
  return (await Promise.all(result.outputs.map((o) => o.text()))).join("\n");
}

test("ssh2's sshcrypto.node and cpu-features resolve to throwing stubs", async () => {
  const out = await bundle([ssh2PureJsPlugin]);
  expect(out).toContain("sshcrypto.node is left out of SkyClust builds");
  expect(out).toContain("cpu-features is left out of SkyClust builds");
});

test("without the plugin the bundle would still try to load them (the plugin is what changes it)", async () => {
  const out = await bundle([]);
  expect(out).not.toContain("left out of SkyClust builds");
  expect(out).toContain("sshcrypto.node");
});
