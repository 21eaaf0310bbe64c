// The entry point every provider binary runs: parse flags and variables,
// answer --help/--version (shared/entry.ts answers healthcheck before this
// module loads), pick the sandbox or the real cloud
// backend, start the server and drain it on SIGTERM/SIGINT.
import * as grpc from "@grpc/grpc-js";
import { invalidArgument } from "./errors";
import { ConfigError, bool, describeSettings, num, parseArgs, renderHelp, str, type FlagSpec, type Settings } from "./config";
import type { ProviderDefinition } from "./definition";
import { binaryName } from "./entry";
import { HEALTHCHECK_FLAGS } from "./healthcheck";
import { HEALTH_TIMEOUT_FLAG } from "./cloud/health-probe";
import { createLogger, isLogLevel, type Logger } from "./log";
import type { CloudBackend } from "./provider";
import { SandboxBackend } from "./sandbox/backend";
import { AccessPolicy } from "./server/auth/access";
import { CredentialFile } from "./server/auth/credential-file";
import { loadSecretFiles, withSecretFileFlags } from "./secrets";
import { startServer, type RunningServer } from "./server/server";
import { SSH_FLAGS, createSshService } from "./ssh";
import { WATCH_FLAGS, watchSettings } from "./watch/settings";
import { VERSION } from "./version";
import type { ProviderMetrics } from "./telemetry/metrics";
import type { MetricsListener } from "./telemetry/metrics-listener";
import { observedSandbox } from "./telemetry/observed-sandbox";
import { tracingConfig } from "./telemetry/tracing-config";
import { SERVICE_NAME } from "./grpc/descriptors";
import { TENANCY_FLAGS, createTenancy, type Tenancy } from "./tenancy";
import { tenantSettings } from "./tenancy/tenant-settings";

export function serverFlags(defaultPort: number): FlagSpec[] {
  return [
    { name: "host", kind: "string", env: "SKYCLUST_HOST", default: "0.0.0.0", help: "address to listen on" },
    { name: "port", kind: "number", env: "SKYCLUST_PORT", default: defaultPort, help: "port to listen on (0 picks a free one)" },
    { name: "sandbox", kind: "boolean", env: "SKYCLUST_SANDBOX", default: false, help: "serve a deterministic in-memory cloud; no account needed" },
    { name: "reflection", kind: "boolean", env: "SKYCLUST_REFLECTION", default: true, help: "serve gRPC server reflection (--no-reflection to turn off)" },
    { name: "tls-cert", kind: "string", env: "SKYCLUST_TLS_CERT", help: "serve TLS with this certificate chain (PEM)" },
    { name: "tls-key", kind: "string", env: "SKYCLUST_TLS_KEY", help: "private key for --tls-cert (PEM)" },
    { name: "tls-client-ca", kind: "string", env: "SKYCLUST_TLS_CLIENT_CA", help: "require client certificates signed by this CA, with the clientAuth usage (mTLS)" },
    { name: "tls-client-identities", kind: "string", env: "SKYCLUST_TLS_CLIENT_IDENTITIES", help: "mTLS allow-list: lines 'CN=NAME|DNS:NAME|URI:... [SCOPE,...]'" },
    { name: "auth-token-file", kind: "string", env: "SKYCLUST_AUTH_TOKEN_FILE", help: "bearer tokens, lines 'TOKEN SCOPE[,SCOPE]' (read, write, ssh); mode 0600; re-read on change" },
    { name: "allow-unauthenticated", kind: "boolean", env: "SKYCLUST_ALLOW_UNAUTHENTICATED", default: false, help: "with a real cloud and no tokens/mTLS, answer non-loopback callers too (trusted networks only)" },
    { name: "shutdown-grace-seconds", kind: "number", env: "SKYCLUST_SHUTDOWN_GRACE_SECONDS", default: 20, help: "on SIGTERM, let running calls finish for this long" },
    { name: "fanout-concurrency", kind: "number", env: "SKYCLUST_FANOUT_CONCURRENCY", default: 32, help: 'regions listed at once for region "*"' },
    { name: "fanout-region-timeout-seconds", kind: "number", env: "SKYCLUST_FANOUT_REGION_TIMEOUT_SECONDS", default: 10, help: 'region "*": a region slower than this goes in unreachable, when the caller set no deadline' },
    { name: "wait-until-running-max-seconds", kind: "number", env: "SKYCLUST_WAIT_UNTIL_RUNNING_MAX_SECONDS", default: 600, help: "CreateInstance wait_until_running: longest wait, deadline or not (then OK with the instance still pending)" },
    HEALTH_TIMEOUT_FLAG,
    { name: "metrics-addr", kind: "string", env: "SKYCLUST_METRICS_ADDR", help: "serve Prometheus metrics at http://HOST:PORT/metrics (off when unset)" },
    { name: "log-level", kind: "string", env: "SKYCLUST_LOG_LEVEL", default: "info", help: "debug, info, warn or error" },
    { name: "help", kind: "boolean", help: "show this help" },
    { name: "version", kind: "boolean", help: "print the version" },
  ];
}

