// The pricing API the providers use. Catalog prices (AWS, GCP) are bundled
// into the binary; OpenStack and Proxmox price from an operator rate card.
export { awsPriceQuote } from "./aws";
export { gcpPriceQuote } from "./gcp";
export { gceMachineShape, type GceShape } from "./gce-shapes";
export {
  DEMO_RATE_CARDS,
  RATE_CARD_FLAGS,
  loadRateCard,
  parseRateCard,
  rateCardQuote,
  type FlavorRate,
  type PricedShape,
  type RateCard,
} from "./rate-card";
export { parseDuration, HOURS_PER_UNIT, type Duration } from "./duration";
export { PRICE_CATALOG } from "./catalog.generated";
export type { PriceCatalog } from "./catalog-types";
export { roundToDecimals } from "./rounding";
