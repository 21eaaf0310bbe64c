// The per-call credential document: metadata "x-skyclust-credentials" holds
// base64url (no padding) of a JSON object of string values, keyed by the
// provider's own environment variable names. Everything about it is bounded
// (encoded size, key count, value length) and no error ever quotes a value:
// only key names, themselves cut short.
import { invalidArgument } from "../errors";
import { quote } from "../quote";

export const CREDENTIALS_METADATA = "x-skyclust-credentials";
/** Encoded size cap: a GCE service-account key (~2.4 KB JSON) fits with room. */
export const MAX_CREDENTIALS_BYTES = 16 * 1024;
export const MAX_CREDENTIAL_KEYS = 32;
/** Unknown keys named in one error, at most. */
const MAX_NAMED_KEYS = 5;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

const refuse = (message: string) => invalidArgument(CREDENTIALS_METADATA, message);

/** Decodes and checks one document; throws INVALID_ARGUMENT naming the metadata and the fault. */
export function parseCredentialDocument(encoded: string, allowed: readonly string[]): Record<string, string> {
  if (encoded.length > MAX_CREDENTIALS_BYTES) throw refuse(`the document is ${encoded.length} bytes; at most ${MAX_CREDENTIALS_BYTES} are accepted`);
  if (encoded.length === 0) throw refuse("the document is empty");
  if (!BASE64URL.test(encoded) || encoded.length % 4 === 1) throw refuse("expected base64url without padding (alphabet A-Z a-z 0-9 - _)");
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    throw refuse("the decoded document is not JSON");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw refuse("expected a JSON object of credential variables");
  const entries = Object.entries(doc as Record<string, unknown>);
  if (entries.length > MAX_CREDENTIAL_KEYS) throw refuse(`${entries.length} keys; at most ${MAX_CREDENTIAL_KEYS} are accepted`);
  const permitted = new Set(allowed);
  const unknown = entries.map(([k]) => k).filter((k) => !permitted.has(k));
  if (unknown.length > 0) {
    const named = unknown.slice(0, MAX_NAMED_KEYS).map((k) => quote(k, 40)).join(", ");
    const more = unknown.length > MAX_NAMED_KEYS ? ` and ${unknown.length - MAX_NAMED_KEYS} more` : "";
    throw refuse(`unknown key${unknown.length > 1 ? "s" : ""} ${named}${more}; this provider accepts ${allowed.join(", ")}`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    // The value is never quoted: it may be a secret.
    if (typeof value !== "string") throw refuse(`${key} must be a string`);
    if (value === "") throw refuse(`${key} is empty`);
    out[key] = value;
  }
  return out;
}

/** Encodes a document (clients and tests). */
export function encodeCredentialDocument(creds: Record<string, string>): string {
  return Buffer.from(JSON.stringify(creds), "utf8").toString("base64url");
}
