// A service-account key file's JSON, checked for shape. Its own module so
// that per-call credential checks (tenancy.ts, part of the provider's
// definition) do not evaluate google-auth-library at every start, sandbox
// included (~10 ms), as importing it from connection.ts did.
import { ConfigError } from "../../shared/config";

export interface ServiceAccountKey {
  type?: string;
  project_id?: string;
  private_key_id?: string;
  private_key?: string;
  client_email?: string;
}

/** A key file's content; `what` names where it came from. Never echoes the text: it holds a private key. */
export function parseCredentialsJson(text: string, what: string): ServiceAccountKey {
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    throw new ConfigError(`${what} is not a JSON key file`);
  }
  if (typeof key !== "object" || key === null || Array.isArray(key)) throw new ConfigError(`${what} is not a JSON key file`);
  return key as ServiceAccountKey;
}
