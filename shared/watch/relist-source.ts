// The watch source every cloud can offer: a full relist (all pages) per
// poll, diffed by the engine. Region "*" uses the backend's one-call
// listing where the cloud has one (GCE aggregated list, Proxmox
// /cluster/resources) and otherwise lists each region concurrently, each
// under its own time budget: a region that does not answer in time is
// reported unreachable (the engine keeps its instances as last seen)
// instead of stalling the watch.
import { deadlineExceeded } from "../errors";
import type { CallContext, CloudBackend, Instance, InstancePage } from "../provider";
import { bounded } from "../quote";
import type { WatchSnapshot, WatchSource } from "./engine";

export interface RelistOptions {
  /** The cloud (for per-call credentials: the tenant's own backend, see useBackend). */
  backend: CloudBackend;
  /** A concrete region or "*". */
  region: string;
  filters: Record<string, string>;
  /** Available region names, for a "*" watch on a cloud without a one-call listing. */
  regions(ctx: CallContext): Promise<string[]>;
  /** A call context for the engine's own cloud calls (its tenant, its logger), on `signal`. */
  context(signal: AbortSignal): CallContext;
  /** Longest one region's listing may take per poll. */
  regionBudgetMs: number;
  /** Regions listed at once. */
  concurrency: number;
  /** Instances one watch may hold; more is refused (a watch is not a bulk export). */
  maxInstances: number;
}

const PAGE_SIZE = 500;

export class RelistSource implements WatchSource {
  /** Cloud listings made (pages), for the call-budget metric. */
  calls = 0;

  /** The cloud's change notices, where the backend has them. */
  readonly changes?: (onChange: () => void) => () => void;

  private readonly opts: RelistOptions;

  constructor(opts: RelistOptions) {
    this.opts = { ...opts };
    const backend = opts.backend;
    if (backend.instanceChanges) this.changes = (onChange) => backend.instanceChanges!(onChange);
  }

  /**
   * The backend to list with from now on. A tenant's backend can be evicted
   * from the cache while its watch lingers idle; the next watcher brings the
   * current one.
   */
  useBackend(backend: CloudBackend): void {
    this.opts.backend = backend;
  }

  async snapshot(signal: AbortSignal): Promise<WatchSnapshot> {
    const { region, filters } = this.opts;
    const backend = this.opts.backend;
    if (region !== "*") return { instances: await this.walk(signal, (ctx, cursor) => backend.listInstances(ctx, { region, filters, pageSize: PAGE_SIZE, cursor })), unreachable: [] };
    if (backend.listAllRegions) {
      const unreachable: string[] = [];
      const listAll = backend.listAllRegions.bind(backend);
      const instances = await this.walk(signal, async (ctx, cursor) => {
        const page = await listAll(ctx, { filters, pageSize: PAGE_SIZE, cursor });
        unreachable.push(...(page.unreachable ?? []));
        return page;
      });
      return { instances, unreachable };
    }
    const regions = await this.opts.regions(this.opts.context(signal));
    const instances: Instance[] = [];
    const unreachable: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < regions.length) {
        const r = regions[next++]!;
        const budget = AbortSignal.any([signal, AbortSignal.timeout(this.opts.regionBudgetMs)]);
        try {
          const found = await this.walk(budget, (ctx, cursor) => backend.listInstances(ctx, { region: r, filters, pageSize: PAGE_SIZE, cursor }));
          instances.push(...found);
        } catch (err) {
          if (signal.aborted) throw err;
          const why = budget.aborted ? `timed out after ${this.opts.regionBudgetMs} ms` : bounded((err as Error).message, 200);
          unreachable.push(`${r}: ${why}`);
        }
        if (instances.length > this.opts.maxInstances) throw this.tooMany();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, regions.length) }, worker));
    return { instances, unreachable };
  }

  private tooMany(): Error {
    return new Error(`more than ${this.opts.maxInstances} instances match; narrow the watch with filters`);
  }

  private async walk(signal: AbortSignal, list: (ctx: CallContext, cursor?: string) => Promise<InstancePage>): Promise<Instance[]> {
    const out: Instance[] = [];
    let cursor: string | undefined;
    do {
      if (signal.aborted) throw deadlineExceeded("listing stopped");
      this.calls++;
      const page = await list(this.opts.context(signal), cursor);
      out.push(...page.instances);
      if (out.length > this.opts.maxInstances) throw this.tooMany();
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }
}
