// Where the OpenStack connection settings come from: flags/OS_* variables
// first, then the named cloud of a clouds.yaml (OS_CLOUD), the way the
// `openstack` CLI reads them. This module only reads files and YAML, so the
// definition can check credentials without loading the backend.
import { rememberSecret } from "../../shared/cloud/scrub";
import { type SecretValue, type Secrets } from "../../shared/secrets";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { str, type FlagSpec, type Settings } from "../../shared/config";

export const OPENSTACK_FLAGS: FlagSpec[] = [
  { name: "auth-url", kind: "string", env: "OS_AUTH_URL", help: "Keystone v3 URL, e.g. https://keystone.example.com:5000/v3" },
  { name: "username", kind: "string", env: "OS_USERNAME", help: "user name (password auth)" },
  { name: "user-id", kind: "string", env: "OS_USER_ID", help: "user id, instead of --username" },
  { name: "password", kind: "string", env: "OS_PASSWORD", secret: true, help: "password" },
  { name: "project-id", kind: "string", env: "OS_PROJECT_ID", help: "project (tenant) id to scope the token to" },
  { name: "project-name", kind: "string", env: "OS_PROJECT_NAME", help: "project name, instead of --project-id" },
  { name: "user-domain-name", kind: "string", env: "OS_USER_DOMAIN_NAME", help: "domain of the user, by name" },
  { name: "user-domain-id", kind: "string", env: "OS_USER_DOMAIN_ID", help: 'domain of the user, by id (both unset: "default")' },
  { name: "project-domain-name", kind: "string", env: "OS_PROJECT_DOMAIN_NAME", help: "domain of the project, by name" },
  { name: "project-domain-id", kind: "string", env: "OS_PROJECT_DOMAIN_ID", help: 'domain of the project, by id (both unset: "default")' },
  { name: "region", kind: "string", env: "OS_REGION_NAME", help: 'default region (else clouds.yaml region_name, else "RegionOne")' },
  { name: "interface", kind: "string", env: "OS_INTERFACE", help: 'catalog endpoint interface: public, internal or admin (default "public")' },
  { name: "application-credential-id", kind: "string", env: "OS_APPLICATION_CREDENTIAL_ID", help: "application credential id (instead of a password)" },
  { name: "application-credential-secret", kind: "string", env: "OS_APPLICATION_CREDENTIAL_SECRET", secret: true, help: "application credential secret" },
  { name: "cacert", kind: "string", env: "OS_CACERT", help: "PEM file of the CA that signed the OpenStack endpoints' certificates" },
  { name: "insecure", kind: "boolean", env: "OS_INSECURE", help: "do not verify the endpoints' TLS certificates (testing only)" },
  { name: "cloud", kind: "string", env: "OS_CLOUD", help: "read this cloud's settings from clouds.yaml (flags and OS_* variables win)" },
  { name: "clouds-file", kind: "string", env: "OS_CLIENT_CONFIG_FILE", help: "clouds.yaml path (default: ./clouds.yaml, ~/.config/openstack/, /etc/openstack/)" },
];

export type AuthMethod =
  | {
      kind: "password";
      userId?: string;
      username?: string;
      userDomainId?: string;
      userDomainName?: string;
      /** A live value when it comes from OS_PASSWORD_FILE. */
      password: SecretValue;
      projectId?: string;
      projectName?: string;
      projectDomainId?: string;
      projectDomainName?: string;
    }
  | { kind: "application_credential"; id: string; secret: SecretValue };

export interface OpenStackConfig {
  authUrl: string;
  auth: AuthMethod;
  region: string;
  /** False when `region` is only the "RegionOne" fallback (then a catalog with one other compute region wins). */
  regionExplicit?: boolean;
  /** "public", "internal" or "admin". */
  interface: string;
  caCertFile?: string;
  insecure: boolean;
  /** The clouds.yaml entry the settings came from, for logs. */
  cloudName?: string;
}

export interface ResolvedConfig {
  config?: OpenStackConfig;
  /** Settings/variables a complete form still needs (empty when config is set). */
  missing: string[];
}

/** clouds.yaml `auth:` keys and top-level keys, mapped to our flag names. */
const AUTH_KEYS: Record<string, string> = {
  auth_url: "auth-url",
  username: "username",
  user_id: "user-id",
  password: "password",
  project_id: "project-id",
  tenant_id: "project-id",
  project_name: "project-name",
  tenant_name: "project-name",
  user_domain_name: "user-domain-name",
  user_domain_id: "user-domain-id",
  project_domain_name: "project-domain-name",
  project_domain_id: "project-domain-id",
  application_credential_id: "application-credential-id",
  application_credential_secret: "application-credential-secret",
};
const TOP_KEYS: Record<string, string> = { region_name: "region", interface: "interface", cacert: "cacert" };

export function cloudsFileCandidates(settings: Settings, env: Record<string, string | undefined>, fileName = "clouds.yaml"): string[] {
  const explicit = fileName === "clouds.yaml" ? str(settings, "clouds-file") : undefined;
  if (explicit) return [explicit];
  const home = env.HOME || homedir();
  return [join(process.cwd(), fileName), join(home, ".config/openstack", fileName), join("/etc/openstack", fileName)];
}

function readYaml(path: string): Record<string, any> | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = Bun.YAML.parse(readFileSync(path, "utf8"));
  return parsed && typeof parsed === "object" ? (parsed as Record<string, any>) : undefined;
}

export class CloudsYamlError extends Error {}

/**
 * The named cloud's settings from the first clouds.yaml holding it, merged
 * with secure.yaml (where the CLI keeps passwords), keyed by our flag names.
 */
