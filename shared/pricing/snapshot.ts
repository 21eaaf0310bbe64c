// Reading a dated price snapshot (Apache Libcloud's pricing.json, split per
// cloud into providers/<cloud>/pricing/snapshot/): the files and the
// provenance every catalog built from them carries. What the numbers mean
// and which corrections apply is each cloud's own (its snapshot.ts).

export interface SnapshotMeta {
  source: string;
  source_updated: string;
}

/** The catalog's `origin` for a snapshot. */
export function snapshotOrigin(meta: SnapshotMeta): string {
  return `${meta.source}, updated ${meta.source_updated}, with documented corrections`;
}

/** The snapshot directory: an explicit one (--from, SKYCLUST_PRICING_SNAPSHOT) holds every cloud's file. */
export function snapshotDir(cloudDefault: string, override: string | undefined = process.env.SKYCLUST_PRICING_SNAPSHOT): string {
  return override ?? cloudDefault;
}

/** The generator named in the header of a catalog module built from the snapshot. */
export const SNAPSHOT_BUILD = "scripts/build-price-catalog.ts from the 2023-08-06 snapshot";
