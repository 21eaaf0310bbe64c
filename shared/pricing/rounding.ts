// The one place a GetCostEstimate amount is rounded: 6 decimals, half up,
// applied to the exact decimal the arithmetic meant. A plain
// Math.round(n * 1e6) rounds 0.00837575 x 730 (= 6.1142975 exactly, but
// 6.114297499999999 in binary) down to 6.114297; cutting the binary noise
// below 15 significant digits first gives the 6.114298 a spreadsheet shows.
export function roundToDecimals(n: number, decimals = 6): number {
  if (!Number.isFinite(n)) return n;
  const scale = 10 ** decimals;
  const scaled = Number((Number(n.toPrecision(15)) * scale).toPrecision(15));
  return Math.round(scaled) / scale;
}
