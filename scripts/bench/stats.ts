// Small statistics helpers for the benchmark suite.

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank: the smallest value with at least p% of samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export const median = (values: number[]) => percentile(values, 50);

export const mib = (kib: number) => kib / 1024;

/** "1.23" style with a fixed number of decimals; "n/a" for missing values. */
export function fmt(value: number | undefined, decimals = 0): string {
  return value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(decimals);
}

/** a/b as "0.87x"; "n/a" when either side is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "n/a";
  return `${(a / b).toFixed(2)}x`;
}
