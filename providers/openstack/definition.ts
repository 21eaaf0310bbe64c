// The OpenStack Nova provider: flags, credentials and the backend factory.
import { str, type Settings } from "../../shared/config";
import type { ProviderDefinition } from "../../shared/definition";
import { openstackSandboxProfile } from "./sandbox-profile";

export const openstackProvider: ProviderDefinition = {
  name: "openstack",
  displayName: "OpenStack Nova",
  defaultPort: 50053,
  flags: [
    { name: "auth-url", kind: "string", env: "OS_AUTH_URL", help: "Keystone v3 URL" },
    { name: "username", kind: "string", env: "OS_USERNAME", help: "user name" },
    { name: "password", kind: "string", env: "OS_PASSWORD", secret: true, help: "password" },
    { name: "project-id", kind: "string", env: "OS_PROJECT_ID", help: "project id" },
    { name: "region", kind: "string", env: "OS_REGION_NAME", default: "RegionOne", help: "default region" },
  ],
  missingCredentials(settings: Settings) {
    return ["auth-url", "username", "password", "project-id"]
      .filter((n) => !str(settings, n))
      .map((n) => ({ "auth-url": "OS_AUTH_URL", username: "OS_USERNAME", password: "OS_PASSWORD", "project-id": "OS_PROJECT_ID" })[n]!);
  },
  sandboxProfile: (settings) => openstackSandboxProfile(str(settings, "region") ?? "RegionOne"),
  async createCloudBackend() {
    throw new Error("the real Nova backend is not part of this build yet; use --sandbox");
  },
};
