// The provider registry: every cloud this repository builds, in one list,
// for the scripts and tests (build, start-all, bench, the deployment and
// container checks, the shared test suites). Adding a cloud is its folder
// plus one line here (and its Dockerfile stage, compose service and
// Kubernetes manifest, which scripts/deployment.test.ts checks against
// this list).
//
// Only scripts and tests import this file. A provider binary starts from
// providers/<name>/main.ts, which imports its own folder and shared/ only
// (providers/registry.test.ts proves it), so no binary bundles another
// cloud's code. Entries hold the identity (a few constants) and load the
// full definition lazily.
import type { ProviderDefinition } from "../shared/definition";
import { awsIdentity } from "./aws/provider-id";
import { gcpIdentity } from "./gcp/provider-id";
import { openstackIdentity } from "./openstack/provider-id";
import { proxmoxIdentity } from "./proxmox/provider-id";

export interface ProviderEntry {
  /** "aws": the folder, the Dockerfile stage provider-NAME, the compose service, the manifest NAME.yaml. */
  readonly name: string;
  readonly displayName: string;
  readonly defaultPort: number;
  /** The binary's entry point, relative to the repository root. */
  readonly entry: string;
  /** The compiled binary's file name. */
  readonly binary: string;
  /** The full definition (flags, backends), imported on first use. */
  load(): Promise<ProviderDefinition>;
}

function entry(identity: { name: string; displayName: string; defaultPort: number }, load: () => Promise<ProviderDefinition>): ProviderEntry {
  return { ...identity, entry: `providers/${identity.name}/main.ts`, binary: `skyclust-${identity.name}-provider`, load };
}

export const PROVIDERS: readonly ProviderEntry[] = [
  entry(awsIdentity, async () => (await import("./aws/definition")).awsProvider),
  entry(gcpIdentity, async () => (await import("./gcp/definition")).gcpProvider),
  entry(openstackIdentity, async () => (await import("./openstack/definition")).openstackProvider),
  entry(proxmoxIdentity, async () => (await import("./proxmox/definition")).proxmoxProvider),
];

export const PROVIDER_NAMES: readonly string[] = PROVIDERS.map((p) => p.name);

/** The entry named `name`; throws naming the known ones. */
export function providerEntry(name: string): ProviderEntry {
  const found = PROVIDERS.find((p) => p.name === name);
  if (!found) throw new Error(`unknown provider "${name}" (known: ${PROVIDER_NAMES.join(", ")})`);
  return found;
}

/** Every provider's full definition, in registry order. */
export const loadAllDefinitions = (): Promise<ProviderDefinition[]> => Promise.all(PROVIDERS.map((p) => p.load()));
