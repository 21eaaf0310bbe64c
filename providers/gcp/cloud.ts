// Builds the real backend from settings. Imported lazily by definition.ts so
// sandbox mode and --help never load the Compute Engine SDK.
import { ConfigError, str, type Settings } from "../../shared/config";
import type { Logger } from "../../shared/log";
import type { Secrets } from "../../shared/secrets";
import { healthTimeoutMs } from "../../shared/cloud/health-probe";
import { GcpBackend } from "./backend";
import { buildAuth, describeAuth, parseCredentialsJson, parseEndpoint, readCredentialsFile, type AuthSource } from "./connection";
import { createClients } from "./gce-api";

export function authSourceFrom(settings: Settings, secrets?: Secrets): AuthSource {
  const token = str(settings, "access-token");
  if (token) return { kind: "access-token", token: secrets?.get("access-token") ?? token };
  const json = str(settings, "credentials-json");
  if (json) return { kind: "key-file", path: "GOOGLE_APPLICATION_CREDENTIALS_JSON", key: parseCredentialsJson(json, "GOOGLE_APPLICATION_CREDENTIALS_JSON") };
  const file = str(settings, "credentials-file");
  if (file) return { kind: "key-file", path: file, key: readCredentialsFile(file) };
  return { kind: "application-default" };
}

export async function createGcpBackend(settings: Settings, log: Logger, secrets?: Secrets): Promise<GcpBackend> {
  const source = authSourceFrom(settings, secrets);
  const keyFile = str(settings, "credentials-file");
  const keyProject = source.kind === "key-file" ? source.key.project_id : keyFile ? readCredentialsFile(keyFile).project_id : undefined;
  const project = str(settings, "project") ?? keyProject;
  if (!project) throw new ConfigError("GCP_PROJECT_ID (--project) is required: the key file names no project_id");
  const endpointText = str(settings, "endpoint");
  const endpoint = endpointText ? parseEndpoint(endpointText) : undefined;
  const clients = createClients(buildAuth(source), endpoint);
  const authKind = describeAuth(source);
  log.info("Compute Engine backend ready", { project, auth: authKind, endpoint: endpointText ?? "https://compute.googleapis.com" });
  return new GcpBackend({
    project,
    defaultRegion: str(settings, "region") ?? "us-central1",
    clients,
    authKind,
    endpoint: endpointText,
    log,
    healthTimeoutMs: healthTimeoutMs(settings),
  });
}
