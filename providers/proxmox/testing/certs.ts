// Throwaway PKI for the Proxmox tests, made with openssl in a temp dir: a CA
// and a server certificate for 127.0.0.1/localhost (the way a PVE cluster
// CA signs its node certificates), plus an unrelated CA.
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPki {
  dir: string;
  caFile: string;
  otherCaFile: string;
  cert: string;
  key: string;
  /** SHA-256 of the server certificate, "AA:BB:..." as PVE shows it. */
  fingerprint: string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "skyclust-pve-pki-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Proxmox Virtual Environment/OU=test/O=PVE Cluster Manager CA"], dir);
  openssl(["req", "-x509", ...ec, "-keyout", "other.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Unrelated CA"], dir);
  openssl(["req", ...ec, "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=vmpvetest.test/OU=PVE Cluster Node/O=Proxmox Virtual Environment"], dir);
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(["x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "node.pem", "-days", "2", "-extfile", "ext.cnf"], dir);
  const cert = readFileSync(join(dir, "node.pem"), "utf8");
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    otherCaFile: join(dir, "other-ca.pem"),
    cert,
    key: readFileSync(join(dir, "node.key"), "utf8"),
    fingerprint: new X509Certificate(cert).fingerprint256,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
