// Per-call credentials for EC2: the variables the provider already reads.
// AWS_ROLE_ARN makes the tenant's keys assume that role (the STS endpoint
// stays the operator's, --sts-endpoint / AWS_ENDPOINT_URL_STS).
import type { TenantCredentialSpec } from "../../shared/tenancy/spec";
import { AWS_TAG_LIMITS } from "./tag-limits";

export const awsTenancy: TenantCredentialSpec = {
  keys: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_REGION", "AWS_ENDPOINT_URL_EC2"],
  inherit: ["AWS_REGION", "AWS_ENDPOINT_URL_EC2"],
  secrets: ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"],
  identities: [["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]],
  endpoints: (creds) => (creds.AWS_ENDPOINT_URL_EC2 ? [{ key: "AWS_ENDPOINT_URL_EC2", url: creds.AWS_ENDPOINT_URL_EC2 }] : []),
  defaultAllowedEndpoints: ["https://*.amazonaws.com", "https://*.amazonaws.com.cn"],
  tagLimits: AWS_TAG_LIMITS,
};
