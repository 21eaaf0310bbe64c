// The GCP Compute Engine provider: flags, credentials and the backend factory.
import { str, type Settings } from "../../shared/config";
import type { ProviderDefinition } from "../../shared/definition";
import { gcpSandboxProfile } from "./sandbox-profile";

export const gcpProvider: ProviderDefinition = {
  name: "gcp",
  displayName: "GCP Compute Engine",
  defaultPort: 50052,
  flags: [
    { name: "project", kind: "string", env: "GCP_PROJECT_ID", help: "project id (default: the key file's project_id)" },
    { name: "region", kind: "string", env: "GCP_REGION", default: "us-central1", help: "default region" },
    { name: "credentials-file", kind: "string", env: "GOOGLE_APPLICATION_CREDENTIALS", help: "service-account key file (JSON)" },
  ],
  missingCredentials(settings: Settings, env) {
    const missing: string[] = [];
    if (!str(settings, "credentials-file") && !env.GOOGLE_OAUTH_ACCESS_TOKEN) missing.push("GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_OAUTH_ACCESS_TOKEN)");
    if (!str(settings, "project") && !str(settings, "credentials-file")) missing.push("GCP_PROJECT_ID");
    return missing;
  },
  sandboxProfile: (settings) => gcpSandboxProfile(str(settings, "region") ?? "us-central1"),
  async createCloudBackend() {
    throw new Error("the real Compute Engine backend is not part of this build yet; use --sandbox");
  },
};