export const SANDBOX_FLAGS: FlagSpec[] = [
  { name: "sandbox-transition-ms", kind: "number", env: "SKYCLUST_SANDBOX_TRANSITION_MS", default: 2000, help: "how long pending/stopping/rebooting/terminating last" },
  { name: "sandbox-seed-instances", kind: "number", env: "SKYCLUST_SANDBOX_SEED_INSTANCES", default: 2, help: "instances created at start in every region" },
  { name: "sandbox-latency-ms", kind: "number", env: "SKYCLUST_SANDBOX_LATENCY_MS", default: 0, help: "simulated latency of every cloud call" },
  { name: "sandbox-fail-regions", kind: "string", env: "SKYCLUST_SANDBOX_FAIL_REGIONS", default: "", help: "comma-separated regions whose listing fails (UNAVAILABLE)" },
  { name: "sandbox-ssh-target", kind: "string", env: "SKYCLUST_SANDBOX_SSH_TARGET", help: "HOST:PORT every sandbox instance is reachable at over SSH" },
];

function parseHostPort(value: string, field: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`${field}: expected HOST:PORT, got "${value}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

function positiveSeconds(settings: Settings, name: string, fallback: number): number {
  const v = num(settings, name) ?? fallback;
  if (!(v > 0) || v > 86_400) throw new ConfigError(`--${name}: expected seconds between 0 and 86400, got ${v}`);
  return v;
}

/**
 * `tenant` (per-call credentials) shifts the sandbox's id counters, so two
 * tenants' clouds never hand out the same instance or key pair id.
 */
export function createSandbox(def: ProviderDefinition, settings: Settings, tenant?: string): SandboxBackend {
  const target = str(settings, "sandbox-ssh-target");
  const base = def.sandboxProfile(settings);
  const offset = tenant ? (parseInt(tenant.slice(-5), 16) % 100_000) * 1000 + 1000 : 0;
  const profile = offset
    ? { ...base, instanceId: (n: number, region: string, zone: string) => base.instanceId(n + offset, region, zone), keyPairId: (n: number) => base.keyPairId(n + offset) }
    : base;
  return new SandboxBackend(profile, {
    transitionMs: num(settings, "sandbox-transition-ms") ?? 2000,
    seedPerRegion: num(settings, "sandbox-seed-instances") ?? 2,
    latencyMs: num(settings, "sandbox-latency-ms") ?? 0,
    failRegions: (str(settings, "sandbox-fail-regions") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    sshTarget: target ? parseHostPort(target, "--sandbox-ssh-target") : undefined,
  });
}

export function allFlags(def: ProviderDefinition): FlagSpec[] {
  return [...serverFlags(def.defaultPort), ...(def.tenancy ? TENANCY_FLAGS : []), ...SANDBOX_FLAGS, ...SSH_FLAGS, ...WATCH_FLAGS, ...withSecretFileFlags(def.flags)];
}

export function helpText(def: ProviderDefinition, binary: string): string {
  return renderHelp(
    `${binary} ${VERSION}: SkyClust ${def.displayName} provider (skyclust.provider.v1.CloudProviderService, gRPC health, reflection)`,
    [`${binary} [flags]                 serve on port ${def.defaultPort}`, `${binary} --sandbox             serve an in-memory ${def.name} cloud (no account)`, `${binary} healthcheck [--addr HOST:PORT]   exit 0 when the server is SERVING`],
    [
      { heading: "Server", flags: serverFlags(def.defaultPort) },
      ...(def.tenancy ? [{ heading: "Many tenants (see README, Multi-tenant use)", flags: TENANCY_FLAGS }] : []),
      { heading: `${def.displayName}`, flags: withSecretFileFlags(def.flags) },
      { heading: "SSH", flags: SSH_FLAGS },
      { heading: "WatchInstances", flags: WATCH_FLAGS },
      { heading: "Sandbox", flags: SANDBOX_FLAGS },
      { heading: "healthcheck subcommand", flags: HEALTHCHECK_FLAGS.filter((f) => f.name !== "help") },
    ],
    def.helpFooter,
  );
}

export interface StartedProvider {
  running: RunningServer;
  backend: CloudBackend;
  log: Logger;
  /** The Prometheus listener, when --metrics-addr is set. */
  metrics?: MetricsListener;
}

/** Starts a provider from parsed settings (used by main and by tests). */
export async function startProvider(def: ProviderDefinition, settings: Settings, log: Logger, env = process.env): Promise<StartedProvider> {
  const perCall = bool(settings, "per-call-credentials");
  if (perCall && !def.tenancy) throw new ConfigError(`--per-call-credentials: the ${def.displayName} provider does not support per-call credentials`);
  let backend: CloudBackend | undefined;
  if (bool(settings, "sandbox")) {
    backend = observedSandbox(createSandbox(def, settings));
  } else {
    // Before the credential check: a value in a _FILE counts as set.
    const secrets = loadSecretFiles(allFlags(def), settings, log);
    const missing = def.missingCredentials(settings, env);
    if (missing.length > 0 && !perCall) {
      throw new ConfigError(
        `${def.displayName} credentials are missing: set ${missing.join(", ")}; or run with --sandbox (SKYCLUST_SANDBOX=true) to serve an in-memory ${def.name} cloud with no account`,
      );
    }
    if (missing.length > 0) log.info("no credentials of its own: every call must carry x-skyclust-credentials", { missing: missing.join(", ") });
    else backend = await def.createCloudBackend(settings, log, secrets);
  }
  const metricsAddr = str(settings, "metrics-addr");
  // prom-client and OpenTelemetry load only when configured: off, they cost nothing (not even their import).
  const metrics = metricsAddr ? new (await import("./telemetry/metrics")).ProviderMetrics({ version: VERSION, provider: def.name }) : undefined;
  const own = backend;
  let tenancy: Tenancy | undefined;
  if (perCall) {
    tenancy = startTenancy(def, settings, log, backend, metrics);
    backend = tenancy.backend;
  }
  if (!backend) throw new ConfigError(`${def.displayName}: no backend`); // unreachable: without credentials, perCall holds
  const certFile = str(settings, "tls-cert");
  const keyFile = str(settings, "tls-key");
  const clientCaFile = str(settings, "tls-client-ca");
  if (Boolean(certFile) !== Boolean(keyFile)) throw new ConfigError("--tls-cert and --tls-key go together");
  if (clientCaFile && !certFile) throw new ConfigError("--tls-client-ca (mTLS) needs --tls-cert and --tls-key");
  const access = accessPolicy(settings, backend, log);
  // Parsed before anything listens, so a typo fails start-up cleanly.
  const metricsAt = metricsAddr ? parseHostPort(metricsAddr, "--metrics-addr") : undefined;
  const traces = tracingConfig(env, `skyclust-${def.name}-provider`);
  const tracing = traces ? new (await import("./telemetry/tracing")).Tracing(traces, SERVICE_NAME) : undefined;
  const running = await startServer({
    host: str(settings, "host") ?? "0.0.0.0",
    port: num(settings, "port") ?? def.defaultPort,
    reflection: settings.reflection !== false,
    tls: certFile && keyFile ? { certFile, keyFile, clientCaFile } : undefined,
    shutdownGraceMs: (num(settings, "shutdown-grace-seconds") ?? 20) * 1000,
    log,
    backend,
    ssh: createSshService(settings, log, metrics?.ssh),
    version: VERSION,
    fanoutConcurrency: Math.max(1, num(settings, "fanout-concurrency") ?? 32),
    fanoutRegionTimeoutMs: positiveSeconds(settings, "fanout-region-timeout-seconds", 10) * 1000,
    waitUntilRunningMaxMs: positiveSeconds(settings, "wait-until-running-max-seconds", 600) * 1000,
    access,
    metrics,
    tracing,
    tenancy: tenancy?.resolver,
    watch: watchSettings(settings),
    closeAfterDrain: async () => {
      await Promise.allSettled([metricsListener?.close(), tracing?.shutdown()]);
    },
  }).catch(async (err) => {
    await tracing?.shutdown();
    throw err;
  });
  tenancy?.listening({ host: str(settings, "host") ?? "0.0.0.0", port: running.port });
  let metricsListener: MetricsListener | undefined;
  if (metrics && metricsAt) {
    try {
      // Imported only here: node:http costs ~5 ms to evaluate, at every start otherwise.
      const { listenForMetrics } = await import("./telemetry/metrics-listener");
      metricsListener = await listenForMetrics(metrics, metricsAt.host, metricsAt.port);
    } catch (err) {
      await running.shutdown("cannot serve metrics");
      throw new ConfigError((err as Error).message);
    }
    log.info("serving metrics", { address: `http://${metricsListener.address}/metrics` });
  }
  if (traces) log.info("exporting traces", { endpoint: traces.url.replace(/\/\/[^/@]*@/, "//"), service_name: traces.serviceName });
  logAccessPosture(settings, backend, log);
  // Serving now: the backend may log in (never awaited, so the start waits
  // for no cloud), and wrong credentials still show in the log at once.
  void own?.warmUp?.();
  return { running, backend, log, metrics: metricsListener };
}

