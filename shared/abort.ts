// Waiting that respects a call's AbortSignal: every backend polls or backs
// off somewhere, and none of them may outlive the caller's deadline.
import { abortError } from "./errors";

/** Resolves after `ms`, or rejects with the signal's error as soon as it fires. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
