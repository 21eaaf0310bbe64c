// The JSON log line: what a line holds, in what order, and what never
// reaches it (the logger builds lines in place for speed; this pins the
// shape it must keep).
import { describe, expect, test } from "bun:test";
import { rememberSecret } from "./cloud/scrub";
import { createLogger } from "./log";

function capture(level?: "debug" | "info" | "warn" | "error") {
  const lines: string[] = [];
  const log = createLogger({ level, base: { provider: "aws" }, write: (l) => lines.push(l) });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("log lines", () => {
  test("ts, level, msg, then the base fields, the child's fields and the line's fields, in that order", () => {
    const { log, lines } = capture();
    log.child({ request_id: "r-1" }).info("rpc", { method: "ListInstances", code: "OK", duration_ms: 1.5, peer: "::ffff:10.0.0.1:5000" });
    const record = JSON.parse(lines[0]!);
    expect(Object.keys(record)).toEqual(["ts", "level", "msg", "provider", "request_id", "method", "code", "duration_ms", "peer"]);
    expect(record).toMatchObject({ level: "info", msg: "rpc", provider: "aws", request_id: "r-1", method: "ListInstances", code: "OK", duration_ms: 1.5, peer: "::ffff:10.0.0.1:5000" });
    expect(new Date(record.ts).toISOString()).toBe(record.ts);
  });

  test("a child's child keeps both sets of fields; a field of the line overrides a base field in place", () => {
    const { log, records } = capture();
    log.child({ request_id: "r-1" }).child({ tenant: "t-1" }).warn("x", { provider: "other" });
    const [r] = records();
    expect(Object.keys(r!)).toEqual(["ts", "level", "msg", "provider", "request_id", "tenant"]);
    expect(r).toMatchObject({ provider: "other", request_id: "r-1", tenant: "t-1", level: "warn" });
  });

  test("values under secret-looking keys are redacted, at the top and nested; empty ones are left alone", () => {
    const { log, records } = capture();
    log.info("creds", { password: "hunter2", api_key: "k", token: "", nested: { client_secret: "s", list: [{ Authorization: "Bearer x" }] } });
    const [r] = records();
    expect(r).toMatchObject({ password: "[redacted]", api_key: "[redacted]", token: "", nested: { client_secret: "[redacted]", list: [{ Authorization: "[redacted]" }] } });
    expect(JSON.stringify(r)).not.toContain("hunter2");
  });

  test("a known secret inside any string value or the message is scrubbed", () => {
    rememberSecret("log-test-Secret-99");
    const { log, lines } = capture();
    log.error("failed with log-test-Secret-99", { detail: "upstream said log-test-Secret-99", err: new Error("x log-test-Secret-99") });
    expect(lines[0]).not.toContain("log-test-Secret-99");
    expect(JSON.parse(lines[0]!).err).toMatchObject({ name: "Error" });
  });

  test("lines under the level are dropped", () => {
    const { log, lines } = capture("warn");
    log.debug("a");
    log.info("b");
    log.child({ x: 1 }).info("c");
    log.warn("d");
    log.error("e");
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["d", "e"]);
  });
});
