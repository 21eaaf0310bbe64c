// The GCP Compute Engine provider: flags, credentials and the backend factory.
import { str, type Settings } from "../../shared/config";
import type { ProviderDefinition } from "../../shared/definition";
import { gcpSandboxProfile } from "./sandbox-profile";
import { gcpIdentity } from "./provider-id";
import { gcpTenancy } from "./tenancy";

export const gcpProvider: ProviderDefinition = {
  ...gcpIdentity,
  flags: [
    { name: "project", kind: "string", env: "GCP_PROJECT_ID", help: "project id (default: the key file's project_id)" },
    { name: "region", kind: "string", env: "GCP_REGION", default: "us-central1", help: "default region (a region means all its zones; a zone name means that zone)" },
    { name: "credentials-file", kind: "string", env: "GOOGLE_APPLICATION_CREDENTIALS", help: "service-account key file (JSON); without it and without a token, Application Default Credentials" },
    {
      name: "credentials-json",
      kind: "string",
      env: "GOOGLE_APPLICATION_CREDENTIALS_JSON",
      secret: true,
      help: "the service-account key file's content, instead of a path (containers, per-call credentials)",
    },
    { name: "access-token", kind: "string", env: "GOOGLE_OAUTH_ACCESS_TOKEN", secret: true, help: "a ready OAuth2 access token (wins over the key file)" },
    { name: "endpoint", kind: "string", env: "GCP_ENDPOINT", help: "Compute Engine API endpoint, e.g. http://127.0.0.1:8080 for a local server (default https://compute.googleapis.com)" },
  ],
  helpFooter:
    "GCP credentials: GOOGLE_OAUTH_ACCESS_TOKEN (or GOOGLE_OAUTH_ACCESS_TOKEN_FILE, re-read when it changes), else the service-account key in GOOGLE_APPLICATION_CREDENTIALS (signs self-signed JWTs),\n" +
    "else Application Default Credentials (gcloud auth application-default login, or the metadata server on Google Cloud).",
  missingCredentials(settings: Settings) {
    // Credentials may come from Application Default Credentials, which cannot
    // be checked without a network call; the project cannot.
    if (!str(settings, "project") && !str(settings, "credentials-file") && !str(settings, "credentials-json")) return ["GCP_PROJECT_ID (or GOOGLE_APPLICATION_CREDENTIALS with a service-account key naming project_id)"];
    return [];
  },
  tenancy: gcpTenancy,
  sandboxProfile: (settings) => gcpSandboxProfile(str(settings, "region") ?? "us-central1"),
  async createCloudBackend(settings, log, secrets) {
    const { createGcpBackend } = await import("./cloud");
    return createGcpBackend(settings, log, secrets);
  },
};
