#!/usr/bin/env bun
// A client dialing exactly like the SkyClust platform: keepalive pings every
// 10 s with a 3 s timeout, also without active calls, round_robin. It makes a
// call, stays idle for IDLE_MS, makes another call, and prints a JSON
// summary of every connectivity change. Run with GRPC_TRACE=keepalive
// GRPC_VERBOSITY=DEBUG so the parent can count the pings in stderr.
//   bun shared/testing/keepalive-client.ts ADDRESS IDLE_MS
import * as grpc from "@grpc/grpc-js";
import { ProviderClient } from "./client";

export const PLATFORM_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 3_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
};

if (import.meta.main) {
  const [address, idle] = process.argv.slice(2);
  const idleMs = Number(idle ?? 65_000);
  const client = new ProviderClient(address!, grpc.credentials.createInsecure(), PLATFORM_CHANNEL_OPTIONS);
  const channel = client.raw.getChannel();
  const transitions: string[] = [];
  let done = false;
  const watch = () => {
    const state = channel.getConnectivityState(false);
    channel.watchConnectivityState(state, Infinity, () => {
      if (done) return;
      transitions.push(grpc.connectivityState[channel.getConnectivityState(false)]!);
      watch();
    });
  };
  await client.call("GetProviderInfo");
  watch();
  await Bun.sleep(idleMs);
  const second = await client.call("GetProviderInfo").then(
    () => "ok",
    (e: grpc.ServiceError) => `error ${e.code}`,
  );
  console.log(JSON.stringify({ transitions, second }));
  done = true;
  client.close();
  process.exit(0);
}