export function loadCloudSettings(cloud: string, settings: Settings, env: Record<string, string | undefined>): Settings {
  const searched = cloudsFileCandidates(settings, env);
  let found: Record<string, any> | undefined;
  for (const path of searched) {
    let doc: Record<string, any> | undefined;
    try {
      doc = readYaml(path);
    } catch (err) {
      throw new CloudsYamlError(`${path} is not valid YAML: ${(err as Error).message}`);
    }
    found = doc?.clouds?.[cloud];
    if (found) break;
  }
  if (!found) throw new CloudsYamlError(`cloud "${cloud}" is not in ${searched.join(", ")}`);
  let entry: Record<string, any> = found;
  for (const path of cloudsFileCandidates({}, env, "secure.yaml")) {
    const secure = (() => {
      try {
        return readYaml(path);
      } catch {
        return undefined;
      }
    })()?.clouds?.[cloud];
    if (secure) entry = { ...secure, ...entry, auth: { ...(secure.auth ?? {}), ...(entry.auth ?? {}) } };
  }
  const out: Settings = {};
  for (const [key, flag] of Object.entries(AUTH_KEYS)) {
    const v = entry.auth?.[key];
    if (v !== undefined && v !== null && v !== "") out[flag] = String(v);
  }
  for (const [key, flag] of Object.entries(TOP_KEYS)) {
    const v = entry[key];
    if (v !== undefined && v !== null && v !== "") out[flag] = String(v);
  }
  // clouds.yaml spells "do not verify" as verify: false.
  if (entry.verify === false || entry.insecure === true) out.insecure = true;
  return out;
}

/** Accepts "public", "publicURL", "internalURL", ... and returns the short form. */
export function normalizeInterface(value: string | undefined): string {
  const v = (value ?? "public").trim().replace(/URL$/i, "").toLowerCase();
  return v === "" ? "public" : v;
}

/** Resolves a complete credential form, or says what is missing. */
export function resolveConfig(settings: Settings, env: Record<string, string | undefined> = process.env): ResolvedConfig {
  const cloud = str(settings, "cloud");
  let merged: Settings = settings;
  if (cloud) {
    let fromFile: Settings;
    try {
      fromFile = loadCloudSettings(cloud, settings, env);
    } catch (err) {
      if (err instanceof CloudsYamlError) return { missing: [`OS_CLOUD (${err.message})`] };
      throw err;
    }
    merged = { ...fromFile };
    for (const [k, v] of Object.entries(settings)) if (v !== undefined && v !== "") merged[k] = v;
  }
  const get = (name: string) => str(merged, name);
  const authUrl = get("auth-url");
  const common = {
    region: get("region") ?? "RegionOne",
    regionExplicit: get("region") !== undefined,
    interface: normalizeInterface(get("interface")),
    caCertFile: get("cacert"),
    insecure: merged.insecure === true,
    cloudName: cloud,
  };
  const appId = get("application-credential-id");
  if (appId || get("application-credential-secret")) {
    const missing = [
      !authUrl && "OS_AUTH_URL",
      !appId && "OS_APPLICATION_CREDENTIAL_ID",
      !get("application-credential-secret") && "OS_APPLICATION_CREDENTIAL_SECRET",
    ].filter(Boolean) as string[];
    if (missing.length) return { missing };
    return { missing: [], config: { ...common, authUrl: authUrl!, auth: { kind: "application_credential", id: appId!, secret: get("application-credential-secret")! } } };
  }
  const missing = [
    !authUrl && "OS_AUTH_URL",
    !get("username") && !get("user-id") && "OS_USERNAME",
    !get("password") && "OS_PASSWORD",
    !get("project-id") && !get("project-name") && "OS_PROJECT_ID (or OS_PROJECT_NAME)",
  ].filter(Boolean) as string[];
  if (missing.length) return { missing };
  // Keystone needs a domain next to every name; "default" is what devstack,
  // Kolla and the CLI's own examples use when none is given.
  const named = (id?: string, name?: string) => (id || name ? { id, name } : { id: "default", name: undefined });
  const userDomain = named(get("user-domain-id"), get("user-domain-name"));
  const projectDomain = named(get("project-domain-id"), get("project-domain-name"));
  return {
    missing: [],
    config: {
      ...common,
      authUrl: authUrl!,
      auth: {
        kind: "password",
        userId: get("user-id"),
        username: get("username"),
        userDomainId: userDomain.id,
        userDomainName: userDomain.name,
        password: get("password")!,
        projectId: get("project-id"),
        projectName: get("project-name"),
        projectDomainId: projectDomain.id,
        projectDomainName: projectDomain.name,
      },
    },
  };
}

/**
 * Swaps the secret in `config` for its live value when it was given as a
 * flag or variable (OS_PASSWORD_FILE and OS_APPLICATION_CREDENTIAL_SECRET_FILE
 * included), so a rotated file reaches Keystone on the next token request.
 * A secret that came from clouds.yaml / secure.yaml stays as read.
 */
export function withLiveSecrets(config: OpenStackConfig, settings: Settings, secrets: Secrets): OpenStackConfig {
  const auth = config.auth;
  // A password from clouds.yaml / secure.yaml is a credential of this process
  // too (flags and _FILE values are remembered by shared/secrets.ts).
  const fromFile = auth.kind === "password" ? auth.password : auth.secret;
  if (typeof fromFile === "string") rememberSecret(fromFile);
  if (auth.kind === "password" && str(settings, "password")) return { ...config, auth: { ...auth, password: secrets.get("password") ?? auth.password } };
  if (auth.kind === "application_credential" && str(settings, "application-credential-secret")) {
    return { ...config, auth: { ...auth, secret: secrets.get("application-credential-secret") ?? auth.secret } };
  }
  return config;
}
