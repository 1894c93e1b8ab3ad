import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { distribution, median, quantile, scaleDistribution } from '../../src/bench/stats.js';

describe('order statistics', () => {
  it('interpolates between closest ranks (numpy default)', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(xs, 0.5)).toBeCloseTo(50.5, 12);
    expect(quantile(xs, 0.99)).toBeCloseTo(99.01, 12);
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 1)).toBe(100);
    expect(quantile([4, 1, 3, 2], 0.25)).toBeCloseTo(1.75, 12);
  });

  it('median of odd and even counts, unsorted input left alone', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('empty input is NaN, not 0: "no data" never reads as "fast"', () => {
    expect(median([])).toBeNaN();
    const d = distribution([]);
    expect(d.n).toBe(0);
    expect(d.p99).toBeNaN();
  });

  it('uses only the first n values of a preallocated array', () => {
    const buf = new Float64Array(10);
    buf.set([3, 1, 2]);
    const d = distribution(buf, 3);
    expect(d).toEqual({ n: 3, p50: 2, p99: 2.98, max: 3, mean: 2 });
    expect(scaleDistribution(d, 1000).max).toBe(3000);
  });

  it('p50 <= p99 <= max, and all within [min, max]', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
        const d = distribution(xs);
        const lo = Math.min(...xs);
        expect(d.p50).toBeGreaterThanOrEqual(lo);
        expect(d.p50).toBeLessThanOrEqual(d.p99);
        expect(d.p99).toBeLessThanOrEqual(d.max);
        expect(d.max).toBe(Math.max(...xs));
      }),
    );
  });
});
