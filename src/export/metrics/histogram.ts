// A labelled histogram whose observe() allocates nothing: each label
// combination is resolved once to a handle backed by Float64Arrays.
// prom-client's own Histogram builds a label object and a hash string on
// every observation, which is fine per scrape and not per 100 ms tick.
// This plugs into prom-client's Registry through the same get() contract
// its metrics have, and into the protobuf exposition through family(),
// which adds the Prometheus native histogram (exponential buckets) kept
// alongside the classic ones.

import type { HistogramFamily, NativeBuckets } from './protobuf.js';
import type { MetricSample, MetricSnapshot } from './registry.js';

/**
 * Native (sparse, exponential) buckets: bucket i holds (2^((i-1)/2^schema),
 * 2^(i/2^schema)], as Prometheus defines them. The range of indexes is
 * fixed when the histogram is made (values outside it count in its first or
 * last bucket), so observing allocates nothing.
 */
export interface NativeOptions {
  /** 3: each power of two split in 8 buckets (~9 % wide), what Prometheus' Go client calls a bucket factor of 1.1. */
  readonly schema: number;
  /** Smallest and largest value kept in buckets of their own. */
  readonly min: number;
  readonly max: number;
}

/** Go client's default width of the zero bucket: only exact zeros land there. */
export const ZERO_THRESHOLD = 2 ** -128;

/** The native bucket index holding v > 0 at this schema. */
export function nativeIndex(v: number, schema: number): number {
  const scale = 2 ** schema;
  let i = Math.ceil(Math.log2(v) * scale);
  // log2 is exact on powers of two (the only bounds that are exact numbers
  // at schema ≥ 0); elsewhere a rounding error is corrected against the bounds.
  if (v <= 2 ** ((i - 1) / scale)) i--;
  else if (v > 2 ** (i / scale)) i++;
  // Math.ceil of (-1, 0) is -0.
  return i === 0 ? 0 : i;
}

export class HistogramHandle {
  /** counts[i] is the number of observations in bucket i (not cumulative); the last is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  /** Native buckets from index `nativeLow` up, and the zero bucket; null without a native histogram. */
  readonly native: Float64Array | null;
  zeroCount = 0;
  private readonly one = new Float64Array(1);
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: Float64Array,
    private readonly schema = 0,
    readonly nativeLow = 0,
    /** Upper bound of each native bucket from `nativeLow` (shared by a family's handles); null without a native histogram. */
    private readonly upper: Float64Array | null = null,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
    this.native = upper ? new Float64Array(upper.length) : null;
  }

  /** Observations so far (the +Inf bucket's count). */
  get count(): number {
    let n = 0;
    for (let i = 0; i < this.counts.length; i++) n += this.counts[i]!;
    return n;
  }

  /**
   * Observes `from[i]`. A number passed to a function the compiler did not
   * inline is boxed on the heap; read from a typed array it is not, so the
   * per-tick callers use this.
   */
  observeAt(from: Float64Array, i: number): void {
    const v = from[i]!;
    const b = this.bounds;
    let k = 0;
    while (k < b.length && v > b[k]!) k++;
    this.counts[k]!++;
    this.sum += v;
    const n = this.native;
    if (n === null) return;
    if (v <= ZERO_THRESHOLD) {
      this.zeroCount++;
      return;
    }
    // nativeIndex without its two powers (~150 ns per observation): the
    // estimate from log2 is checked against the precomputed bounds.
    const u = this.upper!;
    let j = Math.ceil(Math.log2(v) * 2 ** this.schema) - this.nativeLow;
    j = j < 0 ? 0 : j >= n.length ? n.length - 1 : j;
    if (j > 0 && v <= u[j - 1]!) j--;
    else if (j < n.length - 1 && v > u[j]!) j++;
    n[j]!++;
  }

  /** The native buckets as spans and deltas (the protobuf form); runs of up to two empty buckets stay inside a span, as Prometheus' Go client does. */
  nativeBuckets(): NativeBuckets {
    const spans: { offset: number; length: number }[] = [];
    const deltas: number[] = [];
    const n = this.native!;
    let prevIndex = Number.NaN;
    let prevCount = 0;
    for (let j = 0; j < n.length; j++) {
      const c = n[j]!;
      if (c === 0) continue;
      const index = j + this.nativeLow;
      const gap = index - prevIndex - 1;
      if (prevIndex === prevIndex && gap <= 2) {
        for (let g = 0; g < gap; g++) {
          deltas.push(-prevCount);
          prevCount = 0;
        }
        spans[spans.length - 1]!.length += gap + 1;
      } else spans.push({ offset: prevIndex === prevIndex ? gap : index, length: 1 });
      deltas.push(c - prevCount);
      prevCount = c;
      prevIndex = index;
    }
    return { schema: this.schema, zeroThreshold: ZERO_THRESHOLD, zeroCount: this.zeroCount, spans, deltas };
  }

  /** Per event, not per tick: the argument may be boxed. */
  observe(v: number): void {
    this.one[0] = v;
    this.observeAt(this.one, 0);
  }
}

