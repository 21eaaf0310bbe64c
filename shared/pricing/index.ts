// The pricing API the providers share: durations, rounding and operator
// rate cards (OpenStack, Proxmox). Catalog prices are each catalog cloud's
// own (providers/aws/pricing, providers/gcp/pricing), bundled into that
// cloud's binary only.
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
export { roundToDecimals } from "./rounding";
