// How the Compute Engine clients reach the API: which endpoint (Google's, or
// an override such as http://127.0.0.1:PORT for a local server) and which
// credentials. Every client shares one GoogleAuth built from a real
// google-auth-library client, so what runs in tests is what runs in
// production.
import { readFileSync } from "node:fs";
import { GoogleAuth, JWT, OAuth2Client } from "google-auth-library";
import { rememberSecret } from "../../shared/cloud/scrub";
import { ConfigError } from "../../shared/config";
import { parseCredentialsJson, type ServiceAccountKey } from "./credentials-json";
import { reveal, type SecretValue } from "../../shared/secrets";

export { parseCredentialsJson, type ServiceAccountKey };

export const COMPUTE_SCOPES = ["https://www.googleapis.com/auth/compute"];

export interface Endpoint {
  /** Host name only; gax appends ":port" itself. */
  host: string;
  port: number;
  protocol: "http" | "https";
}

/** Parses GCP_ENDPOINT / --endpoint: "https://compute.example:443" or "http://127.0.0.1:PORT". */
export function parseEndpoint(value: string): Endpoint {
  let url: URL;
  try {
    url = new URL(value.includes("://") ? value : `https://${value}`);
  } catch {
    throw new ConfigError(`--endpoint / GCP_ENDPOINT: "${value}" is not a URL such as https://compute.googleapis.com or http://127.0.0.1:8080`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(`--endpoint / GCP_ENDPOINT: only http:// and https:// are supported`);
  // The client library builds "<protocol>://<host>:<port>/compute/v1/...",
  // so a path prefix on the endpoint cannot be honoured: refuse it loudly.
  if (url.pathname !== "/" && url.pathname !== "") throw new ConfigError(`--endpoint / GCP_ENDPOINT: must not have a path ("${url.pathname}")`);
  const protocol = url.protocol === "http:" ? "http" : "https";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port ? Number(url.port) : protocol === "http" ? 80 : 443;
  return { host, port, protocol };
}

export function readCredentialsFile(path: string): ServiceAccountKey {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`GOOGLE_APPLICATION_CREDENTIALS: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
  return parseCredentialsJson(text, `GOOGLE_APPLICATION_CREDENTIALS: ${path}`);
}


export type AuthSource =
  | { kind: "access-token"; token: SecretValue }
  | { kind: "key-file"; path: string; key: ServiceAccountKey }
  | { kind: "application-default" };

/** What the capabilities and logs may say about the credentials (never the secret). */
export function describeAuth(source: AuthSource): string {
  if (source.kind === "access-token") return "access-token";
  if (source.kind === "key-file") return source.key.type === "service_account" ? "service-account-key" : `key-file:${source.key.type ?? "unknown"}`;
  return "application-default";
}

/**
 * A ready access token, looked up before every request: when it comes from
 * GOOGLE_OAUTH_ACCESS_TOKEN_FILE (a token minted outside, e.g. by a sidecar
 * or Vault's GCP secrets engine, and rewritten before it expires), the next
 * request carries the new one. Requests already sent keep theirs.
 */
class LiveTokenClient extends OAuth2Client {
  constructor(private readonly token: SecretValue) {
    super();
    this.sync();
  }

  private sync(): void {
    const token = reveal(this.token);
    if (this.credentials.access_token !== token) this.setCredentials({ access_token: token });
  }

  override getAccessToken() {
    this.sync();
    return super.getAccessToken();
  }

  protected override getRequestMetadataAsync(url?: string | URL | null) {
    this.sync();
    return super.getRequestMetadataAsync(url);
  }
}

/**
 * Builds the GoogleAuth all clients share.
 * - A service-account key signs self-signed JWTs carrying the compute scope
 *   (useJWTAccessWithScope): no token exchange, so it also works against an
 *   endpoint override, and it is what Google's own client libraries do.
 * - A ready access token is sent as is (GOOGLE_OAUTH_ACCESS_TOKEN).
 * - Anything else goes through Application Default Credentials.
 */
export function buildAuth(source: AuthSource): GoogleAuth {
  if (source.kind === "access-token") return new GoogleAuth({ authClient: new LiveTokenClient(source.token) });
  if (source.kind === "key-file") {
    const key = source.key;
    // The key's secrets are credentials of this process: gone from every error and log line.
    for (const field of ["private_key", "client_secret", "refresh_token"]) {
      const value = (key as Record<string, unknown>)[field];
      if (typeof value === "string") rememberSecret(value);
    }
    if (key.type === "service_account") {
      if (!key.client_email || !key.private_key) throw new ConfigError("GOOGLE_APPLICATION_CREDENTIALS: the service-account key lacks client_email or private_key");
      const jwt = new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: COMPUTE_SCOPES });
      jwt.useJWTAccessWithScope = true;
      return new GoogleAuth({ authClient: jwt });
    }
    // authorized_user, external_account, ...: the library knows these.
    const loader = new GoogleAuth({ scopes: COMPUTE_SCOPES });
    const client = loader.fromJSON(key as Record<string, unknown> as never);
    return new GoogleAuth({ authClient: client });
  }
  const auth = new GoogleAuth({ scopes: COMPUTE_SCOPES });
  auth.useJWTAccessWithScope = true;
  return auth;
}