/**
 * Per-call credentials: each tenant gets a backend built by the provider's
 * own factory from its document (sandbox: its own in-memory cloud).
 */
function startTenancy(def: ProviderDefinition, settings: Settings, log: Logger, own: CloudBackend | undefined, metrics: ProviderMetrics | undefined): Tenancy {
  const spec = def.tenancy!;
  const sandbox = bool(settings, "sandbox");
  const flags = withSecretFileFlags(def.flags);
  return createTenancy({
    provider: def.name,
    mode: sandbox ? "sandbox" : "cloud",
    spec,
    settings,
    own,
    defaultRegion: own?.defaultRegion ?? str(settings, "region") ?? "",
    log,
    metrics,
    async build({ creds, tenant, log: tenantLog }) {
      const mine = tenantSettings(flags, spec, settings, creds);
      if (sandbox) return observedSandbox(createSandbox(def, mine, tenant));
      await spec.scope?.(mine, tenant);
      // The provider's own completeness check, with no environment: nothing ambient may fill a gap.
      const missing = def.missingCredentials(mine, {});
      if (missing.length > 0) throw invalidArgument("x-skyclust-credentials", `incomplete credentials: set ${missing.join(", ")}`);
      const secrets = loadSecretFiles(flags, mine, tenantLog);
      return def.createCloudBackend(mine, tenantLog, secrets);
    },
  });
}

