// One hand-built trace per rule of issue 3's "Semantics" section.

import { describe, expect, it } from 'vitest';
import { trackedStatMatcher } from '../../src/aggregation/stat-policy.js';
import { ena, runRecords, T0, type Rec } from './helpers.js';

const PPS = 'pps_allowance_exceeded';
const BW_IN = 'bw_in_allowance_exceeded';

/** pps values at T0 + i * 100 ms. */
function ppsSeries(values: readonly number[], dtMs = 100, t0 = T0): Rec[] {
  return values.map((v, i) => ({ t: t0 + i * dtMs, stats: ena({ pps: v }) }));
}

describe('increases and resets', () => {
  it('takes differences, and a decrease as a reset whose increase is the new value', () => {
    const r = runRecords(ppsSeries([10, 10, 15, 3, 7]));
    const inc = r.ticks.filter((t) => t.stat === PPS).map((t) => [t.increase, t.reset]);
    expect(inc).toEqual([
      [0, false],
      [0, false],
      [5, false],
      [3, true],
      [4, false],
    ]);
    expect(r.total(PPS)).toMatchObject({ increase: 12, resets: 1, failedReads: 0, samples: 5 });
  });

  it('tracks only *_allowance_exceeded by default; --burst-stat adds more; gauges are not tracked', () => {
    const recs: Rec[] = [
      { t: T0, stats: ena({}, { rx_drops: 1 }) },
      { t: T0 + 100, stats: ena({}, { rx_drops: 4 }) },
    ];
    expect(runRecords(recs).totals.map((t) => t.stat)).toEqual([BW_IN, 'bw_out_allowance_exceeded', 'conntrack_allowance_exceeded', 'linklocal_allowance_exceeded', PPS]);
    const r = runRecords(recs, { trackedStat: trackedStatMatcher([/drops$/]) });
    expect(r.total('rx_drops')).toMatchObject({ increase: 3 });
    expect(r.bursts).toEqual([expect.objectContaining({ stat: 'rx_drops', startMs: T0, endMs: T0 + 100, increase: 3, peakRatePerSecond: 30 })]);
  });

  it('computes exact increases above 2^53 and across the u32 halves', () => {
    const big = 2n ** 60n;
    const r = runRecords([
      { t: T0, stats: { pps_allowance_exceeded: (big - 5n).toString() } },
      { t: T0 + 100, stats: { pps_allowance_exceeded: (big + 7n).toString() } },
      { t: T0 + 200, stats: { pps_allowance_exceeded: 4294967295 } },
      { t: T0 + 300, stats: { pps_allowance_exceeded: 4294967297 } },
    ]);
    expect(r.ticks.map((t) => t.increase)).toEqual([0, 12, 4294967295, 2]);
    expect(r.total(PPS).resets).toBe(1);
  });
});

