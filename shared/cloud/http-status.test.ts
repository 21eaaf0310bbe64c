// The one HTTP status table: every row, the blame rule (a 4xx on a request
// the caller did not supply is never INVALID_ARGUMENT or NOT_FOUND), hints,
// and upstream text scrubbed and bounded on the way.
import { describe, expect, test } from "bun:test";
import { ProviderError } from "../errors";
import { codeForHttpStatus, httpError, transportError } from "./http-status";

describe("status -> code", () => {
  const rows: [number, string, string][] = [
    [400, "INVALID_ARGUMENT", "FAILED_PRECONDITION"],
    [422, "INVALID_ARGUMENT", "FAILED_PRECONDITION"],
    [401, "UNAUTHENTICATED", "UNAUTHENTICATED"],
    [403, "PERMISSION_DENIED", "PERMISSION_DENIED"],
    [404, "NOT_FOUND", "FAILED_PRECONDITION"],
    [410, "NOT_FOUND", "FAILED_PRECONDITION"],
    [408, "UNAVAILABLE", "UNAVAILABLE"],
    [409, "FAILED_PRECONDITION", "FAILED_PRECONDITION"],
    [412, "FAILED_PRECONDITION", "FAILED_PRECONDITION"],
    [429, "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED"],
    [500, "UNAVAILABLE", "UNAVAILABLE"],
    [501, "UNIMPLEMENTED", "UNIMPLEMENTED"],
    [503, "UNAVAILABLE", "UNAVAILABLE"],
    [595, "UNAVAILABLE", "UNAVAILABLE"],
    [418, "INTERNAL", "INTERNAL"],
    [302, "INTERNAL", "INTERNAL"],
  ];
  test.each(rows)("%d: caller %s, provider %s", (status, caller, provider) => {
    expect(codeForHttpStatus(status, "caller")).toBe(caller as never);
    expect(codeForHttpStatus(status, "provider")).toBe(provider as never);
  });

  test("no 4xx blamed on the provider is INVALID_ARGUMENT or NOT_FOUND", () => {
    for (let status = 400; status < 500; status++) {
      expect(["INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS"]).not.toContain(codeForHttpStatus(status, "provider"));
      for (const hint of ["already_exists", "not_found", "throttled", "wrong_state"] as const) {
        expect(["INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS"]).not.toContain(codeForHttpStatus(status, "provider", hint));
      }
    }
  });

  test("hints: the cloud's reading beats the status", () => {
    expect(codeForHttpStatus(403, "caller", "throttled")).toBe("RESOURCE_EXHAUSTED");
    expect(codeForHttpStatus(403, "caller", "quota")).toBe("RESOURCE_EXHAUSTED");
    expect(codeForHttpStatus(409, "caller", "already_exists")).toBe("ALREADY_EXISTS");
    expect(codeForHttpStatus(500, "caller", "not_found")).toBe("NOT_FOUND");
    expect(codeForHttpStatus(500, "caller", "wrong_state")).toBe("FAILED_PRECONDITION");
    expect(codeForHttpStatus(500, "caller", "busy")).toBe("UNAVAILABLE");
    expect(codeForHttpStatus(500, "caller", "failed")).toBe("INTERNAL");
  });
});

describe("httpError", () => {
  test("INVALID_ARGUMENT names the field; the provider's 400 says whose settings were refused", () => {
    const caller = httpError({ status: 400, service: "Compute Engine", message: "Invalid value for field 'resource.machineType'", reason: "invalid", blame: "caller", field: "type" });
    expect(caller.code).toBe("INVALID_ARGUMENT");
    expect(caller.details.field).toBe("type");
    expect(caller.message).toBe("type: Compute Engine: Invalid value for field 'resource.machineType' (invalid)");
    const provider = httpError({ status: 400, service: "Compute Engine", message: "Invalid value for field 'project'", reason: "invalid", blame: "provider", field: "type" });
    expect(provider.code).toBe("FAILED_PRECONDITION");
    expect(provider.details.field).toBeUndefined();
    expect(provider.message).toContain("provider's own settings");
  });

  test("401 blames the provider's credentials; 429 is throttled and says when to come back", () => {
    const auth = httpError({ status: 401, service: "nova", message: "The request you have made requires authentication.", blame: "caller" });
    expect(auth.code).toBe("UNAUTHENTICATED");
    expect(auth.message).toStartWith("nova rejected the provider's credentials");
    const slow = httpError({ status: 429, service: "nova", message: "rate limited", blame: "caller", retryAfterMs: 1500, requestId: "req-1" });
    expect(slow.code).toBe("RESOURCE_EXHAUSTED");
    expect(slow.details.throttled).toBe(true);
    expect(slow.message).toBe("nova: rate limited (HTTP 429) (request id req-1); the cloud asked to retry after 2 s");
  });

  test("upstream text is scrubbed and bounded", () => {
    const token = `ya29.${"x".repeat(40)}`;
    const echoed = httpError({ status: 400, service: "Compute Engine", message: `GET /x Authorization: Bearer ${token} ${"y".repeat(5000)}`, blame: "caller", also: ["per-call-secret-1"] });
    expect(echoed.message).not.toContain(token);
    expect(echoed.message).not.toContain("ya29.");
    expect(Buffer.byteLength(echoed.message)).toBeLessThan(700);
    const also = httpError({ status: 500, service: "Proxmox", message: "echo per-call-secret-1", blame: "caller" , also: ["per-call-secret-1"] });
    expect(also.message).not.toContain("per-call-secret-1");
  });
});

test("transportError: UNAVAILABLE unless the caller's own signal fired", () => {
  const live = new AbortController();
  expect(transportError(live.signal, "nova", "cannot reach http://x: ECONNREFUSED").code).toBe("UNAVAILABLE");
  const gone = new AbortController();
  gone.abort(new ProviderError("DEADLINE_EXCEEDED", "deadline"));
  expect(transportError(gone.signal, "nova", "timeout").code).toBe("DEADLINE_EXCEEDED");
});

test("transportError: DEADLINE_EXCEEDED once the caller's deadline has passed, even before its signal fires", () => {
  const live = new AbortController();
  expect(transportError(live.signal, "Compute Engine", "the API did not answer in time", undefined, [], new Date(Date.now() - 1)).code).toBe("DEADLINE_EXCEEDED");
  expect(transportError(live.signal, "Compute Engine", "the API did not answer in time", undefined, [], new Date(Date.now() + 60_000)).code).toBe("UNAVAILABLE");
});
