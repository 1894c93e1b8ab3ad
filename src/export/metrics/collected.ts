// A counter or gauge whose values are read from their source at scrape
// time: raw NIC counters, the sampler's own totals. Mirroring an external
// counter this way keeps its exact value (prom-client's Counter only has
// inc(), and resetting it every scrape is the documented anti-pattern).

import type { MetricSample, MetricSnapshot } from './registry.js';

export type Labels = Record<string, string>;

export class CollectedMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    readonly labelNames: readonly string[],
    private readonly collect: (emit: (labels: Labels, value: number) => void) => void,
  ) {}

  reset(): void {}

  get(): MetricSnapshot {
    const values: MetricSample[] = [];
    this.collect((labels, value) => values.push({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
}