describe('failed reads', () => {
  it('skips error records, counts them, and takes the next increase from the last good sample', () => {
    const r = runRecords([
      { t: T0, stats: ena({ pps: 10 }) },
      { t: T0 + 100, error: 'ETIMEDOUT' },
      { t: T0 + 200, stats: ena({ pps: 14 }) },
    ]);
    expect(r.total(PPS)).toMatchObject({ increase: 4, failedReads: 1, samples: 2 });
    expect(r.ticks.filter((t) => t.stat === PPS).at(-1)).toMatchObject({ increase: 4, prevTimeMs: T0, ratePerSecond: 20 });
    expect(r.failed).toEqual([{ device: 'eth0', timeMs: T0 + 100, kind: 'error' }]);
  });

  it('drops a bogus all-zero read: no reset, increase from the sample before, raw value never 0', () => {
    const recs: Rec[] = [
      { t: T0, stats: ena({ pps: 100, bw_in: 7 }) },
      { t: T0 + 100, stats: ena({ pps: 105, bw_in: 7 }) },
      { t: T0 + 200, stats: { ...ena({}), conntrack_allowance_available: 0 } },
      { t: T0 + 300, stats: ena({ pps: 108, bw_in: 7 }) },
    ];
    const first = runRecords(recs.slice(0, 3), {}, false);
    // While the zero read is held, exported raw values stay at the last good sample.
    expect(first.agg.rawValue('eth0', PPS)).toBe('105');
    expect(first.agg.rawValue('eth0', 'conntrack_allowance_available')).toBe('5000');

    const r = runRecords(recs);
    expect(r.total(PPS)).toMatchObject({ increase: 8, resets: 0, failedReads: 1, samples: 3 });
    expect(r.total(BW_IN)).toMatchObject({ increase: 0, resets: 0, failedReads: 1 });
    expect(r.ticks.filter((t) => t.stat === PPS).map((t) => t.timeMs - T0)).toEqual([0, 100, 300]);
    expect(r.ticks.filter((t) => t.stat === PPS).at(-1)).toMatchObject({ increase: 3, prevTimeMs: T0 + 100 });
    expect(r.failed).toEqual([{ device: 'eth0', timeMs: T0 + 200, kind: 'bogus' }]);
    expect(r.agg.deviceCounters('eth0')).toMatchObject({ bogusDropped: 1, suspectsDropped: 0, suspectsGenuine: 0 });
    expect(r.bursts).toEqual([
      expect.objectContaining({ stat: PPS, startMs: T0, endMs: T0 + 300, increase: 8, peakRatePerSecond: 50 }),
    ]);
  });

  it('accepts an all-zero read as a genuine reset when the next sample stays below the values before it', () => {
    const r = runRecords([
      { t: T0, stats: ena({ pps: 100, bw_in: 7 }) },
      { t: T0 + 100, stats: ena({}) },
      { t: T0 + 200, stats: ena({ pps: 2 }) },
      { t: T0 + 300, stats: ena({ pps: 2 }) },
    ]);
    expect(r.total(PPS)).toMatchObject({ increase: 2, resets: 1, failedReads: 0, samples: 4 });
    expect(r.total(BW_IN)).toMatchObject({ increase: 0, resets: 1 });
    expect(r.ticks.filter((t) => t.stat === PPS).map((t) => [t.timeMs - T0, t.increase, t.reset])).toEqual([
      [0, 0, false],
      [100, 0, true],
      [200, 2, false],
      [300, 0, false],
    ]);
    expect(r.agg.rawValue('eth0', PPS)).toBe('2');
    expect(r.agg.deviceCounters('eth0')).toMatchObject({ suspectsDropped: 0, suspectsGenuine: 1 });
  });

  it('is not suspicious when every allowance counter was already 0', () => {
    const r = runRecords([
      { t: T0, stats: ena({}) },
      { t: T0 + 100, stats: ena({}) },
    ]);
    expect(r.agg.deviceCounters('eth0')).toMatchObject({ accepted: 2, suspectsDropped: 0, suspectsGenuine: 0 });
  });

  it('judges a held read by the next successful sample, across error records', () => {
    const r = runRecords([
      { t: T0, stats: ena({ pps: 100 }) },
      { t: T0 + 100, stats: ena({}) },
      { t: T0 + 200, error: 'EBUSY' },
      { t: T0 + 300, stats: ena({ pps: 101 }) },
    ]);
    expect(r.total(PPS)).toMatchObject({ increase: 1, resets: 0, failedReads: 2, samples: 2 });
  });

  it('discards a read still held at the end of input: no reset, counted as failed', () => {
    const r = runRecords([
      { t: T0, stats: ena({ pps: 100 }) },
      { t: T0 + 100, stats: ena({}) },
    ]);
    expect(r.total(PPS)).toMatchObject({ increase: 0, resets: 0, failedReads: 1, samples: 1 });
    expect(r.agg.rawValue('eth0', PPS)).toBe('100');
  });
});

