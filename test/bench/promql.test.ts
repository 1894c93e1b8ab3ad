// The scrape-view model against hand-computed Prometheus results. The first
// example is the one in /work/shared/notes/deploy.md §5, measured with
// promtool 2.42: a jump of 5 over [2m] at a 30 s scrape reads 6.25 at
// t=75 s and 5 at t=90 s.

import { describe, expect, it } from 'vitest';
import { increaseAt, rateAt, scrapeCounter, scrapeEvents, scrapeTimes, type Point } from '../../src/bench/promql.js';
import { checkWithPromtool, parseGoDuration, parsePromtoolFailures, promtoolTestFile, promtoolVersion } from '../../src/harness/promtool.js';

const series = (values: number[], stepS = 30): Point[] => values.map((v, i) => ({ t: i * stepS * 1000, v }));
// 0 0 5 5 5 5 at 0, 30, ..., 150 s
const jump = series([0, 0, 5, 5, 5, 5]);

describe('increase()/rate() extrapolation (Prometheus 2.x)', () => {
  it('extrapolates to the range end when the last sample is within 1.1 intervals of it', () => {
    // Range [-45 s, 75 s] holds 0, 30, 60 s: 5 over 60 s sampled. Start:
    // the counter would reach 0 exactly at the first sample (first value 0),
    // so no extrapolation there; end: 15 s < 33 s, extrapolate 15 s.
    // 5 * (60 + 0 + 15) / 60 = 6.25.
    expect(increaseAt(jump, 75_000, 120_000)).toBeCloseTo(6.25, 12);
    expect(rateAt(jump, 75_000, 120_000)).toBeCloseTo(6.25 / 120, 12);
  });

  it('is exact when the samples span the whole range', () => {
    expect(increaseAt(jump, 90_000, 120_000)).toBe(5);
  });

  it('extrapolates a non-zero start by the gap to the range start', () => {
    // [15 s, 135 s] holds 30..120 s: values 0 5 5 5, so durationToZero is 0
    // and only the end is extrapolated: 5 * (90 + 15) / 90 = 5.8333.
    expect(increaseAt(jump, 135_000, 120_000)).toBeCloseTo(5.833333333333333, 12);
    // With a counter far from zero the start is extrapolated too:
    // 100 100 105 105 at 30..120 s, range [15, 135]: 5 * (90 + 15 + 15) / 90.
    const high = series([100, 100, 100, 105, 105, 105]);
    expect(increaseAt(high, 135_000, 120_000)).toBeCloseTo((5 * 120) / 90, 12);
  });

  it('extrapolates only half an interval when the gap is wider than 1.1 intervals', () => {
    // Samples at 0 and 30 s only, range [-45 s, 75 s]: both gaps are 45 s
    // (> 33 s), so 15 s is added at each side: 10 * (30 + 15 + 15) / 30 = 20.
    const two = series([1000, 1010]);
    expect(increaseAt(two, 75_000, 120_000)).toBeCloseTo(20, 12);
    // At 60 s the end gap is 30 s (< 33 s) and is extrapolated in full: 10 * 75 / 30.
    expect(increaseAt(two, 60_000, 120_000)).toBeCloseTo(25, 12);
  });

  it('returns no result with fewer than two samples: rate(x[30s]) between scrapes', () => {
    expect(rateAt(jump, 75_000, 30_000)).toBeNull();
    expect(rateAt(jump, 45_000, 30_000)).toBeNull();
    // ... but 2.x counts both ends, so exactly on a scrape it answers.
    expect(rateAt(jump, 60_000, 30_000)).toBeCloseTo(5 / 30, 12);
  });

  it('left-open ranges (Prometheus 3.x) drop the sample at the range start', () => {
    expect(rateAt(jump, 60_000, 30_000, { leftOpen: true })).toBeNull();
    expect(increaseAt(jump, 120_000, 120_000)).toBe(5);
    // 3.x: (0 s, 120 s] holds 30..120: 5 over 90 s, start extrapolated 0 (zero), end 0.
    expect(increaseAt(jump, 120_000, 120_000, { leftOpen: true })).toBe(5);
  });

  it('adds back what a counter had before a reset', () => {
    const reset = series([10, 20, 5, 15]);
    // 20-10, then reset to 5 (counts 5), then +10: 25 over 90 s, exact span.
    expect(increaseAt(reset, 90_000, 90_000)).toBe(25);
  });
});

describe('sampling a per-tick counter at scrape times', () => {
  it('takes the last tick at or before each scrape', () => {
    const t = [0, 100, 200, 300, 400];
    const v = [1, 2, 3, 4, 5];
    expect(scrapeCounter(t, v, [-1, 0, 150, 300, 1000])).toEqual([
      { t: 0, v: 1 },
      { t: 150, v: 2 },
      { t: 300, v: 4 },
      { t: 1000, v: 5 },
    ]);
    expect(scrapeTimes(10, 30, 100)).toEqual([10, 40, 70, 100]);
  });

  it('finds the events a scrape view can tell apart: runs of moving intervals', () => {
    const pts = series([0, 3, 3, 7, 9, 9, 9, 10]);
    expect(scrapeEvents(pts)).toEqual([
      { startMs: 0, endMs: 30_000, increase: 3 },
      { startMs: 60_000, endMs: 120_000, increase: 6 },
      { startMs: 180_000, endMs: 210_000, increase: 1 },
    ]);
  });
});

describe('promtool cross-check plumbing', () => {
  it('parses Go durations and promtool failure reports', () => {
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('2h0m5s')).toBe(7_205_000);
    expect(parseGoDuration('15s')).toBe(15_000);
    const out = `  FAILED:
    expr: "rate(x[2m])", time: 1m15s,
        exp: nil
        got: {} 5.208333333333333E-02
    expr: "increase(x[2m])", time: 2m15s,
        exp: {} 1E+00
        got: nil
`;
    expect(parsePromtoolFailures(out)).toEqual([
      { expr: 'rate(x[2m])', atMs: 75_000, got: 0.05208333333333333 },
      { expr: 'increase(x[2m])', atMs: 135_000, got: null },
    ]);
  });

  it('writes one test per evaluation, with no-result as an empty sample list', () => {
    const text = promtoolTestFile([0, 5], 30_000, [
      { expr: 'increase(x[2m])', atMs: 75_000, expected: 6.25 },
      { expr: 'rate(x[30s])', atMs: 45_000, expected: null },
    ]);
    expect(text).toContain("values: '0 5'");
    expect(text).toContain('interval: 30s');
    expect(text).toContain('eval_time: 75s');
    expect(text).toContain('exp_samples: []');
    expect(text).toMatch(/value: 6\.25/);
  });

  const version = promtoolVersion();
  it.skipIf(version === null)('the model agrees with the real promtool on the hand example (skipped without promtool)', () => {
    const evals = [];
    for (let at = 0; at <= 150_000; at += 15_000) {
      for (const [expr, range, isRate] of [
        ['increase(x[2m])', 120_000, false],
        ['rate(x[2m])', 120_000, true],
        ['rate(x[30s])', 30_000, true],
      ] as const) {
        evals.push({ expr, atMs: at, expected: isRate ? rateAt(jump, at, range) : increaseAt(jump, at, range) });
      }
    }
    const r = checkWithPromtool(
      jump.map((p) => p.v),
      30_000,
      evals,
    );
    expect(r.disagreements).toEqual([]);
    expect(r.agreed).toBe(evals.length);
  });
});
