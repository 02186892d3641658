/**
 * The nearest-rank percentile (the smallest sample with at least `percent`% of the samples at or
 * below it): always one of the measured values, no interpolation. p95 of 50 samples is the 48th.
 */
export function percentile(samples: readonly number[], percent: number): number {
  if (samples.length === 0) throw new RangeError('percentile of no samples');
  if (!(percent > 0 && percent <= 100)) throw new RangeError(`percent must be in (0, 100], got ${percent}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((percent / 100) * sorted.length);
  return sorted[rank - 1]!;
}
