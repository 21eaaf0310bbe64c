// What the Compute Engine backend can do, from its settings alone:
// GetProviderInfo answers it without loading the client libraries (the
// backend loads at the first cloud call, shared/cloud/deferred-backend.ts).
import { COMMON_CAPABILITIES, type Capabilities } from "../../shared/capabilities";

export function gcpCapabilities(opts: { project: string; authKind: string; endpoint?: string }): Capabilities {
  return {
    flags: {
      ...COMMON_CAPABILITIES,
      // instances.stop has no forced variant.
      stop_force: false,
      // A restart is instances.reset, which is always a hard reset.
      restart_force: true,
      list_all_regions_native: true,
      filters_native: true,
      public_ip: true,
      root_volume: true,
      security_groups: true,
      network_placement: true,
      user_data: true,
      // Keys live in the project's ssh-keys metadata, which has no tags.
      key_pair_tags: false,
      cost_estimates: true,
    },
    extras: { idempotency_mechanism: "request-id+metadata", key_pair_storage: "project-metadata ssh-keys", price_source: "catalog" },
    details: {
      cloud: "gce",
      project: opts.project,
      auth: opts.authKind,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      region_or_zone: "region name = all its zones; zone name = that zone",
      raw_filter_key: "filter",
      instance_image_id: "boot disk sourceImage",
    },
  };
}
