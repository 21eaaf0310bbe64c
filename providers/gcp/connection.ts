// How the Compute Engine clients authenticate: every client shares one
// GoogleAuth built from a real google-auth-library client, so what runs in
// tests is what runs in production. Loaded with the backend, at the first
// cloud call; the settings were checked at start (credentials.ts).
import { GoogleAuth, JWT, OAuth2Client } from "google-auth-library";
import { reveal, type SecretValue } from "../../shared/secrets";
import { checkAuthSource, type AuthSource } from "./credentials";

export const COMPUTE_SCOPES = ["https://www.googleapis.com/auth/compute"];

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
  // Already checked at start; checked again so no caller can skip it.
  checkAuthSource(source);
  if (source.kind === "access-token") return new GoogleAuth({ authClient: new LiveTokenClient(source.token) });
  if (source.kind === "key-file") {
    const key = source.key;
    if (key.type === "service_account") {
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
