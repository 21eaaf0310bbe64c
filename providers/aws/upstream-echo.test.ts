// An endpoint that echoes the request in its error body (a debugging proxy
// or an emulator behind --endpoint) must not hand the session token (sent as
// X-Amz-Security-Token) or the secret key to the caller or the log. The
// provider is started from flags and AWS_* variables exactly as main does;
// the real AWS SDK talks to a local server answering EC2's XML error shape
// with the request quoted in <Message>.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { badRequestFields, grpcError } from "../../shared/testing/client";
import { describeRequest, errorTexts, leakedSecrets } from "../../shared/testing/echo";
import { startTestProvider, type TestProvider } from "../../shared/testing/harness";
import { awsProvider } from "./definition";

// Shaped like real ones: a 40-character secret key, a long STS session token.
const SECRET_KEY = randomBytes(30).toString("base64").slice(0, 40);
const SESSION_TOKEN = `IQoJb3JpZ2luX2Vj${randomBytes(300).toString("base64")}`;
const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

let server: ReturnType<typeof Bun.serve>;
let provider: TestProvider;
let echoed = 0;

beforeAll(async () => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      echoed++;
      const dump = describeRequest(req.method, url.pathname + url.search, req.headers, await req.text());
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>${xml(dump)}</Message></Error></Errors><RequestID>echo-req-1</RequestID></Response>`;
      return new Response(body, { status: 400, headers: { "content-type": "text/xml;charset=UTF-8" } });
    },
  });
  provider = await startTestProvider(awsProvider, ["--endpoint", `http://127.0.0.1:${server.port}`, "--region", "us-east-1", "--max-attempts", "1"], {
    AWS_ACCESS_KEY_ID: "AKIAECHOTEST00000001",
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_SESSION_TOKEN: SESSION_TOKEN,
  });
});

afterAll(async () => {
  await provider?.close();
  await server?.stop(true);
});

describe("upstream errors that echo the request", () => {
  test("an EC2 error quoting the request: neither the session token nor the secret key reach the caller or the log", async () => {
    const err = await grpcError(provider.client.call("ListInstances", { region: "us-east-1" }, { deadlineMs: 20_000 }));
    expect(echoed).toBeGreaterThan(0);
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(badRequestFields(err).length).toBe(1);
    // Still says what went wrong: EC2's code and the request line.
    expect(err.details).toContain("InvalidParameterValue");
    expect(err.details).toContain("POST /");
    expect(leakedSecrets([...errorTexts(err), ...provider.logs], [SESSION_TOKEN, SECRET_KEY])).toEqual([]);
  });
});
