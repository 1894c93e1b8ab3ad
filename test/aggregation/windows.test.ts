import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregation/aggregator.js';
import { quantiles, summarizeWindow } from '../../src/aggregation/window-summary.js';
import { newWindowHistogram, StatWindows, WHOLE_RUN } from '../../src/aggregation/windows.js';
import { ena, feed, T0, threeBursts, type Rec } from './helpers.js';

const PPS = 'pps_allowance_exceeded';

describe('StatWindows', () => {
  it('is fixed in time: reads do not reset, and data leaves only when its slot rotates out', () => {
    const w = new StatWindows([60_000], 6);
    const t = Math.floor(T0 / 10_000) * 10_000; // slot-aligned
    w.recordBurst(t + 1000, 400, 250);
    w.recordBurst(t + 5000, 100, 7);
    for (const now of [t + 6000, t + 6000, t + 59_000, t + 69_999]) {
      const [s] = w.snapshot(now);
      expect(s!.burstSize.totalCount).toBe(2);
      expect(s!.burstSize.maxValue).toBeGreaterThanOrEqual(250);
      expect(s!.burstDurationMs.getValueAtPercentile(100)).toBeGreaterThanOrEqual(400);
    }
    // At least W is always covered: both bursts are younger than 60 s until t + 61 s.
    expect(w.snapshot(t + 61_000)[0]!.burstSize.totalCount).toBe(2);
    // The slot [t, t + 10 s) leaves the window once "now" reaches t + 70 s.
    expect(w.snapshot(t + 70_000)[0]!.burstSize.totalCount).toBe(0);
  });

  it('rotates slots on the recording clock and keeps per-tick peaks per window', () => {
    const w = new StatWindows([60_000, 600_000], 6);
    const t = Math.floor(T0 / 600_000) * 600_000;
    w.recordTickRate(t + 100, 500);
    w.recordTickRate(t + 200_000, 40);
    const [oneMin, tenMin] = w.snapshot(t + 200_000);
    expect(oneMin!.peakTickRatePerSecond).toBe(40);
    expect(tenMin!.peakTickRatePerSecond).toBe(500);
  });

  it('counts every second, zeros included, even in long runs that cross slots', () => {
    const w = new StatWindows([60_000], 6);
    const s0 = Math.floor(T0 / 10_000) * 10; // unix seconds, slot-aligned
    w.recordSeconds(s0, 5, 1);
    w.recordSeconds(s0 + 1, 0, 25);
    const [snap] = w.snapshot((s0 + 26) * 1000);
    expect(snap!.secondIncrease.totalCount).toBe(26);
    expect(snap!.secondIncrease.getValueAtPercentile(50)).toBe(0);
    expect(snap!.secondIncrease.maxValue).toBeGreaterThanOrEqual(5);
    // A run far longer than the window keeps only what the window can show.
    w.recordSeconds(s0 + 26, 0, 100_000);
    const [late] = w.snapshot((s0 + 100_026) * 1000);
    expect(late!.secondIncrease.totalCount).toBeLessThanOrEqual(71);
    expect(late!.secondIncrease.totalCount).toBeGreaterThanOrEqual(60);
  });
  it('agrees with a direct count of every record in the slots a read covers, read as time goes on', () => {
    const w = new StatWindows([60_000, 600_000], 6);
    const s0 = Math.floor(T0 / 1000);
    // A seeded mix of zero runs, repeated and distinct increases, and bursts.
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const secs: { s: number; v: number }[] = [];
    const bursts: { t: number; d: number; n: number }[] = [];
    let reads = 0;
    let s = s0;
    while (s < s0 + 2500) {
      const run = 1 + rnd(40);
      const v = rnd(3) === 0 ? 0 : 1 + rnd(5000);
      w.recordSeconds(s, v, run);
      for (let k = 0; k < run; k++) secs.push({ s: s + k, v });
      s += run;
      if (v > 0) {
        const b = { t: s * 1000 + rnd(1000), d: 100 * (1 + rnd(30)), n: v * run };
        w.recordBurst(b.t, b.d, b.n);
        bursts.push(b);
      }
      // Read where the clock is now: at the last burst's end or just after the seconds.
      const now = v > 0 ? bursts.at(-1)!.t : s * 1000 + rnd(1000);
      for (const snap of w.snapshot(now)) {
        const slotMs = snap.windowMs / 6;
        const lo = (Math.floor(now / slotMs) - 6) * slotMs;
        const hi = (Math.floor(now / slotMs) + 1) * slotMs;
        expect(snap.fromMs).toBe(lo);
        const inSecs = secs.filter((x) => x.s * 1000 >= lo && x.s * 1000 < hi);
        const inBursts = bursts.filter((b) => b.t >= lo && b.t < hi);
        expect(snap.secondIncrease.totalCount).toBe(inSecs.length);
        expect(snap.secondIncrease.maxValue).toBe(Math.max(...inSecs.map((x) => x.v)));
        expect(snap.burstSize.totalCount).toBe(inBursts.length);
        if (inBursts.length > 0) expect(snap.burstDurationMs.maxValue).toBe(Math.max(...inBursts.map((b) => b.d)));
        reads++;
      }
    }
    expect(reads).toBeGreaterThan(100);
  });

  it('holds memory that follows activity and stops growing once the widest window is full', () => {
    const quiet = new StatWindows();
    const busy = new StatWindows();
    const s0 = Math.floor(T0 / 1000);
    const bytesAt: number[] = [];
    for (let s = s0; s < s0 + 3 * 3600; s++) {
      quiet.recordSeconds(s, 0, 1);
      // A burst every 20 s: two seconds of drops, then zeros.
      const phase = (s - s0) % 20;
      busy.recordSeconds(s, phase < 2 ? 300 + phase : 0, 1);
      if (phase === 2) busy.recordBurst(s * 1000, 1500, 601);
      if ((s - s0) % 3600 === 3599) bytesAt.push(busy.bytes);
    }
    // A stat that never drops keeps one run of zeros.
    expect(quiet.bytes).toBeLessThan(1024);
    expect(quiet.snapshot((s0 + 3 * 3600) * 1000)[2]!.secondIncrease.totalCount).toBeGreaterThanOrEqual(3600);
    // The second and third hours cost nothing more than the first.
    expect(bytesAt[2]).toBe(bytesAt[1]);
    expect(bytesAt[1]).toBe(bytesAt[0]);
    expect(busy.bytes).toBeLessThan(64 * 1024);
  });
});

