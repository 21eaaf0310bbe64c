// Operation labels keep only route words: whatever ids, names or project ids
// a request carries, the label set stays finite.
import { expect, test } from "bun:test";
import { operationName } from "./operation-name";

const WORDS = new Set(["v2.1", "servers", "detail", "action", "nodes", "qemu", "status", "current"]);

test("ids, names and project ids become {id}; query strings are dropped", () => {
  expect(operationName("GET", "/v2.1/9c4693dce56b493b9b83197d900f7fba/servers/detail?limit=5&name=web", WORDS)).toBe("GET /v2.1/{id}/servers/detail");
  expect(operationName("POST", "/v2.1/servers/f5dc173b-6804-445a-a6d8-c705dad5b5eb/action", WORDS)).toBe("POST /v2.1/servers/{id}/action");
  expect(operationName("GET", "/nodes/pve-7/qemu/100/status/current", WORDS)).toBe("GET /nodes/{id}/qemu/{id}/status/current");
});

test("a hostile path cannot make a new label per request", () => {
  const names = new Set<string>();
  for (let i = 0; i < 1000; i++) names.add(operationName("GET", `/servers/${"x".repeat(i)}/${i}/a/b/c/d/e/f/g/h/i/j/k`, WORDS));
  expect(names.size).toBe(1);
  expect([...names][0]).toBe("GET /servers/{id}/{id}/{id}/{id}/{id}/{id}/{id}/{id}/{id}/...");
});
