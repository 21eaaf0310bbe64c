// CreateInstance's semantics that are the same for every cloud, around the
// backend's plain create:
//
// - Idempotency keys. Calls with the same (tenant, region, key) arriving
//   while a create runs share that one create (single-flight.ts): one cloud
//   create, every caller still waiting gets its instance, and each caller's
//   deadline ends only its own wait. A call arriving after the create ended
//   reaches the backend, whose cloud-side de-duplication (EC2 ClientToken and
//   tag, GCE requestId, Nova tag and claim, PVE description marker) returns
//   the first instance, across replicas and restarts too.
// - A key is bound to its request. The same key with another request (any
//   field but the key and wait_until_running) is INVALID_ARGUMENT naming
//   idempotency_key, never the other request's instance: refused while the
//   first create runs and for KEY_MEMORY_MS after it succeeded in this
//   process, and, beyond that memory (another replica, a restart), whenever
//   the cloud's de-duplication answers with an instance of another name.
// - wait_until_running (wait-until-running.ts) per caller, after the create.
import { createHash } from "node:crypto";
import { invalidArgument } from "../errors";
import type { CallContext, CloudBackend, CreateInstanceSpec, Instance } from "../provider";
import { quote } from "../quote";
import type { ProviderMetrics } from "../telemetry/metrics";
import { SingleFlight } from "./single-flight";
import { DEFAULT_WAIT_MAX_MS, waitUntilRunning, type WaitSettings } from "./wait-until-running";

/** How long a key stays bound to its request in this process after its create succeeded. */
export const KEY_MEMORY_MS = 24 * 3600_000;
/** Keys remembered at most (oldest forgotten first): a hostile caller's fresh keys cost bounded memory. */
export const KEY_MEMORY_ENTRIES = 10_000;

export interface CreateSettings {
  wait?: Partial<WaitSettings>;
  /** Keys remembered at most (default KEY_MEMORY_ENTRIES). */
  keyMemoryEntries?: number;
  metrics?: ProviderMetrics;
  now?: () => number;
}

const keyConflict = () =>
  invalidArgument(
    "idempotency_key",
    "was already used for a different request (another name, type, region, image or other field); send the same request to retry it, or a new key for a new instance",
  );

export class InstanceCreator {
  private readonly flights: SingleFlight<Instance>;
  /** key -> fingerprint of the request it created, and until when it is remembered. */
  private readonly recent = new Map<string, { fingerprint: string; until: number }>();
  private readonly now: () => number;

  constructor(
    private readonly backend: CloudBackend,
    private readonly settings: CreateSettings = {},
  ) {
    this.now = settings.now ?? Date.now;
    this.flights = new SingleFlight<Instance>({ conflict: keyConflict, onJoin: () => settings.metrics?.singleFlightHit() });
  }

  /** Creates in flight per key (tests). */
  get inFlight(): number {
    return this.flights.size;
  }

  async create(ctx: CallContext, spec: CreateInstanceSpec, wait: boolean): Promise<Instance> {
    const instance = spec.idempotencyKey ? await this.createOnce(ctx, spec, spec.idempotencyKey) : await this.backend.createInstance(ctx, spec);
    if (!wait) return instance;
    const started = performance.now();
    const result = await waitUntilRunning(ctx, instance, (c) => this.backend.getInstance(c, { instanceId: instance.id, region: spec.region }), {
      maxWaitMs: DEFAULT_WAIT_MAX_MS,
      ...this.settings.wait,
    });
    this.settings.metrics?.waitedUntilRunning(result.outcome, (performance.now() - started) / 1000);
    if (result.instance.status === "pending") {
      ctx.log.info("wait_until_running: answering before the instance runs", { instance_id: instance.id, outcome: result.outcome });
    }
    return result.instance;
  }

  private async createOnce(ctx: CallContext, spec: CreateInstanceSpec, key: string): Promise<Instance> {
    // JSON keeps the parts apart whatever characters a tenant or region holds.
    const id = JSON.stringify([ctx.tenant ?? "", spec.region, key]);
    const fingerprint = fingerprintOf(spec);
    const known = this.remembered(id);
    if (known && known !== fingerprint) throw keyConflict();
    const instance = await this.flights.run(id, {
      fingerprint,
      signal: ctx.signal,
      // The shared create outlives the caller that started it, so it carries
      // no caller's deadline; it is bounded by its callers (single-flight.ts).
      work: (signal) => this.backend.createInstance({ ...ctx, signal, deadline: undefined }, spec),
    });
    if (instance.name !== "" && instance.name !== spec.name) {
      // The cloud's de-duplication found the key on an instance another
      // request made. (An answer without a name, as a launch response may
      // be, says nothing either way.)
      throw invalidArgument(
        "idempotency_key",
        `was already used to create instance ${quote(instance.id)} named ${quote(instance.name)}; send that request to retry it, or a new key for a new instance`,
      );
    }
    this.remember(id, fingerprint);
    return instance;
  }

  private remembered(id: string): string | undefined {
    const entry = this.recent.get(id);
    if (!entry) return undefined;
    if (entry.until > this.now()) return entry.fingerprint;
    this.recent.delete(id);
    return undefined;
  }

  private remember(id: string, fingerprint: string): void {
    this.recent.delete(id);
    this.recent.set(id, { fingerprint, until: this.now() + KEY_MEMORY_MS });
    // A Map iterates in insertion order: the first entry is the oldest.
    while (this.recent.size > (this.settings.keyMemoryEntries ?? KEY_MEMORY_ENTRIES)) this.recent.delete(this.recent.keys().next().value!);
  }
}

/** Everything that decides what gets created: every field but the key itself. */
export function fingerprintOf(spec: CreateInstanceSpec): string {
  const { idempotencyKey: _key, ...rest } = spec;
  const canonical = JSON.stringify(rest, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
  return createHash("sha256").update(canonical).digest("base64url");
}