describe('Aggregator windows', () => {
  it('exposes per-(device, stat) windows read on the sample clock', () => {
    const agg = new Aggregator();
    const recs: Rec[] = [];
    for (let i = 0; i < 50; i++) recs.push({ t: T0 + i * 100, stats: ena({ pps: i < 10 ? 0 : i < 15 ? (i - 9) * 100 : 500 }) });
    feed(agg, recs);
    agg.finish();
    const ws = agg.windows('eth0', PPS)!;
    expect(ws.map((w) => w.windowMs)).toEqual([60_000, 600_000, 3_600_000]);
    for (const w of ws) {
      expect(w.burstSize.totalCount).toBe(1);
      expect(w.burstSize.maxValue).toBeGreaterThanOrEqual(500);
      expect(w.burstSize.maxValue).toBeLessThan(510);
      expect(w.peakTickRatePerSecond).toBe(1000);
      expect(w.secondIncrease.totalCount).toBe(5); // samples from second 0.0 to 4.9
    }
    expect(agg.windows('eth0', 'nope')).toBeUndefined();
    expect(new Aggregator({ windowsMs: [] }).windows('eth0', PPS)).toBeUndefined();
  });
});

describe('window summaries', () => {
  it('give count, p50, p90, p99 and max of per-second increase, burst size and burst duration', () => {
    const agg = new Aggregator();
    feed(agg, threeBursts());
    agg.finish();
    const [oneMin] = agg.windows('eth0', PPS)!;
    const s = summarizeWindow(oneMin!);
    expect(s.window_s).toBe(60);
    expect(s.to_ms).toBe(T0 + 12_000);
    expect(s.from_ms).toBe(T0 - 60_000 + 10_000);
    expect(s.second_increase).toEqual({ count: 13, p50: 0, p90: 50, p99: 200, max: 200 });
    expect(s.burst_size).toEqual({ count: 3, p50: 50, p90: 200, p99: 200, max: 200 });
    expect(s.burst_duration_ms).toEqual({ count: 3, p50: 200, p90: 300, p99: 300, max: 300 });
    expect(s.peak_rate_per_second).toBe(1000);
  });

  it('say null, not 0, for an empty histogram, and never put a quantile above the maximum', () => {
    expect(quantiles(newWindowHistogram())).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
    const h = newWindowHistogram();
    h.recordValue(1001); // in a 4-wide bucket: its top is 1003
    expect(quantiles(h)).toEqual({ count: 1, p50: 1001, p90: 1001, p99: 1001, max: 1001 });
  });

  it('WHOLE_RUN keeps everything, however old, through the same record functions', () => {
    const agg = new Aggregator({ windowsMs: [WHOLE_RUN] });
    feed(agg, threeBursts());
    // Two hours later, the same bursts again.
    feed(agg, threeBursts(T0 + 7_200_000));
    agg.finish();
    const [all] = agg.windows('eth0', PPS)!;
    expect(all!.windowMs).toBe(WHOLE_RUN);
    expect(Number.isNaN(all!.fromMs)).toBe(true);
    expect(all!.burstSize.totalCount).toBe(6);
    // The two hours between the runs are zero seconds too: 13 + 7187 + 13.
    expect(all!.secondIncrease.totalCount).toBe(7_200 + 13);
    expect(quantiles(all!.burstSize)).toEqual({ count: 6, p50: 50, p90: 200, p99: 200, max: 200 });
  });
});
