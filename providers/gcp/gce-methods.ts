// The Compute Engine v1 methods the provider calls, by service. The build
// keeps the descriptors of these methods only (bundle-plugin.ts: the
// messages the other methods of the same services reach are most of the
// package's protos.json), and gce-api.ts narrows each client's type to them,
// so calling another method fails type-checking rather than only in the
// compiled binary. A method called through a client's innerApiCalls (the
// aggregated lists, for their raw response) is listed here too.
export const GCE_METHODS = {
  Instances: ["get", "insert", "start", "stop", "reset", "delete", "list", "aggregatedList"],
  Disks: ["aggregatedList"],
  ZoneOperations: ["wait"],
  GlobalOperations: ["wait"],
  Regions: ["list", "get"],
  Projects: ["get", "setCommonInstanceMetadata"],
} as const;

export type GceService = keyof typeof GCE_METHODS;
export type GceMethod<S extends GceService> = (typeof GCE_METHODS)[S][number];