describe('epochs', () => {
  it('computes no increase across a layout change', () => {
    const r = runRecords([
      { t: T0, stats: ena({ pps: 10 }) },
      { t: T0 + 100, stats: ena({ pps: 12 }) },
      // A new stat appears (driver re-queried its metrics): new layout, new epoch.
      { t: T0 + 200, stats: ena({ pps: 500 }, { ena_srd_mode: 1 }) },
      { t: T0 + 300, stats: ena({ pps: 501 }, { ena_srd_mode: 1 }) },
    ]);
    expect(r.ticks.filter((t) => t.stat === PPS).map((t) => t.increase)).toEqual([0, 2, 0, 1]);
    expect(r.total(PPS)).toMatchObject({ increase: 3, resets: 0, samples: 4 });
    expect(r.agg.deviceCounters('eth0')?.epochs).toBe(2);
  });

  it('ends the bursts of stats the new layout lacks', () => {
    const r = runRecords([
      { t: T0, stats: { linklocal_allowance_exceeded: 1, pps_allowance_exceeded: 0 } },
      { t: T0 + 100, stats: { linklocal_allowance_exceeded: 5, pps_allowance_exceeded: 0 } },
      { t: T0 + 200, stats: { pps_allowance_exceeded: 0 } },
      { t: T0 + 60_000, stats: { pps_allowance_exceeded: 0 } },
    ]);
    expect(r.bursts).toEqual([expect.objectContaining({ stat: 'linklocal_allowance_exceeded', startMs: T0, endMs: T0 + 100, increase: 4 })]);
    expect(r.total('linklocal_allowance_exceeded').samples).toBe(2);
  });

  it('finalises bursts when a device vanishes mid-burst, and starts a new epoch when it returns', () => {
    const r = runRecords(
      [
        { t: T0, stats: ena({ pps: 0 }) },
        { t: T0 + 100, stats: ena({ pps: 5 }) },
        { t: T0 + 200, stats: ena({ pps: 9 }) },
        { t: T0 + 250, removed: true },
        { t: T0 + 1000, stats: ena({ pps: 50 }) },
        { t: T0 + 1100, stats: ena({ pps: 51 }) },
      ],
      {},
      false,
    );
    // Final at removal, before the device came back.
    expect(r.bursts).toEqual([expect.objectContaining({ stat: PPS, startMs: T0, endMs: T0 + 200, durationMs: 200, increase: 9, peakRatePerSecond: 50 })]);
    expect(r.ticks.filter((t) => t.stat === PPS).map((t) => t.increase)).toEqual([0, 5, 4, 0, 1]);
    r.agg.finish();
    expect(r.bursts.at(-1)).toMatchObject({ startMs: T0 + 1000, endMs: T0 + 1100, increase: 1 });
    expect(r.agg.totals().find((t) => t.stat === PPS)).toMatchObject({ increase: 10, samples: 5, bursts: 2 });
  });
});

