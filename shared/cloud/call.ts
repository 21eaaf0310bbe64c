// One cloud request as every backend makes it: retried by the shared policy
// (shared/cloud/retry.ts) and observed once, with its attempts and throttled
// answers (shared/telemetry/cloud.ts).
import type { CallContext } from "../provider";
import { observeCloudCall, type CloudCallInfo } from "../telemetry/cloud";
import { newRetryStats, type RetryCall, type RetryPolicy } from "./retry";

export function retriedCloudCall<T>(
  ctx: Pick<CallContext, "telemetry">,
  info: CloudCallInfo,
  policy: RetryPolicy,
  call: RetryCall,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  const stats = newRetryStats();
  return observeCloudCall(ctx, info, () => policy.run(call, attempt, stats), { stats });
}
