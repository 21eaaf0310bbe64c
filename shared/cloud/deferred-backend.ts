// A real cloud backend whose implementation, and the cloud SDK it imports,
// loads at its first cloud call instead of at start. Evaluating the SDK is
// most of what real mode adds to a start (the EC2 client; gax,
// google-auth-library and the Compute Engine clients: about 8 and 13 ms of
// CPU in the compiled binaries), and it is synchronous: nothing else runs,
// health checks included, while it evaluates. What the server reads before
// any call (names, limits, capabilities, the default region, whether region
// "*" is native) comes from the provider's light definition; every cloud
// method awaits the one load (concurrent first calls share it), and a
// failed load is that call's error and is tried again by the next one.
import type { Capabilities } from "../capabilities";
import type { CallContext, CloudBackend, Instance, TagLimits } from "../provider";
import type { LoginUsers } from "../ssh/users";

export interface DeferredBackendFacts {
  provider: string;
  defaultRegion: string;
  tagLimits: TagLimits;
  loginUsers: LoginUsers;
  /** The same answer the loaded backend gives (computed from settings, not from the SDK). */
  capabilities(): Capabilities;
  /** The loaded backend answers region "*" natively (listAllRegions): the listing asks before any call. */
  listsAllRegions: boolean;
}

export class DeferredBackend implements CloudBackend {
  readonly mode = "cloud" as const;
  readonly provider: string;
  readonly defaultRegion: string;
  readonly tagLimits: TagLimits;
  readonly loginUsers: LoginUsers;
  readonly listAllRegions?: CloudBackend["listAllRegions"];
  private loaded?: CloudBackend;
  private loading?: Promise<CloudBackend>;

  constructor(
    private readonly facts: DeferredBackendFacts,
    private readonly load: () => Promise<CloudBackend>,
  ) {
    this.provider = facts.provider;
    this.defaultRegion = facts.defaultRegion;
    this.tagLimits = facts.tagLimits;
    this.loginUsers = facts.loginUsers;
    if (facts.listsAllRegions) this.listAllRegions = async (ctx, q) => (await this.backend()).listAllRegions!(ctx, q);
  }

  /** Whether the implementation has loaded (tests, diagnostics). */
  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }

  /** The implementation, loaded once; a failed load is retried by the next call. */
  backend(): Promise<CloudBackend> {
    if (this.loaded) return Promise.resolve(this.loaded);
    this.loading ??= this.load().then(
      (b) => (this.loaded = b),
      (err) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  capabilities(): Capabilities {
    return this.facts.capabilities();
  }

  /** Asked about an instance the backend returned, so it has loaded by then. */
  sshUserHint(instance: Instance): string | undefined {
    return this.loaded?.sshUserHint?.(instance);
  }

  listRegions: CloudBackend["listRegions"] = async (ctx, opts) => (await this.backend()).listRegions(ctx, opts);
  listInstances: CloudBackend["listInstances"] = async (ctx, q) => (await this.backend()).listInstances(ctx, q);
  getInstance: CloudBackend["getInstance"] = async (ctx, ref) => (await this.backend()).getInstance(ctx, ref);
  createInstance: CloudBackend["createInstance"] = async (ctx, spec) => (await this.backend()).createInstance(ctx, spec);
  deleteInstance: CloudBackend["deleteInstance"] = async (ctx, ref) => (await this.backend()).deleteInstance(ctx, ref);
  startInstance: CloudBackend["startInstance"] = async (ctx, ref) => (await this.backend()).startInstance(ctx, ref);
  stopInstance: CloudBackend["stopInstance"] = async (ctx, req) => (await this.backend()).stopInstance(ctx, req);
  restartInstance: CloudBackend["restartInstance"] = async (ctx, req) => (await this.backend()).restartInstance(ctx, req);
  priceQuote: CloudBackend["priceQuote"] = async (ctx, req) => (await this.backend()).priceQuote(ctx, req);
  createKeyPair: CloudBackend["createKeyPair"] = async (ctx, req) => (await this.backend()).createKeyPair(ctx, req);
  importKeyPair: CloudBackend["importKeyPair"] = async (ctx, req) => (await this.backend()).importKeyPair(ctx, req);
  listKeyPairs: CloudBackend["listKeyPairs"] = async (ctx, req) => (await this.backend()).listKeyPairs(ctx, req);
  deleteKeyPair: CloudBackend["deleteKeyPair"] = async (ctx, req) => (await this.backend()).deleteKeyPair(ctx, req);

  /** Never throws (the CloudBackend contract): a failed load is an unhealthy report. */
  async healthCheck(ctx: CallContext) {
    let backend: CloudBackend;
    try {
      backend = await this.backend();
    } catch {
      return { healthy: false, message: `${this.provider}: the cloud client did not load`, checks: {} };
    }
    return backend.healthCheck(ctx);
  }

  /** Closes the implementation if it loaded (or is loading): nothing to release otherwise. */
  async close(): Promise<void> {
    const backend = this.loaded ?? (await this.loading?.catch(() => undefined));
    await backend?.close?.();
  }
}
