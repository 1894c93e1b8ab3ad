// Order statistics for the bench: medians over repeated runs and latency
// percentiles. One definition everywhere (linear interpolation between
// closest ranks, numpy's default), so the table and the JSON agree.

/** The q-quantile (0..1) of the first `n` values of `values`; NaN when n is 0. Does not modify its input. */
export function quantile(values: ArrayLike<number>, q: number, n: number = values.length): number {
  if (n <= 0) return Number.NaN;
  const sorted = Float64Array.from({ length: n }, (_, i) => values[i]!).sort();
  return quantileSorted(sorted, q);
}

/** As quantile(), for values already sorted ascending. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const clamped = Math.min(1, Math.max(0, q));
  const pos = clamped * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

export function median(values: ArrayLike<number>, n: number = values.length): number {
  return quantile(values, 0.5, n);
}

/** What the bench reports about a latency distribution. */
export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function distribution(values: ArrayLike<number>, n: number = values.length): Distribution {
  if (n <= 0) return { n: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = Float64Array.from({ length: n }, (_, i) => values[i]!).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return { n, p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), max: sorted[n - 1]!, mean: sum / n };
}

/** Scales every statistic of a distribution (e.g. ns to ms). */
export function scaleDistribution(d: Distribution, factor: number): Distribution {
  return { n: d.n, p50: d.p50 * factor, p99: d.p99 * factor, max: d.max * factor, mean: d.mean * factor };
}
