// Glance v2 image lookup: CreateInstance accepts an image by id or by name.
import { invalidArgument, ProviderError } from "../../shared/errors";
import type { Session } from "./session";
import { quote } from "../../shared/quote";

export interface GlanceImage {
  id: string;
  name?: string;
  status?: string;
  min_disk?: number;
  min_ram?: number;
  [key: string]: unknown;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** "/v2/images" under the image endpoint, whether or not the catalog URL already ends in /v2. */
const imagesPath = (endpoint: string) => (/\/v2$/.test(endpoint) ? "/images" : "/v2/images");

/** What instances show of their image: name, distro, and the image's own login user hint. */
export interface ImageFacts {
  name?: string;
  osDistro?: string;
  adminUser?: string;
}

const FACTS_TTL_MS = 10 * 60_000;

export class Images {
  private readonly facts = new Map<string, { at: number; facts: Promise<ImageFacts | undefined> }>();

  constructor(private readonly session: Session) {}

  /**
   * Name and login facts of an image id, cached for a few minutes per
   * region; undefined when Glance does not know it (deleted, not visible).
   * Never throws: these facts only decorate instances.
   */
  describe(region: string, id: string, signal: AbortSignal): Promise<ImageFacts | undefined> {
    const key = `${region}\0${id}`;
    const hit = this.facts.get(key);
    if (hit && Date.now() - hit.at < FACTS_TTL_MS) return hit.facts;
    const facts = this.call<GlanceImage>(region, `/${encodeURIComponent(id)}`, undefined, signal).then(
      ({ body }) => ({
        name: typeof body?.name === "string" ? body.name : undefined,
        osDistro: typeof body?.os_distro === "string" ? body.os_distro : undefined,
        // A Glance property some clouds set for exactly this purpose.
        adminUser: typeof body?.os_admin_user === "string" ? body.os_admin_user : undefined,
      }),
      () => undefined,
    );
    this.facts.set(key, { at: Date.now(), facts });
    return facts;
  }

  private async call<T>(region: string, suffix: string, query: Record<string, string> | undefined, signal: AbortSignal) {
    const endpoint = await this.session.endpoint("image", region, signal);
    return this.session.call<T>("image", region, imagesPath(endpoint) + suffix, { signal, query }, "glance");
  }

  /** Resolves an image id or an exact image name to one image; INVALID_ARGUMENT naming `field` otherwise. */
  async resolve(region: string, ref: string, signal: AbortSignal, field = "image_id"): Promise<GlanceImage> {
    if (UUID.test(ref)) {
      try {
        return (await this.call<GlanceImage>(region, `/${encodeURIComponent(ref)}`, undefined, signal)).body;
      } catch (err) {
        // A UUID-looking name is possible; fall through to the name lookup.
        if (!(err instanceof ProviderError && err.code === "NOT_FOUND")) throw err;
      }
    }
    const found = (await this.call<{ images: GlanceImage[] }>(region, "", { name: ref }, signal)).body?.images ?? [];
    if (found.length === 1) return found[0]!;
    if (found.length === 0) throw invalidArgument(field, `no image with id or name ${quote(ref)} in region ${quote(region)}`);
    throw invalidArgument(field, `${found.length} images are named ${quote(ref)}; give the image id (${found.map((i) => i.id).join(", ")})`);
  }
}
