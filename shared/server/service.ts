// CloudProviderService: validates each request, applies defaults, resolves
// the region, wraps cursors into page tokens and fans "*" out across
// regions (unless the backend lists every region at once), then calls the
// backend. It is the same for every cloud. Each group of RPCs has its own
// module in handlers/; the handler map is typed from the proto
// (shared/grpc/types), so a missing RPC or a wrong field is a compile error.
import type { CloudProviderServiceHandlers } from "../grpc/types/skyclust/provider/v1/CloudProviderService";
import type { CallDeps } from "./calls";
import { handlerEnv, type ServiceOptions } from "./handlers/env";
import { infoHandlers } from "./handlers/info";
import { instanceHandlers } from "./handlers/instances";
import { keyPairHandlers } from "./handlers/key-pairs";
import { listingHandlers } from "./handlers/listing";
import { sshHandlers } from "./handlers/ssh";

export type { ServiceOptions };

/** Every unary RPC; the streaming TunnelInstancePort is served by tunnel-stream.ts. */
export type UnaryProviderHandlers = Omit<CloudProviderServiceHandlers, "TunnelInstancePort">;

export function buildProviderService(deps: CallDeps, opts: ServiceOptions): UnaryProviderHandlers {
  const env = handlerEnv(deps, opts);
  return {
    ...infoHandlers(env),
    ...listingHandlers(env),
    ...instanceHandlers(env),
    ...sshHandlers(env),
    ...keyPairHandlers(env),
  };
}
