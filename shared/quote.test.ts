import { expect, test } from "bun:test";
import { bounded, quote } from "./quote";

test("quote shows short values whole and long ones as a prefix and a length", () => {
  expect(quote("us-east-1")).toBe('"us-east-1"');
  expect(quote("a\nb")).toBe('"a\\nb"');
  const q = quote("x".repeat(65536));
  expect(q).toBe(`"${"x".repeat(64)}..." (65536 characters)`);
});

test("quote never splits a surrogate pair", () => {
  const q = quote("a".repeat(63) + "😀".repeat(10));
  expect(q).not.toContain("\\ud83d\"");
  expect(Buffer.from(q).toString("utf8")).toBe(q);
});

test("bounded caps UTF-8 bytes, not characters", () => {
  expect(bounded("short")).toBe("short");
  const b = bounded("é".repeat(10_000), 512);
  expect(Buffer.byteLength(b)).toBeLessThanOrEqual(512);
  expect(b).toEndWith("... (10000 characters)");
});
