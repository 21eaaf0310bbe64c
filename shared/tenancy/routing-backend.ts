// A CloudBackend that is many: each method delegates to the backend of the
// tenant the current call runs for (scope.ts), or to the process's own
// backend outside any tenant scope. The shared service layer talks to it
// like to any backend and needs no change for multi-tenancy.
import type { Capabilities } from "../capabilities";
import { unauthenticated } from "../errors";
import type { CloudBackend, TagLimits } from "../provider";
import type { LoginUsers } from "../ssh/users";
import { tenantScope } from "./scope";
import { CREDENTIALS_METADATA } from "./credential-document";

export const NO_CREDENTIALS_MESSAGE = `this provider has no cloud credentials of its own: send yours in the request metadata "${CREDENTIALS_METADATA}" (see the README, "Multi-tenant use")`;

export class RoutingBackend implements CloudBackend {
  constructor(
    readonly provider: string,
    readonly mode: "sandbox" | "cloud",
    private readonly fallback: { defaultRegion: string; tagLimits: TagLimits },
    /** The process's own backend, when it has credentials. */
    private readonly own: CloudBackend | undefined,
    private readonly closeTenants: () => Promise<void>,
  ) {}

  private current(): CloudBackend {
    const scoped = tenantScope.getStore()?.backend;
    if (scoped) return scoped;
    if (this.own) return this.own;
    throw unauthenticated(NO_CREDENTIALS_MESSAGE);
  }

  private peek(): CloudBackend | undefined {
    return tenantScope.getStore()?.backend ?? this.own;
  }

  get tagLimits(): TagLimits {
    return this.peek()?.tagLimits ?? this.fallback.tagLimits;
  }

  get defaultRegion(): string {
    return this.peek()?.defaultRegion ?? this.fallback.defaultRegion;
  }

  /** The current tenant's default region, learnt from its cloud when its backend must ask. */
  async resolveDefaultRegion(signal: AbortSignal): Promise<string> {
    const b = this.peek();
    return b?.resolveDefaultRegion ? b.resolveDefaultRegion(signal) : this.defaultRegion;
  }

  /**
   * The current tenant's capabilities. Only asked inside a call, after that
   * tenant's backend answered (GetProviderInfo lists the regions first), so
   * without any backend this is the same UNAUTHENTICATED as every call.
   */
  capabilities(): Capabilities {
    const own = this.current().capabilities();
    return { ...own, details: { ...own.details, per_call_credentials: "true" } };
  }

  /** The current tenant's login users (asked by the SSH RPCs after the instance was found). */
  get loginUsers(): LoginUsers {
    return this.current().loginUsers;
  }

  get listAllRegions(): CloudBackend["listAllRegions"] {
    const b = this.peek();
    return b?.listAllRegions ? (ctx, q) => b.listAllRegions!(ctx, q) : undefined;
  }

  get sshUserHint(): CloudBackend["sshUserHint"] {
    const b = this.peek();
    return b?.sshUserHint ? (i) => b.sshUserHint!(i) : undefined;
  }

  /** The current tenant's change notices (read where a watch is set up, inside its tenant's scope). */
  get instanceChanges(): CloudBackend["instanceChanges"] {
    const b = this.peek();
    return b?.instanceChanges ? (onChange) => b.instanceChanges!(onChange) : undefined;
  }

  listRegions: CloudBackend["listRegions"] = async (ctx, opts) => this.current().listRegions(ctx, opts);
  listInstances: CloudBackend["listInstances"] = async (ctx, q) => this.current().listInstances(ctx, q);
  getInstance: CloudBackend["getInstance"] = async (ctx, ref) => this.current().getInstance(ctx, ref);
  createInstance: CloudBackend["createInstance"] = async (ctx, spec) => this.current().createInstance(ctx, spec);
  deleteInstance: CloudBackend["deleteInstance"] = async (ctx, ref) => this.current().deleteInstance(ctx, ref);
  startInstance: CloudBackend["startInstance"] = async (ctx, ref) => this.current().startInstance(ctx, ref);
  stopInstance: CloudBackend["stopInstance"] = async (ctx, req) => this.current().stopInstance(ctx, req);
  restartInstance: CloudBackend["restartInstance"] = async (ctx, req) => this.current().restartInstance(ctx, req);
  priceQuote: CloudBackend["priceQuote"] = async (ctx, req) => this.current().priceQuote(ctx, req);
  healthCheck: CloudBackend["healthCheck"] = async (ctx) => this.current().healthCheck(ctx);
  createKeyPair: CloudBackend["createKeyPair"] = async (ctx, req) => this.current().createKeyPair(ctx, req);
  importKeyPair: CloudBackend["importKeyPair"] = async (ctx, req) => this.current().importKeyPair(ctx, req);
  listKeyPairs: CloudBackend["listKeyPairs"] = async (ctx, req) => this.current().listKeyPairs(ctx, req);
  deleteKeyPair: CloudBackend["deleteKeyPair"] = async (ctx, req) => this.current().deleteKeyPair(ctx, req);

  async close(): Promise<void> {
    await Promise.allSettled([this.own?.close?.(), this.closeTenants()]);
  }
}
