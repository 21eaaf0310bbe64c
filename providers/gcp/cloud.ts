// Builds the real backend from settings. Every setting (project, endpoint,
// key file) is checked here, at start; the Compute Engine client libraries
// (gax, google-auth-library, the generated clients) load at the first cloud
// call (shared/cloud/deferred-backend.ts), so neither sandbox mode nor a
// real-mode start evaluates them.
import { DeferredBackend } from "../../shared/cloud/deferred-backend";
import { ConfigError, str, type Settings } from "../../shared/config";
import type { Logger } from "../../shared/log";
import type { Secrets } from "../../shared/secrets";
import { healthTimeoutMs } from "../../shared/cloud/health-probe";
import type { GcpBackendOptions } from "./backend";
import { gcpCapabilities } from "./capabilities";
import { checkAuthSource, describeAuth, parseCredentialsJson, parseEndpoint, readCredentialsFile, type AuthSource } from "./credentials";
import { gcpLoginUsers } from "./login-users";
import { GCP_TAG_LIMITS } from "./tag-limits";

export function authSourceFrom(settings: Settings, secrets?: Secrets): AuthSource {
  const token = str(settings, "access-token");
  if (token) return { kind: "access-token", token: secrets?.get("access-token") ?? token };
  const json = str(settings, "credentials-json");
  if (json) return { kind: "key-file", path: "GOOGLE_APPLICATION_CREDENTIALS_JSON", key: parseCredentialsJson(json, "GOOGLE_APPLICATION_CREDENTIALS_JSON") };
  const file = str(settings, "credentials-file");
  if (file) return { kind: "key-file", path: file, key: readCredentialsFile(file) };
  return { kind: "application-default" };
}

export async function createGcpBackend(settings: Settings, log: Logger, secrets?: Secrets): Promise<DeferredBackend> {
  const source = authSourceFrom(settings, secrets);
  checkAuthSource(source);
  const keyFile = str(settings, "credentials-file");
  const keyProject = source.kind === "key-file" ? source.key.project_id : keyFile ? readCredentialsFile(keyFile).project_id : undefined;
  const project = str(settings, "project") ?? keyProject;
  if (!project) throw new ConfigError("GCP_PROJECT_ID (--project) is required: the key file names no project_id");
  const endpointText = str(settings, "endpoint");
  const endpoint = endpointText ? parseEndpoint(endpointText) : undefined;
  const authKind = describeAuth(source);
  const options: Omit<GcpBackendOptions, "clients"> = {
    project,
    defaultRegion: str(settings, "region") ?? "us-central1",
    authKind,
    endpoint: endpointText,
    log,
    healthTimeoutMs: healthTimeoutMs(settings),
  };
  log.info("Compute Engine backend ready", { project, auth: authKind, endpoint: endpointText ?? "https://compute.googleapis.com" });
  return new DeferredBackend(
    {
      provider: "gcp",
      defaultRegion: options.defaultRegion,
      tagLimits: GCP_TAG_LIMITS,
      loginUsers: gcpLoginUsers,
      capabilities: () => gcpCapabilities(options),
      listsAllRegions: true,
    },
    async () => {
      const [{ GcpBackend }, { buildAuth }, { createClients }] = await Promise.all([import("./backend"), import("./connection"), import("./gce-api")]);
      return new GcpBackend({ ...options, clients: createClients(buildAuth(source), endpoint) });
    },
  );
}
