/** Small statistics for benchmark figures. */

/** The `p`-th percentile (0–100) of `values` by nearest rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** The median of `values` (mean of the two middle values for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `value` rounded to `digits` decimals (figures print without float noise). */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Sum of the numbers in a flat record (`{ a: 1, b: 2 }` → 3). */
export function sumValues(record: Record<string, number> | undefined): number {
  return Object.values(record ?? {}).reduce((total, n) => total + n, 0);
}

/** Sum of a two-level count record (`{ create: { '201': 3, '429': 1 } }` → 4), optionally of some keys only. */
export function sumNested(
  record: Record<string, Record<string, number>> | undefined,
  keep: (outer: string, inner: string) => boolean = () => true,
): number {
  let total = 0;
  for (const [outer, inners] of Object.entries(record ?? {})) {
    for (const [inner, n] of Object.entries(inners)) if (keep(outer, inner)) total += n;
  }
  return total;
}
