// CreateInstance's wait_until_running, once for every cloud: poll the
// backend's getInstance with back-off until the instance has left `pending`,
// and answer in time. The rule that matters: a caller never loses the id of a
// machine it created. So the wait never ends in an error of its own: when the
// caller's deadline comes close (too little time left for another poll and
// the reply), or the configured maximum passes, the answer is OK with the
// instance as last seen (still `pending`), and the caller polls
// GetInstanceStatus from there. A state other than pending ends the wait at
// once, `error` and `terminated` included: the create did make a machine,
// and the caller needs its id to look at it or delete it.
import { ProviderError } from "../errors";
import type { CallContext, Instance } from "../provider";

export interface WaitSettings {
  /** Upper bound on the wait, with or without a deadline (--wait-until-running-max-seconds). */
  maxWaitMs: number;
  /** First pause between polls; doubles up to maxPollMs. */
  firstPollMs?: number;
  maxPollMs?: number;
  /** Time kept free before the caller's deadline for the reply itself. */
  replyMarginMs?: number;
}

/** How a wait ended; a fixed set (a metric label). */
export type WaitOutcome = "running" | "failed" | "other" | "deadline" | "max_wait" | "poll_error";

export interface WaitResult {
  instance: Instance;
  outcome: WaitOutcome;
}

export const DEFAULT_WAIT_MAX_MS = 600_000;
const FIRST_POLL_MS = 500;
const MAX_POLL_MS = 5_000;
const REPLY_MARGIN_MS = 1_000;
/** A poll started with less time than this before answerBy would only be cut off. */
const MIN_POLL_WINDOW_MS = 250;

/** Errors worth polling through: the instance may not be visible yet (EC2 is eventually consistent), or the cloud hiccuped. */
const TRANSIENT = new Set(["NOT_FOUND", "UNAVAILABLE", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "INTERNAL"]);

function outcomeOf(status: Instance["status"]): WaitOutcome | undefined {
  if (status === "pending") return undefined;
  if (status === "running") return "running";
  if (status === "error" || status === "terminated" || status === "terminating") return "failed";
  return "other";
}

export async function waitUntilRunning(
  ctx: CallContext,
  created: Instance,
  poll: (ctx: CallContext) => Promise<Instance>,
  settings: WaitSettings,
): Promise<WaitResult> {
  const margin = settings.replyMarginMs ?? REPLY_MARGIN_MS;
  const answerBy = Math.min(Date.now() + settings.maxWaitMs, ctx.deadline ? ctx.deadline.getTime() - margin : Infinity);
  const byDeadline = ctx.deadline !== undefined && ctx.deadline.getTime() - margin <= Date.now() + settings.maxWaitMs;
  const timeUp: WaitOutcome = byDeadline ? "deadline" : "max_wait";
  let instance = created;
  let delay = settings.firstPollMs ?? FIRST_POLL_MS;
  const maxDelay = settings.maxPollMs ?? MAX_POLL_MS;

  // One signal for the whole wait: the caller leaving, or answerBy.
  const stop = new AbortController();
  const onCallerGone = () => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", onCallerGone, { once: true });
  const timer = setTimeout(() => stop.abort(TIME_UP), Math.max(0, Math.min(answerBy - Date.now(), 2 ** 31 - 1)));
  const pollCtx: CallContext = { ...ctx, signal: stop.signal };
  try {
    for (;;) {
      const settled = outcomeOf(instance.status);
      if (settled) return { instance, outcome: settled };
      if (ctx.signal.aborted) throw ctx.signal.reason;
      // The last pause is shortened so one more poll still fits before answerBy.
      const pause = Math.min(delay, answerBy - Date.now() - MIN_POLL_WINDOW_MS);
      if (stop.signal.aborted || pause <= 0) return { instance, outcome: timeUp };
      await sleep(pause, stop.signal);
      if (stop.signal.aborted) continue;
      delay = Math.min(maxDelay, delay * 2);
      try {
        const seen = await poll(pollCtx);
        // The caller must keep the id it was given, whatever a cloud answers.
        if (seen.id === created.id) instance = seen;
      } catch (err) {
        if (stop.signal.aborted) continue;
        const code = err instanceof ProviderError ? err.code : "INTERNAL";
        if (!TRANSIENT.has(code)) {
          ctx.log.warn("wait_until_running: polling failed; answering with the instance as last seen", { instance_id: created.id, code });
          return { instance, outcome: "poll_error" };
        }
      }
    }
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onCallerGone);
  }
}

const TIME_UP = new ProviderError("DEADLINE_EXCEEDED", "wait_until_running: time to answer");

/** Resolves after `ms` or when `signal` fires, whichever is first; never rejects. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