describe('bursts', () => {
  it('starts at the sample before the first increase, ends at the last increase, peak = max d / dt', () => {
    const r = runRecords(ppsSeries([0, 0, 3, 3, 13, 14, 14, 14]));
    expect(r.bursts).toEqual([
      { device: 'eth0', stat: PPS, startMs: T0 + 100, endMs: T0 + 500, durationMs: 400, increase: 14, peakRatePerSecond: 100, ticks: 3 },
    ]);
  });

  it('keeps increases exactly burst-gap apart in one burst, and splits just over it', () => {
    const at = (ms: number, v: number): Rec => ({ t: T0 + ms, stats: ena({ pps: v }) });
    const exact = runRecords([at(0, 0), at(100, 1), at(2100, 2), at(2200, 2)]);
    expect(exact.bursts).toEqual([expect.objectContaining({ startMs: T0, endMs: T0 + 2100, increase: 2 })]);
    const over = runRecords([at(0, 0), at(100, 1), at(2100.5, 2), at(2200, 2)]);
    expect(over.bursts).toEqual([
      expect.objectContaining({ startMs: T0, endMs: T0 + 100, increase: 1, peakRatePerSecond: 10 }),
      expect.objectContaining({ startMs: T0 + 100, endMs: T0 + 2100.5, increase: 1, durationMs: 2000.5 }),
    ]);
    // Same with a custom gap.
    const custom = runRecords([at(0, 0), at(100, 1), at(600, 2), at(1101, 3)], { burstGapMs: 500 });
    expect(custom.bursts.map((b) => [b.startMs - T0, b.endMs - T0, b.increase])).toEqual([
      [0, 600, 2],
      [600, 1101, 1],
    ]);
  });

  it('is final once a sample more than burst-gap after its last increase arrives, not before', () => {
    const r = runRecords(ppsSeries([0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4], 100), {}, false);
    // Last increase at 100 ms; the sample at 2200 ms is the first more than 2 s later.
    expect(r.bursts).toHaveLength(1);
    const r2 = runRecords(ppsSeries([0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4], 100), {}, false);
    expect(r2.bursts).toHaveLength(0); // last sample at 2100 ms: exactly the gap
  });

  it('continues a burst through a reset in its middle', () => {
    const r = runRecords(ppsSeries([100, 110, 4, 9, 9]));
    expect(r.bursts).toEqual([expect.objectContaining({ startMs: T0, endMs: T0 + 300, increase: 19, peakRatePerSecond: 100 })]);
    expect(r.total(PPS)).toMatchObject({ increase: 19, resets: 1 });
  });

  it('keeps stats and devices apart', () => {
    const r = runRecords([
      { t: T0, stats: ena({}) },
      { t: T0, device: 'eth1', stats: ena({}) },
      { t: T0 + 100, stats: ena({ pps: 1, bw_in: 2 }) },
      { t: T0 + 150, device: 'eth1', stats: ena({ pps: 8 }) },
    ]);
    expect(r.bursts.map((b) => [b.device, b.stat, b.increase, b.startMs - T0])).toEqual(
      expect.arrayContaining([
        ['eth0', PPS, 1, 0],
        ['eth0', BW_IN, 2, 0],
        ['eth1', PPS, 8, 0],
      ]),
    );
    expect(r.bursts).toHaveLength(3);
  });
});

describe('per-second attribution', () => {
  it('attributes each increase to the unix second of its sample, zeros included', () => {
    // Samples at .8, .9 of second 0, then .0 .. .3 of second 1, then one in second 4.
    const base = 1_764_000_000_000; // whole second
    const recs: Rec[] = [
      { t: base + 800, stats: ena({ pps: 0 }) },
      { t: base + 900, stats: ena({ pps: 5 }) },
      { t: base + 1000, stats: ena({ pps: 12 }) },
      { t: base + 1100, stats: ena({ pps: 13 }) },
      { t: base + 1300, stats: ena({ pps: 13 }) },
      { t: base + 4500, stats: ena({ pps: 20 }) },
    ];
    const r = runRecords(recs);
    const s0 = base / 1000;
    expect(r.seconds.filter((s) => s.stat === PPS).map((s) => [s.second - s0, s.increase])).toEqual([
      [0, 5],
      [1, 8],
      [2, 0],
      [3, 0],
      [4, 7],
    ]);
    expect(r.total(PPS)).toMatchObject({ secondsWithIncrease: 3, maxSecondIncrease: 8, increase: 20 });
    // One burst across the second boundary (0.9 -> 1.1), then one alone.
    expect(r.bursts.filter((b) => b.stat === PPS).map((b) => [b.startMs - base, b.endMs - base, b.increase])).toEqual([
      [800, 1100, 13],
      [1300, 4500, 7],
    ]);
  });

  it('starts a fresh sampled life after the device reappears (no zero seconds for the absence)', () => {
    const r = runRecords([
      { t: T0, stats: ena({ pps: 1 }) },
      { t: T0 + 500, removed: true },
      { t: T0 + 10_000, stats: ena({ pps: 1 }) },
    ]);
    expect(r.seconds.filter((s) => s.stat === PPS).map((s) => s.second - T0 / 1000)).toEqual([0, 10]);
  });
});

