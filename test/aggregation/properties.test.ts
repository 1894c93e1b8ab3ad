// Property tests over random traces: resets, failed reads (errors and
// all-zero reads), irregular sample spacing around the burst gap.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CountedBurst } from '../../src/aggregation/aggregator.js';
import { feeder, runRecords, T0, type Rec } from './helpers.js';

type Kind = 'inc' | 'same' | 'reset' | 'zero' | 'error';

interface Step {
  dt: number;
  kind: Kind;
  a: number;
  b: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  // Around the 2 s burst gap on purpose, with exact hits.
  dt: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(100, 2000, 2001)),
  kind: fc.constantFrom<Kind>('inc', 'inc', 'inc', 'same', 'same', 'reset', 'zero', 'error'),
  a: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 })),
  b: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 })),
});

const STATS = ['bw_in_allowance_exceeded', 'pps_allowance_exceeded'] as const;

/** Records for one device, and whether each record is a successful non-all-zero sample. */
function build(steps: readonly Step[], device = 'eth0'): { recs: Rec[]; solid: boolean[] } {
  let t = T0;
  let x = 5;
  let y = 0;
  const recs: Rec[] = [];
  const solid: boolean[] = [];
  for (const s of steps) {
    t += s.dt;
    if (s.kind === 'error') {
      recs.push({ t, device, error: 'ETIMEDOUT' });
      solid.push(false);
      continue;
    }
    if (s.kind === 'zero') {
      recs.push({ t, device, stats: { bw_in_allowance_exceeded: 0, pps_allowance_exceeded: 0, other: s.a } });
      solid.push(false);
      continue;
    }
    if (s.kind === 'inc') {
      x += s.a % 7 === 0 ? s.a : 0;
      y += s.b % 3 === 0 ? s.b : 0;
    } else if (s.kind === 'reset') {
      x = s.a % 4;
      y = s.b % 4;
    }
    recs.push({ t, device, stats: { bw_in_allowance_exceeded: x, pps_allowance_exceeded: y, other: s.a } });
    solid.push(x !== 0 || y !== 0);
  }
  return { recs, solid };
}

function key(b: CountedBurst): string {
  return `${b.device} ${b.stat} ${b.startMs} ${b.endMs} ${b.increase} ${b.peakRatePerSecond}`;
}

describe('aggregation properties', () => {
  it('sum of burst increases = total increase; no increase is negative; bursts are well-formed', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 120 }), fc.array(stepArb, { maxLength: 60 }), fc.integer({ min: 1, max: 5000 }), (s0, s1, gap) => {
        const recs = [...build(s0).recs, ...build(s1, 'eth1').recs].sort((p, q) => p.t - q.t);
        const r = runRecords(recs, { burstGapMs: gap });
        for (const tick of r.ticks) expect(tick.increase).toBeGreaterThanOrEqual(0);
        for (const tot of r.totals) {
          const bursts = r.bursts.filter((b) => b.device === tot.device && b.stat === tot.stat);
          expect(bursts.reduce((a, b) => a + b.increase, 0)).toBe(tot.increase);
          expect(r.ticks.filter((x) => x.device === tot.device && x.stat === tot.stat).reduce((a, x) => a + x.increase, 0)).toBe(tot.increase);
          expect(bursts.length).toBe(tot.bursts);
          const secs = r.seconds.filter((x) => x.device === tot.device && x.stat === tot.stat);
          expect(secs.reduce((a, x) => a + x.increase, 0)).toBe(tot.increase);
          expect(secs.filter((x) => x.increase > 0).length).toBe(tot.secondsWithIncrease);
        }
        for (const b of r.bursts) {
          expect(b.increase).toBeGreaterThan(0);
          expect(b.endMs).toBeGreaterThan(b.startMs);
          expect(b.durationMs).toBe(b.endMs - b.startMs);
          expect(b.peakRatePerSecond).toBeGreaterThan(0);
        }
        // Bursts of one stat never overlap and are separated by more than the gap.
        for (const tot of r.totals) {
          const bs = r.bursts.filter((b) => b.device === tot.device && b.stat === tot.stat);
          for (let i = 1; i < bs.length; i++) expect(bs[i]!.startMs).toBeGreaterThanOrEqual(bs[i - 1]!.endMs);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('splitting a trace and concatenating per-part results matches the whole (bursts across the cut aside)', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 3, maxLength: 150 }), fc.nat(), (steps, cutSeed) => {
        const { recs, solid } = build(steps);
        // A clean cut: the samples on both sides are successful and cannot be
        // held as suspect, so no judgement spans the cut.
        const cuts = recs.map((_, c) => c).filter((c) => c >= 1 && solid[c - 1] && solid[c]);
        fc.pre(cuts.length > 0);
        const c = cuts[cutSeed % cuts.length]!;
        const gap = 2000;
        const whole = runRecords(recs, { burstGapMs: gap });
        const p1 = runRecords(recs.slice(0, c), { burstGapMs: gap });
        const p2 = runRecords(recs.slice(c), { burstGapMs: gap });
        const t1 = recs[c - 1]!.t;
        const t2 = recs[c]!.t;

        for (const stat of STATS) {
          const w = whole.total(stat);
          const a = p1.total(stat);
          const b = p2.total(stat);
          const atCut = whole.ticks.find((x) => x.stat === stat && x.timeMs === t2)!;
          expect(w.increase).toBe(a.increase + b.increase + atCut.increase);
          expect(w.resets).toBe(a.resets + b.resets + (atCut.reset ? 1 : 0));
          expect(w.failedReads).toBe(a.failedReads + b.failedReads);
          expect(w.samples).toBe(a.samples + b.samples);

          const crossing = whole.bursts.find((x) => x.stat === stat && x.startMs <= t1 && x.endMs >= t2);
          const wb = whole.bursts.filter((x) => x.stat === stat && x !== crossing).map(key);
          const pb = [
            ...p1.bursts.filter((x) => x.stat === stat && !(crossing && x.startMs === crossing.startMs)),
            ...p2.bursts.filter((x) => x.stat === stat && !(crossing && x.endMs <= crossing.endMs)),
          ].map(key);
          expect(pb.sort()).toEqual(wb.sort());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the exported raw value moves only with accepted samples, so never shows a dropped all-zero read', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => {
        const { recs } = build(steps);
        const r = runRecords([], {}, false);
        const f = feeder(r.agg);
        for (const rec of recs) {
          const before = r.agg.rawValue('eth0', 'pps_allowance_exceeded');
          const ticksBefore = r.ticks.length;
          f(rec);
          const after = r.agg.rawValue('eth0', 'pps_allowance_exceeded');
          if (r.ticks.length === ticksBefore) expect(after).toBe(before);
          else expect(after).toBe(String(r.agg.rawCounters('eth0')!.values[2 * r.agg.rawCounters('eth0')!.names.indexOf('pps_allowance_exceeded')]));
        }
      }),
      { numRuns: 200 },
    );
  });
});