export class FixedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  private readonly children = new Map<string, HistogramHandle>();
  private readonly pairs = new Map<string, Map<string, HistogramHandle>>();
  private readonly nativeLow: number;
  private readonly upper: Float64Array | null;

  /**
   * `buckets` are the classic bounds (empty: only +Inf, _sum and _count);
   * `native` adds a native histogram to the protobuf exposition; `text:
   * false` keeps the family out of the text formats (a native-only
   * distribution whose classic form would cost series and say little).
   */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
    readonly native?: NativeOptions,
    readonly text = true,
  ) {
    this.bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
    this.nativeLow = native ? nativeIndex(native.min, native.schema) : 0;
    this.upper = null;
    if (native) {
      const high = nativeIndex(native.max, native.schema);
      this.upper = new Float64Array(high - this.nativeLow + 1);
      for (let j = 0; j < this.upper.length; j++) this.upper[j] = 2 ** ((j + this.nativeLow) / 2 ** native.schema);
    }
  }

  /** The handle for these label values (created on first use). Keep it; don't call this per observation. */
  child(...values: string[]): HistogramHandle {
    const key = values.join('\u0000');
    let h = this.children.get(key);
    if (!h) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
      h = new HistogramHandle(labels, this.bounds, this.native?.schema, this.nativeLow, this.upper);
      this.children.set(key, h);
    }
    return h;
  }

  /** The handle for (a, b) through nested maps: no key string is built, so a lookup per event allocates nothing. */
  child2(a: string, b: string): HistogramHandle {
    let byB = this.pairs.get(a);
    if (!byB) {
      byB = new Map();
      this.pairs.set(a, byB);
    }
    let h = byB.get(b);
    if (!h) {
      h = this.child(a, b);
      byB.set(b, h);
    }
    return h;
  }

  /** Drops every child whose label `name` equals `value` (a removed device). */
  removeWhere(name: string, value: string): void {
    for (const [key, h] of this.children) if (h.labels[name] === value) this.children.delete(key);
    if (name === this.labelNames[0]) this.pairs.delete(value);
  }

  reset(): void {
    this.children.clear();
    this.pairs.clear();
  }

  get(): MetricSnapshot {
    const values: MetricSample[] = [];
    for (const h of this.children.values()) {
      let cum = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cum += h.counts[i]!;
        const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { ...h.labels, le }, value: cum });
      }
      values.push({ metricName: `${this.name}_sum`, labels: h.labels, value: h.sum });
      values.push({ metricName: `${this.name}_count`, labels: h.labels, value: cum });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** The family for the protobuf exposition: classic buckets and, when configured, the native histogram. */
  family(): HistogramFamily {
    const metrics: HistogramFamily['metrics'] = [];
    for (const h of this.children.values()) {
      const buckets: { upperBound: number; cumulativeCount: number }[] = [];
      let cum = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cum += h.counts[i]!;
        buckets.push({ upperBound: this.bounds[i]!, cumulativeCount: cum });
      }
      metrics.push({ labels: h.labels, count: cum + h.counts[this.bounds.length]!, sum: h.sum, buckets, native: h.native ? h.nativeBuckets() : null });
    }
    return { name: this.name, help: this.help, metrics };
  }
}
