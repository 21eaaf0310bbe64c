// Throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server
// certificate for 127.0.0.1/localhost, and a client certificate.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second client of the same CA, identified by a SAN (URI:spiffe://skyclust/platform). */
  platformCert: string;
  platformKey: string;
  /** Signed by the CA with no extended key usage at all (as many internal CAs issue server certificates). */
  noUsageCert: string;
  noUsageKey: string;
  /** A second, unrelated CA (its client certificate must be refused). */
  otherClientCert: string;
  otherClientKey: string;
  read(file: string): Buffer;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr.toString()}`);
}

function issue(dir: string, name: string, ca: string, ext: string): void {
  openssl(dir, ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  Bun.write(join(dir, `${name}.ext`), ext);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2", "-out", `${name}.crt`, "-extfile", `${name}.ext`]);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync("/tmp/skyclust-pki-");
  for (const ca of ["ca", "otherca"]) {
    openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "2", "-subj", `/CN=${ca}`]);
  }
  issue(dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  issue(dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
  issue(dir, "otherclient", "otherca", "extendedKeyUsage=clientAuth\n");
  issue(dir, "nousage", "ca", "subjectAltName=DNS:some-internal-service\n");
  issue(dir, "platform", "ca", "subjectAltName=URI:spiffe://skyclust/platform,DNS:platform.skyclust.svc\nextendedKeyUsage=clientAuth\n");
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caCert: p("ca.crt"),
    serverCert: p("server.crt"),
    serverKey: p("server.key"),
    clientCert: p("client.crt"),
    clientKey: p("client.key"),
    platformCert: p("platform.crt"),
    platformKey: p("platform.key"),
    noUsageCert: p("nousage.crt"),
    noUsageKey: p("nousage.key"),
    otherClientCert: p("otherclient.crt"),
    otherClientKey: p("otherclient.key"),
    read: (f) => readFileSync(f),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
