/** Small statistics and scheduling helpers for the benchmark runner. */

/** The median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

export interface Slot<T> {
  readonly round: number;
  readonly variant: T;
}

/**
 * The run order for `rounds` rounds over `variants`: A B A B ... Interleaving spreads slow drift
 * (thermal throttling, a noisy neighbour, JIT warm-up) over every variant instead of one.
 */
export function interleave<T>(rounds: number, variants: readonly T[]): Slot<T>[] {
  const slots: Slot<T>[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const variant of variants) slots.push({ round, variant });
  }
  return slots;
}

/** `n` with thousands separators and no decimals, for tables. */
export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `ratio` (0..1) as a percentage with one decimal. */
export function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}
