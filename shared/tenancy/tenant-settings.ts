// A tenant's settings: the operator's settings (timeouts, retries, catalogs,
// inherited endpoints and region) with every credential setting of the
// process removed, then the tenant's document applied through the
// provider's own flag declarations, exactly as if it had been the process
// environment. Removing first is what keeps a tenant from ever running on
// the process's identity (or reading a _FILE the operator configured).
import { ConfigError, parseArgs, type FlagSpec, type Settings } from "../config";
import { invalidArgument } from "../errors";
import { CREDENTIALS_METADATA } from "./credential-document";
import type { TenantCredentialSpec } from "./spec";

const baseVariable = (env: string) => (env.endsWith("_FILE") ? env.slice(0, -"_FILE".length) : env);

export function tenantSettings(flags: FlagSpec[], spec: TenantCredentialSpec, processSettings: Settings, creds: Readonly<Record<string, string>>): Settings {
  const out: Settings = { ...processSettings };
  for (const flag of flags) {
    if (!flag.env) continue;
    const base = baseVariable(flag.env);
    if (spec.neverInherit?.includes(base)) delete out[flag.name];
    if (!spec.keys.includes(base)) continue;
    if (!spec.inherit.includes(base) || creds[base] !== undefined) delete out[flag.name];
  }
  const given = flags.filter((f) => f.env && !f.env.endsWith("_FILE") && creds[f.env] !== undefined);
  try {
    Object.assign(out, parseArgs(given, [], creds).settings);
  } catch (err) {
    if (err instanceof ConfigError) throw invalidArgument(CREDENTIALS_METADATA, err.message);
    throw err;
  }
  return out;
}
