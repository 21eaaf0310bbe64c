// Attack: mTLS accepted any certificate the CA signed, including the
// server's own certificate. A caller's certificate must carry the clientAuth
// extended key usage, and --tls-client-identities restricts who may call
// (subject CN or a SAN) and with which scopes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { makeTestPki, type TestPki } from "../testing/certs";
import { ProviderClient, grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.cleanup());

async function mtlsProvider(extra: string[] = []): Promise<TestProvider> {
  return startTestProvider(awsProvider, ["--sandbox", "--tls-cert", pki.serverCert, "--tls-key", pki.serverKey, "--tls-client-ca", pki.caCert, ...extra]);
}
const clientWith = (p: TestProvider, cert: string, key: string) =>
  new ProviderClient(`localhost:${p.port}`, grpc.credentials.createSsl(pki.read(pki.caCert), pki.read(key), pki.read(cert)));

describe("mTLS client certificates", () => {
  test("a certificate of the CA without the clientAuth usage is refused; so is the server's own", async () => {
    const p = await mtlsProvider();
    try {
      const impostor = clientWith(p, pki.noUsageCert, pki.noUsageKey);
      const err = await grpcError(impostor.call("GetProviderInfo", {}, { deadlineMs: 5000 }));
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err.details).toContain("clientAuth");
      impostor.close();
      // serverAuth-only: refused by the TLS handshake itself or by the check.
      const server = clientWith(p, pki.serverCert, pki.serverKey);
      const refused = await grpcError(server.call("GetProviderInfo", {}, { deadlineMs: 5000 }));
      expect([grpc.status.UNAUTHENTICATED, grpc.status.UNAVAILABLE]).toContain(refused.code);
      server.close();
      const genuine = clientWith(p, pki.clientCert, pki.clientKey);
      expect((await genuine.call("GetProviderInfo")).capabilities.tls).toBe("mtls");
      genuine.close();
    } finally {
      await p.close();
    }
  });

  test("--tls-client-identities admits only listed identities, with their scopes", async () => {
    const file = join(pki.dir, "identities");
    writeFileSync(file, "# who may call\nCN=client read\nURI:spiffe://skyclust/platform read,write\n");
    const p = await mtlsProvider(["--tls-client-identities", file, "--sandbox-transition-ms", "0"]);
    try {
      const reader = clientWith(p, pki.clientCert, pki.clientKey);
      expect((await reader.call("ListRegions")).regions.length).toBeGreaterThan(0);
      const denied = await grpcError(reader.call("CreateInstance", { name: "x", type: "t3.micro" }));
      expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
      reader.close();

      const platform = clientWith(p, pki.platformCert, pki.platformKey);
      expect((await platform.call("CreateInstance", { name: "x", type: "t3.micro" })).instance.id).toBeTruthy();
      platform.close();

      // Listing a certificate's name does not make it a client certificate.
      writeFileSync(file, "DNS:some-internal-service\n");
      await Bun.sleep(1100); // the file is re-checked at most once a second
      const noUsage = clientWith(p, pki.noUsageCert, pki.noUsageKey);
      expect((await grpcError(noUsage.call("ListRegions"))).code).toBe(grpc.status.UNAUTHENTICATED);
      noUsage.close();
    } finally {
      await p.close();
    }
  });

  test("a clientAuth certificate of the CA that is not listed is refused", async () => {
    const file = join(pki.dir, "only-platform");
    writeFileSync(file, "DNS:platform.skyclust.svc\n");
    const p = await mtlsProvider(["--tls-client-identities", file]);
    try {
      const other = clientWith(p, pki.clientCert, pki.clientKey);
      expect((await grpcError(other.call("ListRegions"))).code).toBe(grpc.status.PERMISSION_DENIED);
      other.close();
      const platform = clientWith(p, pki.platformCert, pki.platformKey);
      expect((await platform.call("ListRegions")).regions.length).toBeGreaterThan(0);
      platform.close();
    } finally {
      await p.close();
    }
  });
});
