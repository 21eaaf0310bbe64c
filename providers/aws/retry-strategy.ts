// EC2 under the shared retry policy (shared/cloud/retry.ts). The AWS SDK
// runs its own attempt loop (and counts $metadata.attempts); this strategy,
// given to every EC2Client, makes that loop ask the shared policy whether
// and how long to wait, so EC2 backs off like every other cloud: full
// jitter, Retry-After honoured up to the cap, never a wait that ends after
// the caller's deadline (read from the call scope). EC2 keeps only its
// classifier: the SDK's own reading of an error (throttling, transient,
// server or client error).
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from "@smithy/types";
import { currentCall } from "../../shared/cloud/call-scope";
import type { RetryPolicy, RetryVerdict } from "../../shared/cloud/retry";

/** EC2's classifier, from the SDK's error type. */
export function ec2RetryVerdict(info: RetryErrorInfo): RetryVerdict | undefined {
  const retryAfterMs = info.retryAfterHint ? Math.max(0, info.retryAfterHint.getTime() - Date.now()) : undefined;
  if (info.errorType === "THROTTLING") return { reason: "throttled", notExecuted: true, retryAfterMs };
  if (info.errorType === "TRANSIENT" || info.errorType === "SERVER_ERROR") return { reason: "transient", retryAfterMs };
  return undefined;
}

const token = (retries: number, delayMs: number): RetryToken => ({ getRetryCount: () => retries, getRetryDelay: () => delayMs });

export class SharedPolicyRetryStrategy implements RetryStrategyV2 {
  readonly mode = "skyclust-shared-policy";

  constructor(private readonly policy: RetryPolicy) {}

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return token(0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const verdict = ec2RetryVerdict(info);
    const attempts = previous.getRetryCount() + 1;
    // Every EC2 call this provider makes is safe to repeat: reads, and
    // writes EC2 de-duplicates (RunInstances carries a ClientToken) or that
    // end in the same state (start, stop, reboot, terminate, delete).
    const delay = verdict && this.policy.nextDelay(attempts, verdict, { idempotent: true, deadline: currentCall()?.deadline });
    // Throwing ends the SDK's loop with the last error.
    if (delay === undefined || !verdict) throw info.error ?? new Error("not retried");
    return token(attempts, delay);
  }

  recordSuccess(): void {}
}
