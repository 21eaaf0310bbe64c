// Test support: IAM users in moto, and switching moto's IAM enforcement on.
// moto checks signatures and IAM policies for every request once its
// no-auth allowance (INITIAL_NO_AUTH_ACTION_COUNT, infinite by default) is
// spent; /moto-api/reset-auth sets that allowance at run time, which is how
// moto's own set_initial_no_auth_action_count works against a server. So a
// test creates its users while moto is open, then sets the allowance to 0.
// The IAM Query API is called directly (no IAM SDK dependency for tests):
// unsigned requests are accepted while the allowance lasts.

export interface AccessKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

async function iam(motoUrl: string, params: Record<string, string>): Promise<string> {
  const res = await fetch(motoUrl, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      // moto routes by the credential scope's service name.
      authorization: "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({ Version: "2010-05-08", ...params }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto IAM ${params.Action} failed: ${res.status} ${text.slice(0, 500)}`);
  return text;
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/** Creates `name` with `policy` as its only (inline) policy and returns a fresh access key. */
export async function createIamUser(motoUrl: string, name: string, policy: object): Promise<AccessKeys> {
  await iam(motoUrl, { Action: "CreateUser", UserName: name });
  await iam(motoUrl, { Action: "PutUserPolicy", UserName: name, PolicyName: `${name}-policy`, PolicyDocument: JSON.stringify(policy) });
  return createAccessKey(motoUrl, name);
}

export async function createAccessKey(motoUrl: string, user: string): Promise<AccessKeys> {
  const xml = await iam(motoUrl, { Action: "CreateAccessKey", UserName: user });
  const accessKeyId = tag(xml, "AccessKeyId");
  const secretAccessKey = tag(xml, "SecretAccessKey");
  if (!accessKeyId || !secretAccessKey) throw new Error(`moto CreateAccessKey answered no key: ${xml.slice(0, 500)}`);
  return { accessKeyId, secretAccessKey };
}

/** From now on moto authenticates and authorizes every request. */
export async function enforceIam(motoUrl: string): Promise<void> {
  const res = await fetch(`${motoUrl}/moto-api/reset-auth`, { method: "POST", body: "0" });
  if (!res.ok) throw new Error(`moto reset-auth failed: ${res.status}`);
}

/** A policy allowing every action: the test's own setup user. */
export const ALLOW_ALL = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
