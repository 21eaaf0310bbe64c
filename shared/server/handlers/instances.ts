// CreateInstance, the lifecycle actions (delete, start, stop, restart) and
// GetInstanceStatus.
import { instanceToWire, toTimestamp } from "../convert";
import { InstanceCreator } from "../create-instance";
import {
  checkIdempotencyKey,
  checkKeyPairName,
  checkRegion,
  checkTags,
  checkUserData,
  checkVolumeSize,
  optionalText,
  requireText,
} from "../validation";
import { instanceRef, regionOrDefault, rpc, type HandlerEnv, type HandlerGroup } from "./env";

type InstanceRpc = "CreateInstance" | "DeleteInstance" | "StartInstance" | "StopInstance" | "RestartInstance" | "GetInstanceStatus";

export function instanceHandlers(env: HandlerEnv): HandlerGroup<InstanceRpc> {
  const { backend, deps, opts } = env;
  const creator = new InstanceCreator(backend, { metrics: deps.metrics, wait: opts.waitUntilRunningMaxMs ? { maxWaitMs: opts.waitUntilRunningMaxMs } : undefined });
  return {
    CreateInstance: rpc(env, "CreateInstance", async (req, ctx, call) => {
      const fromMetadata = call.metadata.get("idempotency-key")[0];
      const regionValue = checkRegion("region", req.region, false);
      const fields = {
        name: requireText("name", req.name, 255),
        type: requireText("type", req.type, 128),
        zone: optionalText("zone", req.zone, 64),
        imageId: optionalText("image_id", req.image_id),
        tags: checkTags("tags", req.tags, backend.tagLimits, backend.provider),
        userData: checkUserData(req.user_data),
        vpcId: optionalText("vpc_id", req.vpc_id),
        subnetId: optionalText("subnet_id", req.subnet_id),
        securityGroups: (req.security_groups ?? []).map((g: string, i: number) => requireText(`security_groups[${i}]`, g)),
        publicIp: Boolean(req.public_ip),
        keyPairId: optionalText("key_pair_id", req.key_pair_id),
        keyPairName: req.key_pair_name ? checkKeyPairName("key_pair_name", req.key_pair_name) : undefined,
        rootVolumeSizeGb: checkVolumeSize(req.root_volume_size),
        rootVolumeType: optionalText("root_volume_type", req.root_volume_type, 64),
        idempotencyKey: checkIdempotencyKey(req.idempotency_key || (typeof fromMetadata === "string" ? fromMetadata : "")),
      };
      const instance = await creator.create(ctx, { ...fields, region: await regionOrDefault(env, regionValue, ctx) }, Boolean(req.wait_until_running));
      return { instance: instanceToWire(instance, backend.provider) };
    }),

    DeleteInstance: rpc(env, "DeleteInstance", async (req, ctx) => {
      const result = await backend.deleteInstance(ctx, await instanceRef(env, req, ctx));
      return { success: true, message: result.message };
    }),
    StartInstance: rpc(env, "StartInstance", async (req, ctx) => {
      const result = await backend.startInstance(ctx, await instanceRef(env, req, ctx));
      return { success: true, message: result.message };
    }),
    RestartInstance: rpc(env, "RestartInstance", async (req, ctx) => {
      const result = await backend.restartInstance(ctx, { ...(await instanceRef(env, req, ctx)), force: Boolean(req.force) });
      return { success: true, message: result.message };
    }),
    StopInstance: rpc(env, "StopInstance", async (req, ctx) => {
      const result = await backend.stopInstance(ctx, { ...(await instanceRef(env, req, ctx)), force: Boolean(req.force) });
      return { success: true, message: result.message };
    }),

    GetInstanceStatus: rpc(env, "GetInstanceStatus", async (req, ctx) => {
      const instance = await backend.getInstance(ctx, await instanceRef(env, req, ctx));
      return { instance_id: instance.id, status: instance.status, last_updated: toTimestamp(new Date()), raw_status: instance.rawStatus };
    }),
  };
}
