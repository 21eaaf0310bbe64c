// TLS and mTLS handshakes with real certificates.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { awsProvider } from "../../providers/aws/definition";
import { makeTestPki, type TestPki } from "../testing/certs";
import { ProviderClient, grpcError } from "../testing/client";
import { startTestProvider } from "../testing/harness";
import { runCliAsync } from "../testing/process";

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.cleanup());

describe("TLS", () => {
  test("a client trusting the CA connects; a plaintext client does not", async () => {
    const p = await startTestProvider(awsProvider, ["--sandbox", "--tls-cert", pki.serverCert, "--tls-key", pki.serverKey]);
    // Bun's TLS client refuses an IP address as server name: dial "localhost".
    const address = `localhost:${p.port}`;
    try {
      const secure = new ProviderClient(address, grpc.credentials.createSsl(pki.read(pki.caCert)));
      const info = await secure.call("GetProviderInfo");
      expect(info.capabilities.tls).toBe("tls");
      secure.close();
      const plain = new ProviderClient(p.address);
      expect((await grpcError(plain.call("GetProviderInfo", {}, { deadlineMs: 2000 }))).code).toBe(grpc.status.UNAVAILABLE);
      plain.close();
      const hc = await runCliAsync("aws", ["healthcheck", "--addr", address, "--tls-ca", pki.caCert]);
      expect(hc.stdout).toContain("SERVING");
      expect(hc.code).toBe(0);
    } finally {
      await p.close();
    }
  });
});

describe("mTLS", () => {
  test("a client certificate from the configured CA is required", async () => {
    const p = await startTestProvider(awsProvider, [
      "--sandbox",
      "--tls-cert",
      pki.serverCert,
      "--tls-key",
      pki.serverKey,
      "--tls-client-ca",
      pki.caCert,
    ]);
    const address = `localhost:${p.port}`;
    try {
      const ca = pki.read(pki.caCert);
      const withCert = new ProviderClient(address, grpc.credentials.createSsl(ca, pki.read(pki.clientKey), pki.read(pki.clientCert)));
      expect((await withCert.call("GetProviderInfo")).capabilities.tls).toBe("mtls");
      withCert.close();

      const noCert = new ProviderClient(address, grpc.credentials.createSsl(ca));
      expect((await grpcError(noCert.call("GetProviderInfo", {}, { deadlineMs: 3000 }))).code).toBe(grpc.status.UNAVAILABLE);
      noCert.close();

      const wrongCa = new ProviderClient(address, grpc.credentials.createSsl(ca, pki.read(pki.otherClientKey), pki.read(pki.otherClientCert)));
      expect((await grpcError(wrongCa.call("GetProviderInfo", {}, { deadlineMs: 3000 }))).code).toBe(grpc.status.UNAVAILABLE);
      wrongCa.close();
    } finally {
      await p.close();
    }
  });
});
