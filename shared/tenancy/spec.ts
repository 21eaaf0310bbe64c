// What a provider declares so one process can serve many tenants: which
// credential keys a caller may send (the environment variable names the
// provider already reads, so an operator's mental model carries over),
// which of them are secrets, which endpoints they name, and which keys
// together make a complete identity.
import type { Settings } from "../config";
import type { TagLimits } from "../provider";

export interface TenantCredentialSpec {
  /** Every key a credential document may hold; anything else is refused. */
  keys: readonly string[];
  /**
   * Keys the tenant may leave out and then inherits from the operator's
   * own settings (endpoints, region): the operator configured them, so they
   * are trusted. Every other credential setting of the process is cleared
   * for a tenant, so no tenant ever borrows the process's identity.
   */
  inherit: readonly string[];
  /**
   * Operator settings that are never applied to a tenant although no tenant
   * may send them: ones that would hand the tenant the process's identity
   * (OS_CLOUD reads the operator's clouds.yaml, GOOGLE_APPLICATION_CREDENTIALS
   * the operator's key file).
   */
  neverInherit?: readonly string[];
  /** Keys whose values are secrets: remembered by the scrubber, never echoed. */
  secrets: readonly string[];
  /** Secrets inside a value (a key file's private key), in the form they would be echoed. */
  nestedSecrets?(creds: Readonly<Record<string, string>>): string[];
  /**
   * At least one of these key sets must be complete: a tenant always brings
   * its own identity and never falls through to ambient credentials (an
   * instance role, Application Default Credentials, ~/.aws).
   */
  identities: readonly (readonly string[])[];
  /**
   * Refuses documents the provider may not act on for a caller (throws
   * ConfigError naming the key, never quoting a value): e.g. a credential
   * type that would read files or call URLs of the caller's choosing.
   */
  check?(creds: Readonly<Record<string, string>>): void;
  /** The URLs a document makes the provider connect to (checked against the allow-list). */
  endpoints(creds: Readonly<Record<string, string>>): { key: string; url: string }[];
  /** Public endpoints allowed when the operator sets no --allowed-endpoints. */
  defaultAllowedEndpoints: readonly string[];
  /**
   * Moves the tenant's on-disk state (a key pair store) to its own place,
   * given the tenant's settings; absent when the provider keeps none.
   */
  scope?(settings: Settings, tenant: string): void | Promise<void>;
  /** The provider's tag limits, for validation when the process has no backend of its own. */
  tagLimits: TagLimits;
}
