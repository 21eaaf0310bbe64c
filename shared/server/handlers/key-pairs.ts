// CreateKeyPair, ImportKeyPair, ListKeyPairs and DeleteKeyPair.
import { invalidArgument } from "../../errors";
import { keyPairToWire } from "../convert";
import { checkKeyPairName, checkRegion, checkStringMap, checkTags, requireText } from "../validation";
import { regionOrDefault, rpc, type HandlerEnv, type HandlerGroup } from "./env";

type KeyPairRpc = "CreateKeyPair" | "ImportKeyPair" | "ListKeyPairs" | "DeleteKeyPair";

export function keyPairHandlers(env: HandlerEnv): HandlerGroup<KeyPairRpc> {
  const { backend, ssh } = env;
  // Every field is checked before the default region is resolved (it may
  // ask the cloud), so bad input never waits for it.
  return {
    CreateKeyPair: rpc(env, "CreateKeyPair", async (req, ctx) => {
      const keyType = (req.key_type ?? "") === "" ? "ed25519" : req.key_type;
      if (keyType !== "ed25519" && keyType !== "rsa") throw invalidArgument("key_type", `must be "ed25519" or "rsa"`);
      const name = checkKeyPairName("key_pair_name", req.key_pair_name);
      const regionValue = checkRegion("region", req.region, false);
      const tags = checkTags("tags", req.tags, backend.tagLimits, backend.provider);
      const created = await backend.createKeyPair(ctx, { name, region: await regionOrDefault(env, regionValue, ctx), tags, keyType });
      // Lets the operator keep the key for the SSH RPCs (--ssh-keep-created-keys).
      await ssh.keyPairCreated?.(ctx, { name: created.keyPair.name, region: created.keyPair.region, privateKey: created.privateKey });
      return { key_pair: keyPairToWire(created.keyPair), private_key: created.privateKey };
    }),

    ImportKeyPair: rpc(env, "ImportKeyPair", async (req, ctx) => {
      const name = checkKeyPairName("key_pair_name", req.key_pair_name);
      const regionValue = checkRegion("region", req.region, false);
      const publicKey = requireText("public_key", req.public_key, 16 * 1024);
      const tags = checkTags("tags", req.tags, backend.tagLimits, backend.provider);
      const keyPair = await backend.importKeyPair(ctx, { name, region: await regionOrDefault(env, regionValue, ctx), publicKey, tags });
      return { key_pair: keyPairToWire(keyPair) };
    }),

    ListKeyPairs: rpc(env, "ListKeyPairs", async (req, ctx) => {
      const regionValue = checkRegion("region", req.region, false);
      const filters = checkStringMap("filters", req.filters);
      const keyPairs = await backend.listKeyPairs(ctx, { region: await regionOrDefault(env, regionValue, ctx), filters });
      return { key_pairs: keyPairs.map(keyPairToWire) };
    }),

    DeleteKeyPair: rpc(env, "DeleteKeyPair", async (req, ctx) => {
      const name = checkKeyPairName("key_pair_name", req.key_pair_name);
      const regionValue = checkRegion("region", req.region, false);
      const result = await backend.deleteKeyPair(ctx, { name, region: await regionOrDefault(env, regionValue, ctx) });
      return { success: true, message: result.message };
    }),
  };
}
