// Per-call credentials for Compute Engine: a service-account key (its file's
// content) or a ready access token with its project. Only keys of type
// "service_account" are accepted from callers: they sign their own JWTs and
// call nothing but the Compute endpoint, whereas other key types
// (external_account, authorized_user) make the auth library fetch token and
// credential URLs, or read files, that the document names. A path in
// GOOGLE_APPLICATION_CREDENTIALS stays the operator's and is never lent.
import { ConfigError } from "../../shared/config";
import type { TenantCredentialSpec } from "../../shared/tenancy/spec";
import { parseCredentialsJson } from "./credentials-json";
import { GCP_TAG_LIMITS } from "./tag-limits";

const KEY = "GOOGLE_APPLICATION_CREDENTIALS_JSON";

export const gcpTenancy: TenantCredentialSpec = {
  keys: [KEY, "GOOGLE_OAUTH_ACCESS_TOKEN", "GCP_PROJECT_ID", "GCP_ENDPOINT", "GCP_REGION"],
  inherit: ["GCP_ENDPOINT", "GCP_REGION"],
  neverInherit: ["GOOGLE_APPLICATION_CREDENTIALS"],
  secrets: [KEY, "GOOGLE_OAUTH_ACCESS_TOKEN"],
  identities: [[KEY], ["GOOGLE_OAUTH_ACCESS_TOKEN", "GCP_PROJECT_ID"]],
  nestedSecrets(creds) {
    try {
      const key = JSON.parse(creds[KEY] ?? "null") as Record<string, unknown> | null;
      return ["private_key", "client_secret", "refresh_token"].map((f) => key?.[f]).filter((v): v is string => typeof v === "string");
    } catch {
      return [];
    }
  },
  check(creds) {
    const text = creds[KEY];
    if (text === undefined) return;
    const key = parseCredentialsJson(text, KEY);
    if (key.type !== "service_account") throw new ConfigError(`${KEY}: only service_account keys are accepted per call`);
    if (typeof key.client_email !== "string" || typeof key.private_key !== "string") throw new ConfigError(`${KEY}: the key lacks client_email or private_key`);
  },
  endpoints: (creds) => (creds.GCP_ENDPOINT ? [{ key: "GCP_ENDPOINT", url: creds.GCP_ENDPOINT.includes("://") ? creds.GCP_ENDPOINT : `https://${creds.GCP_ENDPOINT}` }] : []),
  defaultAllowedEndpoints: ["https://compute.googleapis.com", "https://*.googleapis.com"],
  tagLimits: GCP_TAG_LIMITS,
};
