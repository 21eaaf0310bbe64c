// One gRPC call from a separate process (run inside a network namespace by
// the protected-mode test): prints {"code":N,"details":"..."} as JSON.
//   bun shared/testing/call-once.ts ADDRESS METHOD [TOKEN]
//   bun shared/testing/call-once.ts ADDRESS health
// Extra request metadata comes as JSON in CALL_ONCE_METADATA; CALL_ONCE_CA
// (a CA file) makes the call over TLS, checking the name "localhost".
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { ProviderClient } from "./client";
import { healthClient } from "./health-client";

const [address, method, token] = process.argv.slice(2) as [string, string, string | undefined];
const print = (code: number, details = "") => console.log(JSON.stringify({ code, details }));

if (method === "health") {
  const client = healthClient(address);
  client.Check({ service: "" }, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: { status: string }) => {
    print(err ? err.code : grpc.status.OK, err ? err.details : res.status);
    process.exit(0);
  });
} else {
  const ca = process.env.CALL_ONCE_CA;
  const client = ca
    ? new ProviderClient(address, grpc.credentials.createSsl(readFileSync(ca)), { "grpc.ssl_target_name_override": "localhost" })
    : new ProviderClient(address);
  const extra = JSON.parse(process.env.CALL_ONCE_METADATA ?? "{}") as Record<string, string>;
  const metadata: Record<string, string> = { ...extra, ...(token ? { authorization: `Bearer ${token}` } : {}) };
  client.call(method, {}, { metadata, deadlineMs: 10_000 }).then(
    () => print(grpc.status.OK),
    (err: grpc.ServiceError) => print(err.code, err.details),
  ).finally(() => process.exit(0));
}
