// What each RPC needs. `read` looks, `write` changes the cloud (machines,
// key pairs), `ssh` reaches into machines (private key config, commands,
// tunnels). Health and reflection are not listed: they stay open so probes
// and grpcurl discovery work without credentials.
export const SCOPES = ["read", "write", "ssh"] as const;
export type Scope = (typeof SCOPES)[number];

export const METHOD_SCOPES: Record<string, Scope> = {
  GetProviderInfo: "read",
  ListInstances: "read",
  GetInstanceStatus: "read",
  ListRegions: "read",
  GetCostEstimate: "read",
  HealthCheck: "read",
  ListKeyPairs: "read",
  CreateInstance: "write",
  DeleteInstance: "write",
  StartInstance: "write",
  StopInstance: "write",
  RestartInstance: "write",
  CreateKeyPair: "write",
  ImportKeyPair: "write",
  DeleteKeyPair: "write",
  GetInstanceSSHConfig: "ssh",
  ExecuteInstanceCommand: "ssh",
  CreateInstanceSSHTunnel: "ssh",
  CloseInstanceSSHTunnel: "ssh",
  WatchInstances: "read",
  TunnelInstancePort: "ssh",
};

export function isScope(word: string): word is Scope {
  return (SCOPES as readonly string[]).includes(word);
}
