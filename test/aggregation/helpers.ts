// Hand-built traces for the aggregation tests: records in, bursts/seconds/
// ticks/totals out, through the same Aggregator the CLI and exporter use.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aggregator, countedBurst, type AggregatorOptions, type CountedBurst, type FailedReadEvent, type SecondEvent, type StatTotals, type TickEvent } from '../../src/aggregation/aggregator.js';
import { makeLayout, type DeviceLayout, type Sample } from '../../src/sampling/sample.js';
import { u64Store } from '../../src/sampling/u64.js';
import type { StatQuantiles } from '../../src/commands/analyze.js';
import type { BurstBasics, BurstRecord } from '../../src/aggregation/burst-record.js';

export type Rec =
  | { t: number; device?: string; stats: Record<string, number | string> }
  | { t: number; device?: string; error: string }
  | { t: number; device?: string; removed: true };

export interface Collected {
  agg: Aggregator;
  /** What each burst counted (its context is tested in diagnosis.test.ts). */
  bursts: CountedBurst[];
  seconds: SecondEvent[];
  ticks: TickEvent[];
  failed: FailedReadEvent[];
  totals: StatTotals[];
  /** Totals keyed "device/stat". */
  total: (stat: string, device?: string) => StatTotals;
}

/** Feeds records to a fresh Aggregator (layout generation bumps when names change, like replay). */
export function runRecords(recs: readonly Rec[], options: AggregatorOptions = {}, finish = true): Collected {
  const agg = new Aggregator(options);
  const out = collect(agg);
  feed(agg, recs);
  if (finish) agg.finish();
  out.totals = agg.totals();
  return out;
}

export function collect(agg: Aggregator): Collected {
  const c: Collected = {
    agg,
    bursts: [],
    seconds: [],
    ticks: [],
    failed: [],
    totals: [],
    total(stat, device = 'eth0') {
      const t = agg.totals().find((x) => x.device === device && x.stat === stat);
      if (!t) throw new Error(`no totals for ${device}/${stat}`);
      return t;
    },
  };
  agg.addListener({
    onBurst: (b) => c.bursts.push(countedBurst(b)),
    onSecond: (s) => c.seconds.push({ ...s }),
    onTick: (t) => c.ticks.push({ ...t }),
    onFailedRead: (f) => c.failed.push({ ...f }),
  });
  return c;
}

export function feed(agg: Aggregator, recs: readonly Rec[]): void {
  const f = feeder(agg);
  for (const r of recs) f(r);
}

/** Feeds records one at a time, keeping layouts (and their generations) across calls. */
export function feeder(agg: Aggregator): (r: Rec) => void {
  const layouts = new Map<string, DeviceLayout>();
  return (r) => {
    const device = r.device ?? 'eth0';
    if ('removed' in r) {
      agg.deviceRemoved(device, r.t);
      return;
    }
    let layout = layouts.get(device) ?? makeLayout(0, []);
    const s: Sample = { device, driver: 'ena', timeMs: r.t, monoNs: Number.NaN, ioctlNs: Number.NaN, error: null, errno: 0, layout, values: new Uint32Array(0), traffic: new Float64Array(4).fill(NaN) };
    if ('error' in r) {
      s.error = r.error;
    } else {
      const names = Object.keys(r.stats);
      if (names.join('\0') !== layout.names.join('\0')) {
        layout = makeLayout(layout.generation + 1, names);
        layouts.set(device, layout);
      }
      s.layout = layout;
      s.values = new Uint32Array(2 * names.length);
      names.forEach((n, i) => {
        if (!u64Store(r.stats[n], s.values, 2 * i)) throw new Error(`bad value for ${n}`);
      });
    }
    agg.sample(s);
  };
}

/** A trace file from records (JSON Lines as src/sources/trace.ts writes them). */
export function traceFile(lines: readonly (Rec | string)[], name = 'trace.jsonl'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-agg-'));
  const path = join(dir, name);
  writeFileSync(
    path,
    lines
      .map((r) => {
        if (typeof r === 'string') return r;
        const device = r.device ?? 'eth0';
        if ('error' in r) return JSON.stringify({ t: r.t, device, error: r.error });
        if ('removed' in r) throw new Error('trace files cannot express removal');
        return JSON.stringify({ t: r.t, device, driver: 'ena', stats: r.stats });
      })
      .join('\n') + '\n',
  );
  return path;
}

/** One burst as `analyze --format json` prints it: the /api/bursts record shape. */
export type BurstJson = BurstRecord;

/** What a burst counted, as `simulate --expected` prints it (analyze adds onset, learned onset, node counters and diagnosis). */
export function basics(b: BurstBasics): BurstBasics {
  return { device: b.device, stat: b.stat, start_ms: b.start_ms, end_ms: b.end_ms, duration_ms: b.duration_ms, increase: b.increase, peak_rate_per_second: b.peak_rate_per_second };
}

/** One (device, stat) of the "totals" that `analyze --format json` prints. */
export interface TotalsJson {
  device: string;
  stat: string;
  increase: number;
  resets: number;
  failed_reads: number;
  samples: number;
  seconds_with_increase: number;
  max_second_increase: number;
}

/** The document `ethburst analyze --format json` prints. */
export interface AnalyzeJson {
  bursts: BurstJson[];
  totals: TotalsJson[];
  quantiles: StatQuantiles[];
}

export function parseAnalyzeJson(text: string): AnalyzeJson {
  return JSON.parse(text) as AnalyzeJson;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ethburst-agg-'));
}

/** Allowance stats for eth0-style records; unspecified ones are 0. */
export function ena(v: Partial<Record<'bw_in' | 'bw_out' | 'pps' | 'conntrack' | 'linklocal', number>>, extra: Record<string, number> = {}): Record<string, number> {
  return {
    tx_timeout: 0,
    bw_in_allowance_exceeded: v.bw_in ?? 0,
    bw_out_allowance_exceeded: v.bw_out ?? 0,
    pps_allowance_exceeded: v.pps ?? 0,
    conntrack_allowance_exceeded: v.conntrack ?? 0,
    linklocal_allowance_exceeded: v.linklocal ?? 0,
    conntrack_allowance_available: 5000,
    ...extra,
  };
}

export const T0 = 1_764_000_000_000;

/**
 * pps drops in three bursts over 13 s of 100 ms samples: 3 x 10 at 1.0-1.2 s
 * (30 packets, 300 ms from the sample before), 2 x 100 at 5.0-5.1 s (200,
 * 200 ms), 1 x 50 at 9.0 s (50, 100 ms). Per-second increases: 30, 200, 50
 * and ten zeros. Values below 256 are exact in the histograms.
 */
export function threeBursts(t0 = T0): { t: number; stats: Record<string, number> }[] {
  const recs: { t: number; stats: Record<string, number> }[] = [];
  let pps = 0;
  for (let i = 0; i <= 120; i++) {
    const t = i * 100;
    if (t >= 1000 && t <= 1200) pps += 10;
    if (t === 5000 || t === 5100) pps += 100;
    if (t === 9000) pps += 50;
    recs.push({ t: t0 + t, stats: ena({ pps }) });
  }
  return recs;
}
