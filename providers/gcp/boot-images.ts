// The image an instance was created from. GCE's instance resource does not
// carry it: only the boot disk resource does (`sourceImage`). Asking for each
// boot disk would cost one call per instance, so a page of instances is
// resolved at once: the disk URLs not yet known are looked up with
// disks.aggregatedList filtered on their names (a few calls per page, never
// one per instance), and the answers are kept in a bounded cache keyed by
// disk URL. A disk's source image never changes; the TTL only bounds how long
// a deleted and re-created disk of the same name could show the old image.
import type { google } from "@google-cloud/compute/build/protos/protos";
import type { CallContext } from "../../shared/provider";
import { reLiteral } from "./filters";
import { gceCall, type GceClients } from "./gce-api";
import type { GceInstance } from "./instances";

type GceDisk = google.cloud.compute.v1.IDisk;

/** What a boot disk says about where it came from. */
export interface BootSource {
  /** projects/P/global/images/NAME, the form CreateInstance accepts as image_id. */
  image?: string;
  imageId?: string;
  snapshot?: string;
}

/** Longest filter expression per disks.aggregatedList call (GCE filters travel in the URL). */
const MAX_FILTER_CHARS = 2000;
/** disks.aggregatedList pages read per name chunk (a name filter matches few disks; GCE may still split them). */
const MAX_PAGES_PER_CHUNK = 10;
const CACHE_ENTRIES = 10_000;
const CACHE_TTL_MS = 60 * 60_000;

/** "zones/Z/disks/N" (or regions/R/disks/N) from a disk URL, whatever host or API version it names. */
export function diskKey(url: string | null | undefined): string | undefined {
  const m = /(?:^|\/)((?:zones|regions)\/[^/]+\/disks\/[^/]+)$/.exec(url ?? "");
  return m?.[1];
}

/** projects/P/global/images/NAME from an image URL. */
export function imagePath(url: string | null | undefined): string | undefined {
  const m = /(?:^|\/)(projects\/[^/]+\/global\/images\/[^/]+)$/.exec(url ?? "");
  return m?.[1] ?? (url || undefined);
}

export function bootDiskKey(raw: GceInstance): string | undefined {
  return diskKey(raw.disks?.find((d) => d.boot)?.source);
}

/** Splits names into filter expressions no longer than MAX_FILTER_CHARS. */
export function nameFilters(names: string[]): string[] {
  const filters: string[] = [];
  let chunk: string[] = [];
  // GCE's `eq` is a full RE2 match. Disk names are [a-z0-9-] only; a name
  // with a double quote cannot come from GCE and is skipped.
  const render = (c: string[]) => `name eq "(${c.map(reLiteral).join("|")})"`;
  for (const name of names) {
    if (name.includes('"')) continue;
    if (chunk.length > 0 && render([...chunk, name]).length > MAX_FILTER_CHARS) {
      filters.push(render(chunk));
      chunk = [];
    }
    chunk.push(name);
  }
  if (chunk.length > 0) filters.push(render(chunk));
  return filters;
}

interface AggregatedDisks {
  items?: Record<string, { disks?: GceDisk[] }>;
  nextPageToken?: string;
}

export class BootImages {
  private readonly cache = new Map<string, { source: BootSource; at: number }>();

  constructor(
    private readonly clients: GceClients,
    private readonly project: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Boot sources for the instances' boot disks, keyed by diskKey. A failed
   * look-up (say, no compute.disks.list permission) leaves those instances
   * without an image rather than failing the listing; the caller's deadline
   * or cancellation still ends the call.
   */
  async resolve(ctx: CallContext, raws: GceInstance[]): Promise<Map<string, BootSource>> {
    const out = new Map<string, BootSource>();
    const missing = new Map<string, Set<string>>(); // disk name -> keys wanting it
    for (const raw of raws) {
      const key = bootDiskKey(raw);
      if (!key) continue;
      const hit = this.cache.get(key);
      if (hit && this.now() - hit.at < CACHE_TTL_MS) {
        out.set(key, hit.source);
        continue;
      }
      const name = key.slice(key.lastIndexOf("/") + 1);
      if (!missing.has(name)) missing.set(name, new Set());
      missing.get(name)!.add(key);
    }
    if (missing.size === 0) return out;
    try {
      for (const filter of nameFilters([...missing.keys()].sort())) {
        for (const disk of await this.listDisks(ctx, filter)) {
          const key = diskKey(disk.selfLink);
          if (!key || !missing.get(disk.name ?? "")?.has(key)) continue;
          const source: BootSource = {
            image: imagePath(disk.sourceImage),
            imageId: disk.sourceImageId || undefined,
            snapshot: imagePathOrName(disk.sourceSnapshot),
          };
          this.remember(key, source);
          out.set(key, source);
        }
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      ctx.log.warn("disks.aggregatedList failed; instances are listed without image_id", { error: (err as Error).message });
    }
    return out;
  }

  private async listDisks(ctx: CallContext, filter: string): Promise<GceDisk[]> {
    await this.clients.disks.initialize();
    // As with instances: the inner call with autoPaginate off returns one page and its token.
    const aggregated = (this.clients.disks as unknown as { innerApiCalls: Record<string, Function> }).innerApiCalls.aggregatedList!;
    const disks: GceDisk[] = [];
    let pageToken: string | undefined;
    for (let i = 0; i < MAX_PAGES_PER_CHUNK; i++) {
      const request = { project: this.project, filter, maxResults: 500, returnPartialSuccess: true, ...(pageToken ? { pageToken } : {}) };
      const [, , raw] = (await gceCall(ctx, "disks.aggregatedList", { safe: true, blame: "provider" }, (o) => aggregated(request, { ...o, autoPaginate: false }))) as [
        unknown,
        unknown,
        AggregatedDisks,
      ];
      for (const scoped of Object.values(raw?.items ?? {})) disks.push(...(scoped.disks ?? []));
      pageToken = raw?.nextPageToken || undefined;
      if (!pageToken) break;
    }
    return disks;
  }

  private remember(key: string, source: BootSource): void {
    // Map keeps insertion order: dropping the first key drops the oldest entry.
    this.cache.delete(key);
    this.cache.set(key, { source, at: this.now() });
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
  }
}

/** projects/P/global/snapshots/NAME from a snapshot URL. */
function imagePathOrName(url: string | null | undefined): string | undefined {
  const m = /(?:^|\/)(projects\/[^/]+\/global\/snapshots\/[^/]+)$/.exec(url ?? "");
  return m?.[1] ?? (url || undefined);
}