/** The ENI-stats path (and older devices): five counters, no conntrack_allowance_available. */
function eni(v: Parameters<typeof ena>[0], extra: Record<string, number> = {}): Record<string, number> {
  const { conntrack_allowance_available: _gone, ...rest } = ena(v, extra);
  return rest;
}
const zeroed = (extra: Record<string, number> = {}): Record<string, number> => ({ ...ena({}, extra), conntrack_allowance_available: 0 });

describe('failure modes of real ENA (issue 11)', () => {
  it('an error is not a layout change: the drops during it are counted on the sample after it', () => {
    const r = runRecords([
      { t: T0, stats: ena({ pps: 100 }) },
      { t: T0 + 100, error: 'ETIMEDOUT' },
      { t: T0 + 150, stats: ena({ pps: 1100 }) },
      { t: T0 + 250, stats: ena({ pps: 1100 }) },
    ]);
    expect(r.bursts.map((b) => [b.stat, b.increase])).toEqual([[PPS, 1000]]);
    expect(r.total(PPS)).toMatchObject({ increase: 1000, resets: 0, failedReads: 1 });
    expect(r.agg.deviceCounters('eth0')?.epochs).toBe(1);
  });

  it('drops bogus reads at start-up too: the whole counter is never taken for a burst', () => {
    const r = runRecords([
      { t: T0, stats: zeroed() },
      { t: T0 + 100, stats: zeroed() },
      { t: T0 + 200, stats: ena({ pps: 5000 }) },
      { t: T0 + 300, stats: ena({ pps: 5000 }) },
    ]);
    expect(r.bursts).toEqual([]);
    expect(r.total(PPS)).toMatchObject({ increase: 0, resets: 0, failedReads: 2, samples: 2 });
  });

  it('drops a bogus read right after an error, and the raw counter never shows it', () => {
    const recs: Rec[] = [
      { t: T0, stats: ena({ pps: 100 }) },
      { t: T0 + 1500, error: 'ETIMEDOUT' },
      { t: T0 + 1600, stats: zeroed() },
    ];
    const mid = runRecords(recs, {}, false);
    expect(mid.agg.rawValue('eth0', PPS)).toBe('100');
    const r = runRecords([...recs, { t: T0 + 1700, stats: ena({ pps: 100 }) }]);
    expect(r.bursts).toEqual([]);
    expect(r.total(PPS)).toMatchObject({ increase: 0, resets: 0, failedReads: 2 });
  });

  it.each([1, 2, 3, 5])('a run of %i all-zero reads (no gauge to tell) followed by the old values was failed reads', (n) => {
    const recs: Rec[] = [{ t: T0, stats: eni({ pps: 100 }) }];
    for (let i = 1; i <= n; i++) recs.push({ t: T0 + 100 * i, stats: eni({}) });
    recs.push({ t: T0 + 100 * (n + 1), stats: eni({ pps: 104 }) });
    const r = runRecords(recs);
    expect(r.bursts.map((b) => [b.stat, b.increase])).toEqual([[PPS, 4]]);
    expect(r.total(PPS)).toMatchObject({ increase: 4, resets: 0, failedReads: n, samples: 2 });
    expect(r.agg.deviceCounters('eth0')).toMatchObject({ suspectsDropped: n, suspectsGenuine: 0 });
  });

  it('a run with errors and bogus reads interleaved is judged as one run', () => {
    const r = runRecords([
      { t: T0, stats: ena({ pps: 100, bw_in: 3 }) },
      { t: T0 + 100, stats: ena({}) },
      { t: T0 + 200, error: 'EBUSY' },
      { t: T0 + 300, stats: zeroed() },
      { t: T0 + 400, stats: ena({}) },
      { t: T0 + 500, stats: ena({ pps: 100, bw_in: 3 }) },
    ]);
    expect(r.bursts).toEqual([]);
    expect(r.total(PPS)).toMatchObject({ increase: 0, resets: 0, failedReads: 4, samples: 2 });
    expect(r.agg.rawValue('eth0', PPS)).toBe('100');
  });

  it('a run that ends below the values before it was a genuine reset at its first sample, counted once', () => {
    const r = runRecords([
      { t: T0, stats: eni({ pps: 100 }, { rx_drops: 10 }) },
      { t: T0 + 100, stats: eni({}, { rx_drops: 11 }) },
      { t: T0 + 200, stats: eni({}, { rx_drops: 12 }) },
      { t: T0 + 300, stats: eni({}, { rx_drops: 15 }) },
      { t: T0 + 400, stats: eni({ pps: 7 }, { rx_drops: 15 }) },
    ], { trackedStat: trackedStatMatcher([/drops$/]) });
    expect(r.total(PPS)).toMatchObject({ increase: 7, resets: 1, failedReads: 0 });
    // The other tracked stat loses nothing: 11 -> 15 arrives with the run's latest sample.
    expect(r.total('rx_drops')).toMatchObject({ increase: 5, resets: 0 });
    expect(r.ticks.filter((t) => t.stat === PPS).map((t) => [t.timeMs - T0, t.increase, t.reset])).toEqual([
      [0, 0, false],
      [100, 0, true],
      [300, 0, false],
      [400, 7, false],
    ]);
    expect(r.agg.rawValue('eth0', PPS)).toBe('7');
  });

  it('a reset followed by silence is known by the driver’s total_resets; without it the last good values stay', () => {
    const withCounter = runRecords([
      { t: T0, stats: ena({ pps: 100 }, { total_resets: 0 }) },
      { t: T0 + 100, stats: ena({}, { total_resets: 1 }) },
      { t: T0 + 200, stats: ena({}, { total_resets: 1 }) },
    ]);
    expect(withCounter.total(PPS)).toMatchObject({ resets: 1, failedReads: 0 });
    expect(withCounter.agg.rawValue('eth0', PPS)).toBe('0');
    // No evidence either way: documented as "keeps the last good values".
    const blind = runRecords([
      { t: T0, stats: eni({ pps: 100 }) },
      { t: T0 + 100, stats: eni({}) },
      { t: T0 + 200, stats: eni({}) },
    ]);
    expect(blind.total(PPS)).toMatchObject({ resets: 0, failedReads: 2 });
    expect(blind.agg.rawValue('eth0', PPS)).toBe('100');
  });

  it('ENODEV ends the device’s open bursts; what answers later is a new epoch (live and replay alike)', () => {
    const r = runRecords(
      [
        { t: T0, stats: ena({ pps: 0 }) },
        { t: T0 + 100, stats: ena({ pps: 5 }) },
        { t: T0 + 200, error: 'ENODEV' },
        { t: T0 + 900, stats: ena({ pps: 50 }) },
        { t: T0 + 1000, stats: ena({ pps: 50 }) },
      ],
      {},
      false,
    );
    expect(r.bursts.map((b) => [b.startMs - T0, b.endMs - T0, b.increase])).toEqual([[0, 100, 5]]);
    expect(r.total(PPS)).toMatchObject({ increase: 5, resets: 0 });
    expect(r.agg.deviceCounters('eth0')?.epochs).toBe(2);
  });

  it('never exports a zero raw counter when a new layout starts with a bogus read', () => {
    const r = runRecords(
      [
        { t: T0, stats: ena({ pps: 100 }) },
        { t: T0 + 100, stats: { ...zeroed(), ena_srd_mode: 0 } },
      ],
      {},
      false,
    );
    expect(r.agg.rawValue('eth0', PPS)).toBe('100');
    expect(r.agg.rawCounters('eth0')!.names).not.toContain('ena_srd_mode');
  });
});
