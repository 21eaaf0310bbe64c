// The Cloud Billing Catalog path the refresher reads, answered from the
// hand-written samples in ../testdata/ (for the refresh tests' local
// server). Only the API key "test-key" is accepted.
import { join } from "node:path";

const DATA = join(import.meta.dir, "../testdata");

export const GCP_SKU_SAMPLES = {
  page1: join(DATA, "gcp-compute-skus-page1.sample.json"),
  page2: join(DATA, "gcp-compute-skus-page2.sample.json"),
};

/** The sample page for `url`, a 403 for a wrong key, or undefined when it is not the SKU path. */
export function gcpPriceListResponse(url: URL): Response | undefined {
  if (url.pathname !== "/v1/services/6F81-5844-456A/skus") return undefined;
  if (url.searchParams.get("key") !== "test-key") return new Response('{"error":{"code":403}}', { status: 403 });
  const file = url.searchParams.get("pageToken") === "sample-page-2" ? GCP_SKU_SAMPLES.page2 : GCP_SKU_SAMPLES.page1;
  return new Response(Bun.file(file), { headers: { "content-type": "application/json" } });
}
