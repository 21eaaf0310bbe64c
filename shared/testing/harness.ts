// Starts a provider in-process on a free loopback port for tests, exactly
// as main does (same flags, same server), and hands back a real client.
import { DeferredBackend } from "../cloud/deferred-backend";
import { parseArgs } from "../config";
import type { ProviderDefinition } from "../definition";
import { createLogger, type Logger } from "../log";
import { allFlags, startProvider, type StartedProvider } from "../main";
import type { CloudBackend } from "../provider";
import { startServer } from "../server/server";
import { createSshService } from "../ssh";
import { ProviderClient } from "./client";

export interface TestProvider {
  address: string;
  port: number;
  client: ProviderClient;
  started: StartedProvider;
  logs: string[];
  /** Closes the client and shuts the server down (waits for drain). */
  close(): Promise<void>;
}

export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: "debug", write: (l) => lines.push(l) }), lines };
}

/** Starts `def` with `args` (default: sandbox) on 127.0.0.1 and a free port. */
export async function startTestProvider(
  def: ProviderDefinition,
  args: string[] = ["--sandbox"],
  env: Record<string, string | undefined> = {},
): Promise<TestProvider> {
  const { settings } = parseArgs(allFlags(def), ["--host", "127.0.0.1", "--port", "0", ...args], env);
  const { log, lines } = captureLogger();
  const started = await startProvider(def, settings, log, env);
  // The cloud SDK loads at the first cloud call (shared/cloud/deferred-backend.ts):
  // milliseconds in the compiled binary, seconds from source under a busy
  // bun test. Loaded here, so no test's first call is charged for it.
  if (started.backend instanceof DeferredBackend) await started.backend.backend();
  const address = `127.0.0.1:${started.running.port}`;
  const client = new ProviderClient(address);
  return {
    address,
    port: started.running.port,
    client,
    started,
    logs: lines,
    async close() {
      client.close();
      await started.running.shutdown("test finished");
    },
  };
}

/** Serves an arbitrary backend (e.g. a real cloud backend pointed at a local fake). */
export async function startTestServerWithBackend(
  backend: CloudBackend,
  opts: { shutdownGraceMs?: number; fanoutRegionTimeoutMs?: number; waitUntilRunningMaxMs?: number } = {},
): Promise<TestProvider> {
  const { log, lines } = captureLogger();
  const running = await startServer({
    host: "127.0.0.1",
    port: 0,
    reflection: true,
    shutdownGraceMs: opts.shutdownGraceMs ?? 5000,
    log,
    backend,
    ssh: createSshService({}, log),
    version: "test",
    fanoutConcurrency: 8,
    fanoutRegionTimeoutMs: opts.fanoutRegionTimeoutMs,
    waitUntilRunningMaxMs: opts.waitUntilRunningMaxMs,
  });
  const address = `127.0.0.1:${running.port}`;
  const client = new ProviderClient(address);
  return {
    address,
    port: running.port,
    client,
    started: { running, backend, log },
    logs: lines,
    async close() {
      client.close();
      await running.shutdown("test finished");
    },
  };
}
