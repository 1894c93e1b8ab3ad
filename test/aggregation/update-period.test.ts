// The device's counter update period, found from the samples themselves
// (src/aggregation/update-period.ts), and bursts reported at that resolution. A device
// is played at 100 ms sampling whose counters refresh every `refreshMs`
// (values held in between, as a slow device would), with a connection gauge
// that moves at every refresh and steady drops during bursts.

import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregation/aggregator.js';
import { runCli } from '../helpers/cli.js';
import { collect, feeder, T0, traceFile, type Rec } from './helpers.js';

const PPS = 'pps_allowance_exceeded';

/**
 * `seconds` of samples every 100 ms; drops at `ratePerS` during the given
 * [start, end) second ranges; the device publishes its counters only every
 * `refreshMs` (0: at every read).
 */
function device(seconds: number, refreshMs: number, bursts: [number, number][], ratePerS = 1000): Rec[] {
  const recs: Rec[] = [];
  let drops = 0;
  let shown = { pps: 0, available: 50_000 };
  let lastRefresh = -Infinity;
  for (let k = 0; k <= seconds * 10; k++) {
    const t = k * 100;
    if (bursts.some(([a, b]) => t > a * 1000 && t <= b * 1000)) drops += ratePerS / 10;
    if (refreshMs === 0 || t - lastRefresh >= refreshMs) {
      lastRefresh = t;
      shown = { pps: drops, available: 50_000 - (k % 17) };
    }
    recs.push({ t: T0 + t, stats: { pps_allowance_exceeded: shown.pps, bw_in_allowance_exceeded: 0, conntrack_allowance_available: shown.available } });
  }
  return recs;
}

function run(recs: Rec[]) {
  const agg = new Aggregator({ burstGapMs: 2000, windowsMs: [] });
  const c = collect(agg);
  const feed = feeder(agg);
  for (const r of recs) feed(r);
  const period = agg.updatePeriod('eth0')!;
  agg.finish();
  return { c, period };
}

describe('the device’s counter update period', () => {
  it('a device that refreshes every second: found within seconds, and bursts are reported at 1 s resolution', () => {
    // The gauge gives the period away within ~6 s; then three 4-second bursts, 10 s apart.
    const { c, period } = run(device(50, 1000, [[12, 16], [26, 30], [40, 44]]));
    expect(period.settled).toBe(true);
    expect(period.periodMs).toBe(1000);
    expect(period.samplingMs).toBe(100);
    expect(period.resolutionMs).toBe(1000);
    const bursts = c.bursts.filter((b) => b.stat === PPS);
    expect(bursts).toHaveLength(3);
    for (const b of bursts) {
      expect(b.increase).toBe(4000);
      // Every step stands for a second of drops: never a 10x peak from one 100 ms tick.
      expect(b.durationMs).toBeGreaterThanOrEqual(1000);
      expect(b.peakRatePerSecond).toBeLessThanOrEqual(1000);
    }
  });

  it('a device that keeps up with the sampler: the estimate is the sampling interval and nothing changes', () => {
    const { c, period } = run(device(20, 0, [[2, 6]]));
    expect(period.periodMs).toBe(100);
    expect(period.settled).toBe(true);
    expect(period.resolutionMs).toBe(0);
    const [b] = c.bursts.filter((x) => x.stat === PPS);
    expect(b).toMatchObject({ increase: 4000, durationMs: 4000, peakRatePerSecond: 1000 });
  });

  it('says nothing before there is evidence, and is not fooled by one change', () => {
    const still = run(device(5, 0, []).map((r) => ('stats' in r ? { ...r, stats: { ...r.stats, conntrack_allowance_available: 40_000 } } : r)));
    expect(still.period).toMatchObject({ observations: 0, settled: false, resolutionMs: 0 });
    expect(still.period.periodMs).toBeNaN();
    const once = run(device(5, 1000, []).slice(0, 25));
    expect(once.period.settled).toBe(false);
    expect(once.period.resolutionMs).toBe(0);
  });

  it('with a gauge that never moves, the bursts alone find the period within three of them, but do not rescale bursts', () => {
    const recs = device(60, 1000, [[5, 9], [20, 24], [35, 39], [50, 54]]).map((r) =>
      'stats' in r ? { ...r, stats: { ...r.stats, conntrack_allowance_available: 40_000 } } : r,
    );
    const settledAfter: boolean[] = [];
    const agg = new Aggregator({ burstGapMs: 2000, windowsMs: [] });
    agg.addListener({ onBurst: () => void settledAfter.push(agg.updatePeriod('eth0')!.settled) });
    const feed = feeder(agg);
    for (const r of recs) feed(r);
    agg.finish();
    expect(settledAfter.indexOf(true)).toBeLessThanOrEqual(2);
    expect(agg.updatePeriod('eth0')!.periodMs).toBe(1000);
    // Drops every second from a fast device look the same: without the
    // gauge's moves to tell them apart, durations and peaks stay as sampled.
    expect(agg.updatePeriod('eth0')!.resolutionMs).toBe(0);
  });

  it('analyze finds the same period in a trace and says what it means under its totals', () => {
    const slow = traceFile(device(50, 1000, [[12, 16]]));
    const r = runCli(['analyze', slow]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Resolution:\n  eth0 updates its counters about every 1 s: bursts shorter than that cannot be resolved\n');
    // A device that keeps up says nothing extra.
    expect(runCli(['analyze', traceFile(device(20, 0, [[2, 6]]))]).stdout).not.toContain('Resolution:');
  });
});
