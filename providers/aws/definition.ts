// The AWS EC2 provider: flags, credentials and the backend factory.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { str, type Settings } from "../../shared/config";
import type { ProviderDefinition } from "../../shared/definition";
import { awsSandboxProfile } from "./sandbox-profile";

export const awsProvider: ProviderDefinition = {
  name: "aws",
  displayName: "AWS EC2",
  defaultPort: 50051,
  flags: [
    { name: "region", kind: "string", env: "AWS_REGION", default: "us-east-1", help: "default region" },
  ],
  helpFooter: [
    "Credentials: the AWS SDK's standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    "(and AWS_SESSION_TOKEN), AWS_PROFILE with ~/.aws/config and ~/.aws/credentials, web identity",
    "(AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), container and instance roles.",
  ].join("\n"),
  missingCredentials(_settings: Settings, env) {
    const home = env.HOME ?? homedir();
    const hasChain =
      (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) ||
      env.AWS_PROFILE ||
      env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
      env.AWS_EC2_METADATA_DISABLED === "false" ||
      existsSync(env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials"));
    return hasChain ? [] : ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or AWS_WEB_IDENTITY_TOKEN_FILE)"];
  },
  sandboxProfile: (settings) => awsSandboxProfile(str(settings, "region") ?? "us-east-1"),
  async createCloudBackend() {
    throw new Error("the real EC2 backend is not part of this build yet; use --sandbox");
  },
};
