// AWS_ROLE_ARN with static keys: act as the role, the cross-account pattern
// (a platform's keys, each workspace's role). The keys sign sts:AssumeRole;
// the temporary credentials it returns sign EC2 calls and are renewed five
// minutes before they expire, by one AssumeRole however many calls want
// them at that moment.
import { AssumeRoleCommand, STSClient } from "@aws-sdk/nested-clients/sts";
import { rememberSessionSecret } from "../../shared/cloud/scrub";

const RENEW_BEFORE_MS = 5 * 60_000;
const SESSION_SECONDS = 3600;

export interface AssumeRoleOptions {
  roleArn: string;
  region: string;
  /** STS endpoint override (moto, LocalStack, a VPC endpoint); default: the SDK's regional STS. */
  endpoint?: string;
  sessionName?: string;
}

type KeysProvider = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;

/** `keys` are the long-lived keys that may assume the role (backend.ts liveCredentials). */
export function assumedRoleCredentials(keys: KeysProvider, opts: AssumeRoleOptions) {
  const sts = new STSClient({ region: opts.region, endpoint: opts.endpoint, credentials: keys, maxAttempts: 3 });
  let current: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date } | undefined;
  let pending: Promise<NonNullable<typeof current>> | undefined;
  const renew = async () => {
    const r = await sts.send(new AssumeRoleCommand({ RoleArn: opts.roleArn, RoleSessionName: opts.sessionName ?? "skyclust", DurationSeconds: SESSION_SECONDS }));
    const c = r.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("sts:AssumeRole returned no credentials");
    rememberSessionSecret(c.SecretAccessKey);
    rememberSessionSecret(c.SessionToken);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };
  const provider = async () => {
    if (current && (!current.expiration || current.expiration.getTime() - Date.now() > RENEW_BEFORE_MS)) return current;
    pending ??= renew().finally(() => (pending = undefined));
    current = await pending;
    return current;
  };
  return Object.assign(provider, { memoized: true });
}
