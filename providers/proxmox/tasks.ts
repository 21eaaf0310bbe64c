// Every PVE write answers with a task id (UPID). A write has only happened
// when its task stopped with exitstatus "OK" (or "WARNINGS: n"); anything
// else is a failure that callers see with the exit status and the end of
// the task log.
import { scrubUpstream } from "../../shared/cloud/scrub";
import { ProviderError, failedPrecondition, notFound, unavailable } from "../../shared/errors";
import { isLockConflict, sleep, type PveClient } from "./client";

export interface TaskStatus {
  upid: string;
  node: string;
  status: "running" | "stopped" | string;
  exitstatus?: string;
  type?: string;
  id?: string;
}

export interface TaskPolling {
  /** First poll delay; grows by half each poll up to maxIntervalMs. */
  intervalMs: number;
  maxIntervalMs: number;
}

export class TaskFailedError extends ProviderError {
  constructor(
    readonly task: TaskStatus,
    readonly logTail: string[],
  ) {
    const what = `Proxmox task ${task.type ?? "task"}${task.id ? ` for ${task.id}` : ""} on ${task.node} failed: ${task.exitstatus ?? "unknown exit status"}`;
    // Exit status and log lines are upstream text: scrubbed and bounded like any other.
    const message = scrubUpstream(logTail.length ? `${what}; log tail: ${logTail.join(" | ")}` : what, { maxBytes: 480 });
    const exit = task.exitstatus ?? "";
    const base = isLockConflict(exit) ? unavailable(message, { cloudCode: "lock" }) : /does not exist/i.test(exit) ? notFound(message) : failedPrecondition(message, { cloudCode: "task-failed" });
    super(base.code, message, base.details);
    this.name = "TaskFailedError";
  }

  get lockConflict(): boolean {
    return isLockConflict(this.task.exitstatus ?? "");
  }
}

/** The node a UPID ran on: "UPID:NODE:PID:PSTART:STARTTIME:TYPE:ID:USER:". */
export function upidNode(upid: string): string | undefined {
  const parts = upid.split(":");
  return parts[0] === "UPID" && parts[1] ? parts[1] : undefined;
}

const isSuccess = (exit: string | undefined) => exit === "OK" || /^WARNINGS: \d+$/.test(exit ?? "");

export async function waitForTask(client: PveClient, upid: string, signal: AbortSignal, polling: TaskPolling, fallbackNode?: string): Promise<TaskStatus> {
  const node = upidNode(upid) ?? fallbackNode;
  if (!node) throw new Error(`not a Proxmox task id: ${upid.slice(0, 80)}`);
  const path = `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}`;
  let delay = polling.intervalMs;
  for (;;) {
    const status = await client.get<TaskStatus>(`${path}/status`, {}, signal);
    if (status.status === "stopped") {
      if (isSuccess(status.exitstatus)) return status;
      const tail = await client
        .get<{ n: number; t: string }[]>(`${path}/log`, { start: 0, limit: 1000 }, signal)
        .then((lines) => lines.map((l) => l.t).filter((t) => t && t !== "no content").slice(-8))
        .catch(() => [] as string[]);
      throw new TaskFailedError({ ...status, node }, tail);
    }
    await sleep(delay, signal);
    delay = Math.min(polling.maxIntervalMs, Math.ceil(delay * 1.5));
  }
}