function logAccessPosture(settings: Settings, backend: CloudBackend, log: Logger): void {
  if (str(settings, "auth-token-file") || str(settings, "tls-client-ca")) return;
  if (backend.mode === "sandbox") log.warn("no authentication configured: sandbox mode answers every caller");
  else if (bool(settings, "allow-unauthenticated")) log.warn("no authentication and --allow-unauthenticated: anyone who reaches this port can create, delete and reach into machines");
  else log.warn("protected mode: no authentication configured, so only loopback callers are answered (see --auth-token-file, --tls-client-ca, --allow-unauthenticated)");
}

function accessPolicy(settings: Settings, backend: CloudBackend, log: Logger): AccessPolicy {
  const tokenFile = str(settings, "auth-token-file");
  const identitiesFile = str(settings, "tls-client-identities");
  const mtls = Boolean(str(settings, "tls-client-ca"));
  if (identitiesFile && !mtls) throw new ConfigError("--tls-client-identities needs mTLS (--tls-client-ca)");
  return new AccessPolicy({
    tokens: tokenFile ? new CredentialFile({ path: tokenFile, flag: "--auth-token-file", scopesOptional: false, secret: true, log }) : undefined,
    mtls,
    identities: identitiesFile
      ? new CredentialFile({ path: identitiesFile, flag: "--tls-client-identities", scopesOptional: true, secret: false, log })
      : undefined,
    protectedMode: backend.mode === "cloud" && !bool(settings, "allow-unauthenticated"),
  });
}

