// The one health probe every backend's healthCheck runs: a few cheap real
// calls to the cloud, one after another, each under one time budget (the
// configured --health-timeout-ms, default 3 s, and never beyond the
// caller's deadline). It never throws: a failure becomes a check entry
// ("failed: UNAVAILABLE: ...") and healthy=false, with upstream text
// scrubbed and bounded, so a probe can neither hang a health endpoint nor
// carry a secret or a megabyte of error page into it.
import { ConfigError, num, type FlagSpec, type Settings } from "../config";
import { ProviderError } from "../errors";
import type { CallContext, HealthReport } from "../provider";
import { bounded } from "../quote";
import { scrubUpstream } from "./scrub";

export const DEFAULT_HEALTH_TIMEOUT_MS = 3_000;
const MAX_HEALTH_TIMEOUT_MS = 60_000;
/** Bytes kept of one check's text and of the report's message. */
const MAX_CHECK_TEXT = 300;
const MAX_MESSAGE = 512;

export const HEALTH_TIMEOUT_FLAG: FlagSpec = {
  name: "health-timeout-ms",
  kind: "number",
  env: "SKYCLUST_HEALTH_TIMEOUT_MS",
  default: DEFAULT_HEALTH_TIMEOUT_MS,
  help: "time budget of the HealthCheck RPC's calls to the cloud (never beyond the caller's deadline)",
};

/** The configured probe budget, checked at start-up. */
export function healthTimeoutMs(settings: Settings): number {
  const ms = num(settings, HEALTH_TIMEOUT_FLAG.name) ?? DEFAULT_HEALTH_TIMEOUT_MS;
  if (!(ms >= 1 && ms <= MAX_HEALTH_TIMEOUT_MS)) throw new ConfigError(`--health-timeout-ms: expected 1 to ${MAX_HEALTH_TIMEOUT_MS}, got ${ms}`);
  return ms;
}

export interface ProbeCheck {
  /** The key in HealthReport.checks, e.g. "cloud_api", "keystone". */
  name: string;
  /** A cheap real call; resolves to a short description of what answered. */
  run: (ctx: CallContext) => Promise<string>;
}

export interface ProbeOptions {
  timeoutMs: number;
  /** Says what answered, e.g. "Compute Engine API reachable"; or built from the checks' answers. */
  healthyMessage: string | ((answers: string[]) => string);
  /** Says what failed, e.g. "Compute Engine API check failed"; the first failure is appended. */
  unhealthyMessage: string;
  /** Facts reported either way (auth kind, TLS mode, endpoint): no secrets. */
  facts?: Record<string, string>;
}

/** Why a check failed, for its entry: the code and the (scrubbed) message, nothing else of the error. */
function describeFailure(err: unknown, budgetMs: number, timedOut: boolean): string {
  if (timedOut) return `UNAVAILABLE: no answer within ${budgetMs} ms`;
  if (err instanceof ProviderError) return `${err.code}: ${err.message}`;
  // Not a mapped error: its text may be anything (a stack, a request dump); say only that it happened.
  return "INTERNAL: unexpected error";
}

/** Runs `checks` in order under one budget; the first failure skips the rest. */
export async function probeHealth(ctx: CallContext, checks: ProbeCheck[], opts: ProbeOptions): Promise<HealthReport> {
  const now = Date.now();
  const left = ctx.deadline ? ctx.deadline.getTime() - now : Infinity;
  const budgetMs = Math.max(1, Math.floor(Math.min(opts.timeoutMs, left)));
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(new ProviderError("UNAVAILABLE", `health probe: no answer within ${budgetMs} ms`)), budgetMs);
  const signal = AbortSignal.any([ctx.signal, timer.signal]);
  const probeCtx: CallContext = { ...ctx, signal, deadline: new Date(now + budgetMs) };
  const results: Record<string, string> = {};
  const answers: string[] = [];
  let failure: string | undefined;
  try {
    for (const check of checks) {
      if (failure !== undefined) {
        results[check.name] = "skipped: an earlier check failed";
        continue;
      }
      const started = performance.now();
      try {
        const detail = scrubUpstream(await check.run(probeCtx), { maxBytes: MAX_CHECK_TEXT });
        answers.push(detail);
        results[check.name] = bounded(`ok (${Math.round(performance.now() - started)} ms)${detail ? `: ${detail}` : ""}`, MAX_CHECK_TEXT);
      } catch (err) {
        const timedOut = timer.signal.aborted && !ctx.signal.aborted;
        const why = scrubUpstream(describeFailure(err, budgetMs, timedOut), { maxBytes: MAX_CHECK_TEXT });
        results[check.name] = bounded(`failed: ${why}`, MAX_CHECK_TEXT);
        failure = `${check.name}: ${why}`;
      }
    }
  } finally {
    clearTimeout(timeout);
  }
  const checksOut = { ...results, ...opts.facts };
  if (failure === undefined) {
    const message = typeof opts.healthyMessage === "function" ? opts.healthyMessage(answers) : opts.healthyMessage;
    return { healthy: true, message: bounded(message, MAX_MESSAGE), checks: checksOut };
  }
  return { healthy: false, message: bounded(`${opts.unhealthyMessage}: ${failure}`, MAX_MESSAGE), checks: checksOut };
}
