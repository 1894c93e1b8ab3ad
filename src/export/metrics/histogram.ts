// A labelled histogram whose observe() allocates nothing: each label
// combination is resolved once to a handle backed by a Float64Array.
// prom-client's own Histogram builds a label object and a hash string on
// every observation, which is fine per scrape and not per 100 ms tick.
// This plugs into prom-client's Registry through the same get() contract
// its metrics have.

import type { MetricSample, MetricSnapshot } from './registry.js';

export class HistogramHandle {
  /** counts[i] is the number of observations in bucket i (not cumulative); the last is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  private readonly one = new Float64Array(1);
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: Float64Array,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
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

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    this.bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
  }

  /** The handle for these label values (created on first use). Keep it; don't call this per observation. */
  child(...values: string[]): HistogramHandle {
    const key = values.join('\u0000');
    let h = this.children.get(key);
    if (!h) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
      h = new HistogramHandle(labels, this.bounds);
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
}
