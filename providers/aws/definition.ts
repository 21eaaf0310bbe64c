// The AWS EC2 provider: flags, credentials and the backend factory.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { healthTimeoutMs } from "../../shared/cloud/health-probe";
import { ConfigError, num, str, type Settings } from "../../shared/config";
import type { ProviderDefinition } from "../../shared/definition";
import { DeferredBackend } from "../../shared/cloud/deferred-backend";
import type { AwsBackendOptions } from "./backend";
import { awsCapabilities } from "./capabilities";
import { awsLoginUsers } from "./login-users";
import { awsSandboxProfile } from "./sandbox-profile";
import { AWS_TAG_LIMITS } from "./tag-limits";
import { awsIdentity } from "./provider-id";
import { awsTenancy } from "./tenancy";

function checkUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${source}: "${value}" is not a URL (for example http://127.0.0.1:5000)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(`${source}: the endpoint must be http:// or https://`);
  return value;
}

/** "us-east-1=http://a,eu-west-1=http://b" -> { region: url }. */
export function parseRegionEndpoints(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (value ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--region-endpoints: expected REGION=URL, got "${item}"`);
    out[item.slice(0, eq).trim()] = checkUrl(item.slice(eq + 1).trim(), `--region-endpoints ${item.slice(0, eq).trim()}`);
  }
  return out;
}

function stsEndpoint(settings: Settings): string | undefined {
  const url = str(settings, "sts-endpoint");
  return url ? checkUrl(url, "--sts-endpoint") : undefined;
}

export const awsProvider: ProviderDefinition = {
  ...awsIdentity,
  flags: [
    { name: "region", kind: "string", env: "AWS_REGION", default: "us-east-1", help: "default region" },
    {
      name: "endpoint",
      kind: "string",
      env: "AWS_ENDPOINT_URL_EC2",
      help: "EC2 endpoint URL for every region (moto, LocalStack); when unset the SDK also honours AWS_ENDPOINT_URL and a profile's endpoint_url",
    },
    {
      name: "region-endpoints",
      kind: "string",
      env: "SKYCLUST_AWS_REGION_ENDPOINTS",
      default: "",
      help: "REGION=URL[,REGION=URL...]: EC2 endpoint for single regions (VPC endpoints, tests); beats --endpoint",
    },
    { name: "access-key-id", kind: "string", env: "AWS_ACCESS_KEY_ID", fileForm: true, help: "static access key id (else the SDK credential chain)" },
    { name: "secret-access-key", kind: "string", env: "AWS_SECRET_ACCESS_KEY", secret: true, help: "secret for --access-key-id (prefer the variable)" },
    { name: "session-token", kind: "string", env: "AWS_SESSION_TOKEN", secret: true, help: "session token for temporary keys (prefer the variable)" },
    { name: "role-arn", kind: "string", env: "AWS_ROLE_ARN", help: "with static keys: act as this role through sts:AssumeRole (cross-account); without them the SDK chain's web identity uses it" },
    { name: "sts-endpoint", kind: "string", env: "AWS_ENDPOINT_URL_STS", help: "STS endpoint for --role-arn (moto, LocalStack, a VPC endpoint); default the regional STS" },
    { name: "max-attempts", kind: "number", env: "AWS_MAX_ATTEMPTS", default: 3, help: "attempts per EC2 call incl. retries with backoff (throttling, 5xx)" },
    { name: "regions-cache-seconds", kind: "number", env: "SKYCLUST_AWS_REGIONS_CACHE_SECONDS", default: 300, help: "how long the DescribeRegions answer is reused" },
    { name: "health-timeout-seconds", kind: "number", env: "SKYCLUST_AWS_HEALTH_TIMEOUT_SECONDS", help: "HealthCheck's time budget for EC2 only, in seconds (default: --health-timeout-ms)" },
  ],
  helpFooter: [
    "Credentials: --access-key-id/--secret-access-key (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, each also as a",
    "_FILE that is re-read when it changes)",
    "when set, else the AWS SDK's standard chain: AWS_PROFILE with ~/.aws/config and ~/.aws/credentials, web identity",
    "(AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, e.g. Kubernetes service accounts), container and instance roles.",
    "Endpoint precedence: --region-endpoints > --endpoint / AWS_ENDPOINT_URL_EC2 > AWS_ENDPOINT_URL > profile endpoint_url.",
  ].join("\n"),
  missingCredentials(settings: Settings, env) {
    const home = env.HOME ?? homedir();
    const hasChain =
      (str(settings, "access-key-id") && str(settings, "secret-access-key")) ||
      env.AWS_PROFILE ||
      env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
      env.AWS_EC2_METADATA_DISABLED === "false" ||
      existsSync(env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials"));
    return hasChain ? [] : ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or AWS_WEB_IDENTITY_TOKEN_FILE)"];
  },
  tenancy: awsTenancy,
  sandboxProfile: (settings) => awsSandboxProfile(str(settings, "region") ?? "us-east-1"),
  async createCloudBackend(settings, log, secrets) {
    const endpoint = str(settings, "endpoint");
    if (endpoint) checkUrl(endpoint, "--endpoint");
    const regionEndpoints = parseRegionEndpoints(str(settings, "region-endpoints"));
    const accessKeyId = str(settings, "access-key-id");
    const secretAccessKey = str(settings, "secret-access-key");
    const maxAttempts = num(settings, "max-attempts") ?? 3;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) throw new ConfigError("--max-attempts: expected 1 to 20");
    const options: AwsBackendOptions = {
      defaultRegion: str(settings, "region") ?? "us-east-1",
      endpoint,
      regionEndpoints,
      credentials:
        accessKeyId && secretAccessKey
          ? { accessKeyId: secrets.require("access-key-id"), secretAccessKey: secrets.require("secret-access-key"), sessionToken: secrets.get("session-token") }
          : undefined,
      assumeRole: accessKeyId && secretAccessKey && str(settings, "role-arn") ? { roleArn: str(settings, "role-arn")!, stsEndpoint: stsEndpoint(settings) } : undefined,
      maxAttempts,
      regionsCacheMs: Math.max(0, num(settings, "regions-cache-seconds") ?? 300) * 1000,
      zonesConcurrency: Math.max(1, num(settings, "fanout-concurrency") ?? 32),
      // The older AWS-only setting still wins when set.
      healthTimeoutMs: num(settings, "health-timeout-seconds") !== undefined ? Math.max(0.1, num(settings, "health-timeout-seconds")!) * 1000 : healthTimeoutMs(settings),
      log,
    };
    // The EC2 SDK (and the price catalog) load at the first cloud call, never
    // at start: sandbox mode and --help never load them, and a real-mode
    // start does not wait for them. Every setting is checked above.
    return new DeferredBackend(
      {
        provider: "aws",
        defaultRegion: options.defaultRegion,
        tagLimits: AWS_TAG_LIMITS,
        loginUsers: awsLoginUsers,
        capabilities: () => awsCapabilities(options),
        listsAllRegions: false,
      },
      async () => new (await import("./backend")).AwsEc2Backend(options),
    );
  },
};
