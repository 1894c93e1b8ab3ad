// An allocation-free driver for a sample sink (the aggregator, or the
// exporter that serve runs): 8 ENA-like devices whose
// sample views are rewritten in place every tick, with bursts, a reset and
// failed reads on fixed schedules. Used by the allocation test and the
// throughput script, so neither measures a source's own costs.

import { enaStatNames } from '../../src/aggregation/ena-stats.js';
import { ALLOWANCE_STATS } from '../../src/aggregation/stat-policy.js';
import { makeLayout, type Sample, type SampleSink } from '../../src/sampling/sample.js';
import { NODE_COUNTER_NAMES, type NodeContext } from '../../src/sampling/context.js';

const TWO_32 = 4294967296;

export class Drive {
  readonly views: Sample[];
  readonly cur: Float64Array[];
  private readonly allow: Int32Array;
  private readonly moving: Int32Array;
  tick = 0;
  /** Scripted bursts on (finishing a burst allocates its record, by design). */
  bursts = true;

  constructor(
    readonly devices = 8,
    readonly queues = 8,
    readonly t0 = 1_764_000_000_000,
    readonly intervalMs = 100,
  ) {
    const names = enaStatNames({ queues });
    const layout = makeLayout(1, names);
    this.allow = Int32Array.from(ALLOWANCE_STATS.map((s) => layout.index.get(s)!));
    const moving: number[] = [];
    names.forEach((n, i) => {
      if (/_(cnt|bytes|doorbells|napi_comp|tx_poll|csum_good)$|^ena_admin_q_(submitted|completed)_cmd$/.test(n)) moving.push(i);
    });
    this.moving = Int32Array.from(moving);
    this.views = [];
    this.cur = [];
    for (let d = 0; d < devices; d++) {
      const cur = new Float64Array(names.length);
      const vals = new Uint32Array(2 * names.length);
      for (let i = 0; i < moving.length; i++) cur[moving[i]!] = 5e12 + d * 1e9 + i;
      for (let j = 0; j < this.allow.length; j++) cur[this.allow[j]!] = 1000 * (j + 1);
      // A live device always has connections to spare.
      const available = layout.index.get('conntrack_allowance_available');
      if (available !== undefined) vals[2 * available] = 40_000;
      this.cur.push(cur);
      this.views.push({ device: `eth${d}`, driver: 'ena', timeMs: 0, monoNs: Number.NaN, ioctlNs: Number.NaN, error: null, errno: 0, layout, values: vals, traffic: new Float64Array(4).fill(NaN) });
    }
  }

  /** The node's counters, once per tick before the samples, as the native source sends them. */
  readonly context: NodeContext = { timeMs: 0, names: NODE_COUNTER_NAMES, values: new Float64Array(NODE_COUNTER_NAMES.length) };

  /** One tick of every device into the sink. */
  step(agg: SampleSink): void {
    const k = this.tick++;
    const t = this.t0 + k * this.intervalMs;
    const c = this.context;
    c.timeMs = t - 0.05;
    for (let i = 0; i < c.values.length; i++) c.values[i] = 1e9 + k * (i + 1);
    agg.context?.(c);
    for (let d = 0; d < this.views.length; d++) {
      const v = this.views[d]!;
      const cur = this.cur[d]!;
      const vals = v.values;
      for (let i = 0; i < this.moving.length; i++) {
        const p = this.moving[i]!;
        const x = cur[p]! + 1000 + ((k * 7 + i) % 13);
        cur[p] = x;
        const lo = x % TWO_32;
        vals[2 * p] = lo;
        vals[2 * p + 1] = (x - lo) / TWO_32;
      }
      // A burst of 5 ticks every 30 s on one stat per device, rotating stats;
      // a genuine reset every 10 min; failed reads now and then.
      const phase = (k + d * 37) % 300;
      const stat = this.allow[(Math.floor(k / 300) + d) % this.allow.length]!;
      if (this.bursts && phase < 5) cur[stat] = cur[stat]! + 10 + phase * 100;
      if ((k + d) % 6000 === 3000) for (let j = 0; j < this.allow.length; j++) cur[this.allow[j]!] = 0;
      const zeroRead = (k + d * 11) % 997 === 500;
      for (let j = 0; j < this.allow.length; j++) {
        const p = this.allow[j]!;
        const x = zeroRead ? 0 : cur[p]!;
        const lo = x % TWO_32;
        vals[2 * p] = lo;
        vals[2 * p + 1] = (x - lo) / TWO_32;
      }
      v.timeMs = t;
      // A GSTATS ioctl of 20-45 µs, as on ENA: serve observes each one.
      v.ioctlNs = 20_000 + ((k * 31 + d * 7) % 25) * 1000;
      v.error = (k + d * 13) % 1499 === 700 ? 'ETIMEDOUT' : null;
      agg.sample(v);
    }
  }
}