export async function runProvider(def: ProviderDefinition, argv = process.argv.slice(2)): Promise<void> {
  const binary = binaryName(def.name);
  const flags = allFlags(def);
  let settings: Settings;
  try {
    const parsed = parseArgs(flags, argv, process.env);
    if (parsed.positional.length > 0) throw new ConfigError(`unexpected argument "${parsed.positional[0]}" (see --help)`);
    settings = parsed.settings;
  } catch (err) {
    console.error(`${binary}: ${(err as Error).message}`);
    process.exit(2);
  }
  if (settings.help) {
    console.log(helpText(def, binary));
    process.exit(0);
  }
  if (settings.version) {
    console.log(`${binary} ${VERSION}`);
    process.exit(0);
  }
  const level = String(settings["log-level"]);
  const log = createLogger({ level: isLogLevel(level) ? level : "info", base: { provider: def.name } });
  routeGrpcLibraryLog(log);
  let started: StartedProvider;
  try {
    started = await startProvider(def, settings, log);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : `cannot start: ${(err as Error).message}`;
    console.error(`${binary}: ${message}`);
    process.exit(2);
  }
  const { running, backend } = started;
  log.info("serving", {
    address: running.address,
    mode: backend.mode,
    default_region: backend.defaultRegion,
    version: VERSION,
    settings: describeSettings(flags, settings),
  });
  // One plain line on stdout for people and scripts (--port 0 picks a port).
  console.log(`${binary} serving on ${running.address} (${backend.mode})`);
  if (!str(settings, "tls-cert")) log.warn("serving PLAINTEXT gRPC: traffic and bearer tokens are readable on the network; use --tls-cert/--tls-key (and --tls-client-ca for mTLS) outside a trusted network");
  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) {
      log.warn("second signal: exiting now", { signal });
      process.exit(1);
    }
    running.shutdown(signal).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}

/**
 * grpc-js writes its own errors to the console as raw "E ..." lines (a busy
 * port printed one before our explanation). Keep them, as JSON debug lines
 * in our log: every failure they describe reaches the caller or the start-up
 * error anyway.
 */
function routeGrpcLibraryLog(log: Logger): void {
  const forward = (...args: unknown[]) => log.debug("grpc-js", { text: args.map(String).join(" ").slice(0, 500) });
  grpc.setLogger({ error: forward, info: forward, debug: forward } as unknown as Partial<Console>);
}
