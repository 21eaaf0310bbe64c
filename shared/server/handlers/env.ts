// What every handler group shares: the backend, the SSH service, the call
// plumbing, and the typed link between an RPC name and its generated
// request/response types (shared/grpc/types, from proto/).
import type * as grpc from "@grpc/grpc-js";
import type { CloudProviderServiceHandlers } from "../../grpc/types/skyclust/provider/v1/CloudProviderService";
import type { CallContext, CloudBackend, InstanceRef } from "../../provider";
import type { SshService } from "../../ssh/types";
import { unary, type CallDeps, type UnaryHandler } from "../calls";
import { checkRegion, requireText } from "../validation";
import { RegionsCache } from "./regions-cache";

export interface ServiceOptions {
  backend: CloudBackend;
  ssh: SshService;
  version: string;
  /** Regions listed at once by a "*" listing. */
  fanoutConcurrency: number;
  /** The capabilities the server itself adds (shared/capabilities.ts SERVER_CAPABILITY_KEYS; mode and default_region come from the backend). */
  serverCapabilities: Record<"reflection" | "tls", string>;
  /** Longest wait_until_running, deadline or not (default 10 min). */
  waitUntilRunningMaxMs?: number;
  /** Per-region budget of a "*" fan-out when the caller set no deadline (default 10 s). */
  fanoutRegionTimeoutMs?: number;
  /** The server's one region cache, shared with WatchInstances; absent = a cache of the service's own. */
  regions?: RegionsCache;
}

/** The RPC names of CloudProviderService (the handler map without grpc-js's index signature). */
export type RpcName = keyof { [K in keyof CloudProviderServiceHandlers as string extends K ? never : K]: true };
type HandlerOf<M extends RpcName> = CloudProviderServiceHandlers[M];
/** A request as proto-loader decodes it (keepCase, defaults on: every field present). */
export type RequestOf<M extends RpcName> = HandlerOf<M> extends grpc.handleUnaryCall<infer Req, unknown> ? Req : never;
/** A response as the handler may answer it (omitted fields become proto3 defaults). */
export type ResponseOf<M extends RpcName> = HandlerOf<M> extends grpc.handleUnaryCall<never, infer Res> ? Res : never;
/** A group of handlers (instances, SSH, ...): the service is their union. */
export type HandlerGroup<M extends RpcName> = Pick<CloudProviderServiceHandlers, M>;

export interface HandlerEnv {
  readonly deps: CallDeps;
  readonly backend: CloudBackend;
  readonly ssh: SshService;
  readonly opts: ServiceOptions;
  /** The available regions, reused for a few seconds (see RegionsCache). */
  readonly regions: RegionsCache;
}

export function handlerEnv(deps: CallDeps, opts: ServiceOptions): HandlerEnv {
  return { deps, backend: opts.backend, ssh: opts.ssh, opts, regions: opts.regions ?? new RegionsCache(opts.backend) };
}

/** One RPC: its name ties the handler to the generated request and response types. */
export function rpc<M extends RpcName>(env: HandlerEnv, name: M, handler: UnaryHandler<RequestOf<M>, ResponseOf<M>>): grpc.handleUnaryCall<RequestOf<M>, ResponseOf<M>> {
  return unary<RequestOf<M>, ResponseOf<M>>(name, env.deps, handler);
}

/**
 * The backend's default region; asked of the cloud when the backend learns
 * it there (CloudBackend.resolveDefaultRegion), which only the first such
 * call waits for.
 */
export async function defaultRegionOf(backend: CloudBackend, signal: AbortSignal): Promise<string> {
  return backend.resolveDefaultRegion ? backend.resolveDefaultRegion(signal) : backend.defaultRegion;
}

/**
 * An empty region means the backend's default region. Call it after the
 * request's other fields are checked: bad input never waits for the cloud.
 */
export async function regionOrDefault(env: HandlerEnv, value: string, ctx: CallContext): Promise<string> {
  return value === "" ? defaultRegionOf(env.backend, ctx.signal) : value;
}

/** instance_id and region of a request that names one instance. */
export async function instanceRef(env: HandlerEnv, req: { instance_id: string; region: string }, ctx: CallContext): Promise<InstanceRef> {
  const instanceId = requireText("instance_id", req.instance_id);
  const region = checkRegion("region", req.region, false);
  return { instanceId, region: await regionOrDefault(env, region, ctx) };
}
