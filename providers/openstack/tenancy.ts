// Per-call credentials for OpenStack: the OS_* variables of an openrc file
// that name an identity and its project. File-based settings (OS_CACERT,
// OS_CLOUD's clouds.yaml, OS_CLIENT_CONFIG_FILE) and OS_INSECURE stay the
// operator's, and OS_CLOUD is never applied to a tenant (it would lend the
// operator's clouds.yaml credentials).
import type { TenantCredentialSpec } from "../../shared/tenancy/spec";
import { OPENSTACK_TAG_LIMITS } from "./tag-limits";

export const openstackTenancy: TenantCredentialSpec = {
  keys: [
    "OS_AUTH_URL",
    "OS_USERNAME",
    "OS_USER_ID",
    "OS_PASSWORD",
    "OS_PROJECT_ID",
    "OS_PROJECT_NAME",
    "OS_USER_DOMAIN_NAME",
    "OS_USER_DOMAIN_ID",
    "OS_PROJECT_DOMAIN_NAME",
    "OS_PROJECT_DOMAIN_ID",
    "OS_REGION_NAME",
    "OS_INTERFACE",
    "OS_APPLICATION_CREDENTIAL_ID",
    "OS_APPLICATION_CREDENTIAL_SECRET",
  ],
  inherit: ["OS_AUTH_URL", "OS_REGION_NAME", "OS_INTERFACE"],
  neverInherit: ["OS_CLOUD", "OS_CLIENT_CONFIG_FILE"],
  secrets: ["OS_PASSWORD", "OS_APPLICATION_CREDENTIAL_SECRET"],
  identities: [
    ["OS_USERNAME", "OS_PASSWORD"],
    ["OS_USER_ID", "OS_PASSWORD"],
    ["OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET"],
  ],
  endpoints: (creds) => (creds.OS_AUTH_URL ? [{ key: "OS_AUTH_URL", url: creds.OS_AUTH_URL }] : []),
  // OpenStack has no public endpoint: a tenant's own Keystone must be allowed by the operator.
  defaultAllowedEndpoints: [],
  tagLimits: OPENSTACK_TAG_LIMITS,
};
