// What the provider is told about reaching Compute Engine, checked at start
// without the client libraries: the endpoint (Google's, or an override such
// as http://127.0.0.1:PORT for a local server) and the credentials' source.
// connection.ts turns them into a google-auth-library client when the
// backend loads, at the first cloud call (shared/cloud/deferred-backend.ts).
import { readFileSync } from "node:fs";
import { rememberSecret } from "../../shared/cloud/scrub";
import { ConfigError } from "../../shared/config";
import type { SecretValue } from "../../shared/secrets";
import { parseCredentialsJson, type ServiceAccountKey } from "./credentials-json";

export { parseCredentialsJson, type ServiceAccountKey };

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
 * Refuses, at start, a key the auth client could not use, and makes the
 * key's secrets credentials of this process: gone from every error and log
 * line, before any cloud call could echo them.
 */
export function checkAuthSource(source: AuthSource): void {
  if (source.kind !== "key-file") return;
  const key = source.key;
  for (const field of ["private_key", "client_secret", "refresh_token"]) {
    const value = (key as Record<string, unknown>)[field];
    if (typeof value === "string") rememberSecret(value);
  }
  if (key.type === "service_account" && (!key.client_email || !key.private_key)) {
    throw new ConfigError("GOOGLE_APPLICATION_CREDENTIALS: the service-account key lacks client_email or private_key");
  }
}
