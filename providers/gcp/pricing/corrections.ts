// Documented corrections to the 2023-08-06 Compute Engine snapshot in
// snapshot/ (Apache Libcloud's pricing.json): Libcloud keeps GCE per-unit
// rates at more decimals than Google's published tables, so e2-standard-2
// comes out 0.067011 instead of Google's 0.067006, and it lacks us-east1 and
// us-west1. Used by the snapshot build and the SKU refresh alike.
import type { CatalogCorrection } from "../../../shared/pricing/catalog-types";

/**
 * Google publishes per-unit Compute Engine rates with 6 decimals and its
 * machine-type prices follow from those (e2-standard-2 in us-central1:
 * 2 x 0.021811 + 8 x 0.002923 = 0.067006). Libcloud stores some rates with
 * more digits (e2: 0.02181159 / 0.00292353), which drifts from the published
 * machine prices; the catalog keeps the first 6 decimals.
 */
export const GCE_RATE_DECIMALS = 6;

export function truncateRate(value: number, decimals = GCE_RATE_DECIMALS): number {
  const scale = 10 ** decimals;
  // The epsilon keeps values like 0.0348 (0.034799999... in binary) intact.
  return Math.floor(value * scale + 1e-6) / scale;
}

export const GCE_RATE_CORRECTION: CatalogCorrection = {
  what: "GCE per-vCPU and per-GiB rates with more than 6 decimals (e2, e2_custom, m1 and a few others)",
  from: "e.g. e2 us-central1 0.02181159 per vCPU-hour, 0.00292353 per GiB-hour",
  to: "e.g. 0.021811 and 0.002923 (first 6 decimals)",
  reason:
    "Google's published Compute Engine price tables list per-unit rates with 6 decimals and machine prices computed from them (e2-standard-2 us-central1 = 0.067006 USD/h, https://cloud.google.com/compute/vm-instance-pricing)",
};

/**
 * Libcloud's GCE data has no us-east1 or us-west1 entries at all. Google's
 * "... running in Americas" SKUs bill us-central1, us-east1 and us-west1 at
 * one rate (Compute Engine's lowest price tier), so the build copies the
 * us-central1 rates to those two regions, where the snapshot lacks them.
 */
export const GCE_REGION_COPIES: { from: string; to: string[] } = { from: "us-central1", to: ["us-east1", "us-west1"] };

export const GCE_REGION_CORRECTION: CatalogCorrection = {
  what: "GCE us-east1 and us-west1 (missing from the snapshot)",
  from: "no entries",
  to: "the us-central1 rates of every series",
  reason:
    "Google's Cloud Billing SKUs \"<series> Instance Core/Ram running in Americas\" cover us-central1, us-east1 and us-west1 with one price",
};
