// mTLS: what a client certificate may do. The TLS handshake already checked
// that the CA signed it; that alone would accept any certificate of that CA,
// including server certificates. A caller's certificate must carry the
// clientAuth extended key usage, and its identities (CN=... from the
// subject, and each subjectAltName such as DNS:x, URI:spiffe://..., email:x,
// IP Address:x) are what --tls-client-identities matches.
import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

export interface ClientCertificate {
  clientAuth: boolean;
  identities: string[];
}

export function readClientCertificate(peer: PeerCertificate | undefined): ClientCertificate | undefined {
  if (!peer?.raw) return undefined;
  const cert = new X509Certificate(peer.raw);
  const identities: string[] = [];
  for (const part of cert.subject.split("\n")) if (part.startsWith("CN=")) identities.push(part);
  for (const san of (cert.subjectAltName ?? "").split(/,\s*/)) if (san) identities.push(san);
  return { clientAuth: (cert.keyUsage ?? []).includes(CLIENT_AUTH), identities };
}
