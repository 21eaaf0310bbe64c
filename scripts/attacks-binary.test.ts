// The trust-boundary attacks against each compiled binary, alone in a
// minimal root (design trap 1: what works from source must work compiled):
// bearer tokens and scopes, mTLS clientAuth (node:crypto's X509 parsing
// inside the binary), a forged multi-region page token, a 64 KB value in a
// field, and 28,000 tags. Each is refused with the documented code.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "../shared/testing/certs";
import { ProviderClient, badRequestFields, grpcError } from "../shared/testing/client";
import { forgeFanoutToken } from "../shared/testing/forge";
import { PROVIDERS, buildProviders } from "./build";
import { NONROOT_UID, freePort, makeMinimalRoot, type MinimalRoot, type ServedBinary } from "./chroot";

const WRITER = "binary-writer-4c1d9e7a";
const READER = "binary-reader-82f0b3c6";
let outdir: string;
let pki: TestPki;
const binaries = new Map<string, string>();

beforeAll(async () => {
  outdir = mkdtempSync("/tmp/skyclust-attack-build-");
  pki = makeTestPki();
  const built = await buildProviders({ outdir });
  PROVIDERS.forEach((p, i) => binaries.set(p, built[i]!));
}, 600_000);
afterAll(() => {
  pki?.cleanup();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** Copies a file into the root, owned by the nonroot user, mode 0600. */
function secretFile(root: MinimalRoot, content: string | Buffer, to: string): void {
  const tmp = join(outdir, `f-${Math.random().toString(36).slice(2)}`);
  writeFileSync(tmp, content, { mode: 0o600 });
  root.addFile(tmp, to, 0o600);
  chownSync(join(root.dir, to), NONROOT_UID, NONROOT_UID);
}

for (const provider of PROVIDERS) {
  describe(`${provider} binary`, () => {
    let root: MinimalRoot;
    let served: ServedBinary;
    let client: ProviderClient;
    const as = (token: string) => ({ metadata: { authorization: `Bearer ${token}` }, deadlineMs: 20_000 });

    beforeAll(async () => {
      root = makeMinimalRoot(binaries.get(provider)!);
      secretFile(root, `${WRITER} read,write\n${READER} read\n`, "home/nonroot/tokens");
      served = await root.serve(["--sandbox", "--auth-token-file", "/home/nonroot/tokens"], { uid: NONROOT_UID, env: { HOME: "/home/nonroot" } });
      client = new ProviderClient(served.address);
    }, 60_000);
    afterAll(async () => {
      client?.close();
      if (served) expect(await served.stop()).toBe(0);
      await root?.cleanup();
    });

    test("tokens: none is UNAUTHENTICATED, a read token cannot write, and tokens never reach the log", async () => {
      expect((await grpcError(client.call("ListRegions"))).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await client.call("ListRegions", {}, as(READER))).regions.length).toBeGreaterThan(0);
      expect((await grpcError(client.call("DeleteInstance", { instance_id: "x" }, as(READER)))).code).toBe(grpc.status.PERMISSION_DENIED);
      expect(served.stderr()).not.toContain(READER);
    });

    test("a forged multi-region token, a 64 KB value and 28,000 tags are INVALID_ARGUMENT with small statuses", async () => {
      const forged = await grpcError(
        client.call("ListInstances", { region: "*", page_token: forgeFanoutToken(Array.from({ length: 3200 }, () => ["r1", null, 0])) }, as(WRITER)),
      );
      expect(forged.code).toBe(grpc.status.INVALID_ARGUMENT);
      const huge = await grpcError(client.call("GetCostEstimate", { instance_type: "x", duration: "9".repeat(65536) }, as(WRITER)));
      expect(huge.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(huge.details.length).toBeLessThan(1024);
      const tags = Object.fromEntries(Array.from({ length: 28_000 }, (_, i) => [`k${i}`, "v"]));
      const tagged = await grpcError(client.call("CreateInstance", { name: "t", type: "x", tags }, as(WRITER)));
      expect(tagged.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badRequestFields(tagged)).toEqual(["tags"]);
    });

    test("mTLS: a certificate of the CA without the clientAuth usage is UNAUTHENTICATED, a client certificate is served", async () => {
      for (const [from, to] of [[pki.caCert, "home/nonroot/ca.crt"], [pki.serverCert, "home/nonroot/server.crt"], [pki.serverKey, "home/nonroot/server.key"]] as const) {
        secretFile(root, pki.read(from), to);
      }
      const port = await freePort();
      const proc = root.spawn(
        ["--sandbox", "--host", "127.0.0.1", "--port", String(port), "--tls-cert", "/home/nonroot/server.crt", "--tls-key", "/home/nonroot/server.key", "--tls-client-ca", "/home/nonroot/ca.crt"],
        { uid: NONROOT_UID, env: { HOME: "/home/nonroot" } },
      );
      const address = `localhost:${port}`;
      const ca = pki.read(pki.caCert);
      const genuine = new ProviderClient(address, grpc.credentials.createSsl(ca, pki.read(pki.clientKey), pki.read(pki.clientCert)));
      try {
        // Started when a client certificate gets an answer (the plaintext health probe cannot dial TLS).
        let info: any;
        for (let i = 0; i < 100 && !info; i++) {
          info = await genuine.call("GetProviderInfo", {}, { deadlineMs: 1000 }).catch(() => Bun.sleep(150).then(() => undefined));
        }
        expect(info?.capabilities.tls).toBe("mtls");
        const noUsage = new ProviderClient(address, grpc.credentials.createSsl(ca, pki.read(pki.noUsageKey), pki.read(pki.noUsageCert)));
        expect((await grpcError(noUsage.call("ListRegions", {}, { deadlineMs: 10_000 }))).code).toBe(grpc.status.UNAUTHENTICATED);
        noUsage.close();
      } finally {
        genuine.close();
        proc.kill("SIGTERM");
        expect(await proc.exited).toBe(0);
      }
    }, 60_000);
  });
}
