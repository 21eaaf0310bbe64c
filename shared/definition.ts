// What a provider folder hands to the shared main: its name and port, its
// own flags and credential variables, its sandbox profile, and a factory for
// the real cloud backend (imported lazily, so sandbox mode and --help never
// load a cloud SDK).
import type { FlagSpec, Settings } from "./config";
import type { Logger } from "./log";
import type { CloudBackend } from "./provider";
import type { SandboxProfile } from "./sandbox/profile";
import type { Secrets } from "./secrets";
import type { TenantCredentialSpec } from "./tenancy/spec";

export interface ProviderDefinition {
  /** "aws", "gcp", "openstack", "proxmox". */
  name: string;
  /** For --help, e.g. "AWS EC2". */
  displayName: string;
  defaultPort: number;
  /** Provider-specific flags and variables (credentials, endpoint, region). */
  flags: FlagSpec[];
  /** Lines appended to --help (credential chains, examples). */
  helpFooter?: string;
  /**
   * Names of the settings/variables that are missing for cloud mode, empty
   * when the backend can start. Shown to the user with the --sandbox hint.
   */
  missingCredentials(settings: Settings, env: Record<string, string | undefined>): string[];
  sandboxProfile(settings: Settings): SandboxProfile;
  /**
   * `secrets` holds the live value of every secret setting that is set: a
   * backend reads it at each cloud call, so a rotated secret file takes
   * effect without a restart.
   */
  createCloudBackend(settings: Settings, log: Logger, secrets: Secrets): Promise<CloudBackend>;
  /**
   * Per-call credentials (--per-call-credentials): the keys a tenant may
   * send and what they mean. Absent = the provider serves one identity only.
   */
  tenancy?: TenantCredentialSpec;
}
