// What the EC2 backend can do, from its settings alone: GetProviderInfo
// answers it without loading the EC2 SDK (the backend loads at the first
// cloud call, shared/cloud/deferred-backend.ts).
import { COMMON_CAPABILITIES, type Capabilities } from "../../shared/capabilities";

export function awsCapabilities(opts: { endpoint?: string; regionEndpoints: Record<string, string> }): Capabilities {
  return {
    flags: {
      ...COMMON_CAPABILITIES,
      stop_force: true,
      // RebootInstances has no hard variant.
      restart_force: false,
      list_all_regions_native: false,
      filters_native: true,
      public_ip: true,
      root_volume: true,
      security_groups: true,
      network_placement: true,
      user_data: true,
      key_pair_tags: true,
      cost_estimates: true,
    },
    extras: { idempotency_mechanism: "client-token+tag", key_pair_storage: "ec2", price_source: "catalog" },
    details: { endpoint: opts.endpoint || Object.keys(opts.regionEndpoints).length > 0 ? "custom" : "aws" },
  };
}
