// Glance v2 image lookup: CreateInstance accepts an image by id or by name.
import { invalidArgument, ProviderError } from "../../shared/errors";
import type { Session } from "./session";

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

export class Images {
  constructor(private readonly session: Session) {}

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
    if (found.length === 0) throw invalidArgument(field, `no image with id or name "${ref}" in region "${region}"`);
    throw invalidArgument(field, `${found.length} images are named "${ref}"; give the image id (${found.map((i) => i.id).join(", ")})`);
  }
}
