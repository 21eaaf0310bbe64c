// Test support: the idempotency scenario every peer is checked with. One
// caller with a short deadline starts a keyed CreateInstance, more callers
// with long deadlines send the same request while it runs, and the cloud's
// answer to the create is held (a gate the test gives) until the short
// caller has given up. The shared semantics say: the short caller gets
// DEADLINE_EXCEEDED, and every other caller the one instance created.
import type * as grpc from "@grpc/grpc-js";
import { grpcError, type ProviderClient } from "./client";

export interface RaceGate {
  /** Resolves when the cloud call is held. */
  arrived: Promise<unknown>;
  release(): void;
}

export interface RaceResult {
  /** The short caller's error. */
  short: grpc.ServiceError;
  /** The distinct instance ids the long callers got (the semantics want one). */
  ids: Set<string>;
}

export async function sameKeyRace(
  client: ProviderClient,
  request: Record<string, unknown>,
  gate: RaceGate | undefined,
  opts: { longCallers?: number; shortMs?: number; longMs?: number } = {},
): Promise<RaceResult> {
  // The short caller goes first, so it is the one that started the shared create.
  const short = grpcError(client.call("CreateInstance", request, { deadlineMs: opts.shortMs ?? 500 }));
  const long = Array.from({ length: opts.longCallers ?? 19 }, () => client.call("CreateInstance", request, { deadlineMs: opts.longMs ?? 60_000 }));
  await gate?.arrived;
  const shortError = await short;
  gate?.release();
  const answers = await Promise.all(long);
  return { short: shortError, ids: new Set(answers.map((a) => a.instance.id as string)) };
}
