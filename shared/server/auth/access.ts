// Who may call what. Runs before every CloudProviderService handler (health
// and reflection are not behind it, so probes and discovery stay open).
//
//  - Bearer tokens (--auth-token-file): "authorization: Bearer TOKEN"
//    metadata; compared in constant time; the token is never logged.
//  - mTLS (--tls-client-ca): the certificate must carry clientAuth; with
//    --tls-client-identities only listed identities may call, with the
//    scopes listed; without it any clientAuth certificate of the CA gets
//    every scope (unless tokens are also configured: then the token decides).
//  - Neither: protected mode. With a real cloud behind it the provider only
//    answers loopback callers, unless --allow-unauthenticated; the sandbox
//    answers everyone.
// No credentials at all is UNAUTHENTICATED; valid credentials without the
// method's scope are PERMISSION_DENIED.
import { createHash, timingSafeEqual } from "node:crypto";
import type * as grpc from "@grpc/grpc-js";
import { permissionDenied, unauthenticated } from "../../errors";
import type { CredentialFile } from "./credential-file";
import { readClientCertificate } from "./client-cert";
import { METHOD_SCOPES, SCOPES, type Scope } from "./scopes";

export interface AccessOptions {
  tokens?: CredentialFile;
  /** Client certificates are required by the TLS handshake. */
  mtls: boolean;
  identities?: CredentialFile;
  /** No authentication configured, a real cloud, no --allow-unauthenticated. */
  protectedMode: boolean;
}

type Call = Pick<grpc.ServerUnaryCall<unknown, unknown>, "metadata" | "getAuthContext">;

export const PROTECTED_MODE_MESSAGE =
  "this provider serves a real cloud without authentication, so it answers only callers on the same host (loopback). " +
  "Configure bearer tokens (--auth-token-file / SKYCLUST_AUTH_TOKEN_FILE) or mTLS (--tls-client-ca / SKYCLUST_TLS_CLIENT_CA), " +
  "or pass --allow-unauthenticated (SKYCLUST_ALLOW_UNAUTHENTICATED=true) on a trusted network";

const BEARER = /^Bearer ([\x21-\x7e]{1,4096})$/i;
const sha256 = (s: string) => createHash("sha256").update(s).digest();

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x, from grpc-js's "ADDRESS:PORT" peer string. */
export function isLoopbackPeer(peer: string): boolean {
  let host = peer;
  const bracket = /^\[(.*)\](?::\d+)?$/.exec(peer);
  if (bracket) host = bracket[1]!;
  else if (/^[\d.]+:\d+$/.test(peer)) host = peer.slice(0, peer.lastIndexOf(":"));
  else if (peer.includes(":") && /:\d+$/.test(peer) && peer.split(":").length > 2) {
    // Unbracketed IPv6 with a port (grpc-js writes "::1:PORT").
    host = peer.slice(0, peer.lastIndexOf(":"));
  }
  host = host.replace(/^::ffff:/i, "");
  return host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const REASON = Symbol("auth failure reason");

/** Tags a refusal with a reason from a fixed set (a metric label: never caller input). */
function refused<E extends Error>(reason: string, err: E): E {
  (err as E & { [REASON]?: string })[REASON] = reason;
  return err;
}

/** Why AccessPolicy.check refused a call ("other" for anything it did not tag). */
export function authFailureReason(err: unknown): string {
  return (err as { [REASON]?: string } | null)?.[REASON] ?? "other";
}

export class AccessPolicy {
  constructor(private readonly opts: AccessOptions) {}

  get authenticationConfigured(): boolean {
    return Boolean(this.opts.tokens) || this.opts.mtls;
  }

  /** Throws UNAUTHENTICATED or PERMISSION_DENIED; returns when the call may proceed. */
  check(method: string, call: Call, peer: string): void {
    const needed: Scope = METHOD_SCOPES[method] ?? "write";
    if (!this.authenticationConfigured) {
      if (this.opts.protectedMode && !isLoopbackPeer(peer)) throw refused("protected_mode", unauthenticated(PROTECTED_MODE_MESSAGE));
      return;
    }
    const granted = new Set<Scope>();
    let presented = false;

    if (this.opts.mtls) {
      const cert = readClientCertificate(call.getAuthContext()?.sslPeerCertificate);
      if (!cert) throw refused("no_client_certificate", unauthenticated("a client certificate is required (mTLS)"));
      if (!cert.clientAuth) throw refused("certificate_not_for_clients", unauthenticated("the client certificate is not for client authentication (it lacks the clientAuth extended key usage)"));
      if (this.opts.identities) {
        const listed = this.opts.identities.current().filter((e) => cert.identities.includes(e.who));
        if (listed.length === 0 && !this.opts.tokens) {
          throw refused("identity_not_listed", permissionDenied("the client certificate's identity is not in --tls-client-identities"));
        }
        for (const e of listed) for (const s of e.scopes) granted.add(s);
        presented ||= listed.length > 0;
      } else if (!this.opts.tokens) {
        for (const s of SCOPES) granted.add(s);
        presented = true;
      }
    }

    if (this.opts.tokens) {
      const header = call.metadata.get("authorization")[0];
      if (header !== undefined) {
        const m = typeof header === "string" ? BEARER.exec(header.trim()) : null;
        if (!m) throw refused("malformed_authorization", unauthenticated('the authorization metadata must be "Bearer TOKEN"'));
        const scopes = this.matchToken(m[1]!);
        if (!scopes) throw refused("invalid_token", unauthenticated("the bearer token is not valid"));
        for (const s of scopes) granted.add(s);
        presented = true;
      }
    }

    if (!presented) {
      throw refused(
        this.opts.tokens ? "no_token" : "identity_not_listed",
        unauthenticated(
          this.opts.tokens
            ? 'this provider requires a bearer token: send the metadata "authorization: Bearer TOKEN"'
            : "the client certificate's identity is not in --tls-client-identities",
        ),
      );
    }
    if (!granted.has(needed)) throw refused("missing_scope", permissionDenied(`${method} needs the "${needed}" scope, which the caller's credentials do not grant`));
  }

  /** Constant time: every token is compared, by digest, whatever matches. */
  private matchToken(token: string): ReadonlySet<Scope> | undefined {
    const digest = sha256(token);
    let found: ReadonlySet<Scope> | undefined;
    for (const entry of this.opts.tokens!.current()) {
      if (timingSafeEqual(digest, entry.digest) && !found) found = entry.scopes;
    }
    return found;
  }
}
