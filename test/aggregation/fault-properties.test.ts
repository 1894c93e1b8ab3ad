// Properties over random ENA fault sequences (issue 11's rules): a device's
// true counters move (drops, genuine resets that the driver counts in
// total_resets), and the reads of them fail the ways ENA reads fail: ioctl
// errors, bogus reads (all six customer metrics 0), and all-zero allowance
// counters with the gauge intact. Whatever the faults, the aggregation must
// find the drops a fault-free reader at the same ticks finds: no phantom
// increase, none lost, the same resets, and a raw counter that only goes
// down at a genuine reset.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregation/aggregator.js';
import { collect, feeder, T0, type Rec } from './helpers.js';

type Fault = 'none' | 'error' | 'bogus' | 'zeros';

interface Step {
  /** Drops added to (pps, linklocal) before this tick's read. */
  pps: number;
  linklocal: number;
  /** The device resets before this tick's read (counters restart at 0). */
  reset: boolean;
  fault: Fault;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  pps: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 5000 })),
  linklocal: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 2000 })),
  reset: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  fault: fc.constantFrom<Fault>('none', 'none', 'none', 'error', 'bogus', 'zeros'),
});

/**
 * What no reader can get right is left out: drops before the first read or
 * after the last good one are not seen by anyone (so both are good reads);
 * a fault on the read just before a reset hides the drops that the reset
 * then wipes; and all-zero
 * counters on the very first read are indistinguishable from a fresh device
 * unless the gauge gives the read away (rule 2), so they only come after a
 * good read, or as bogus reads on a device with the gauge.
 */
function plausible(steps: Step[], gauge: boolean): Step[] {
  let seenGood = false;
  return steps.map((s, i) => {
    let fault = s.fault;
    if (i === 0 || i === steps.length - 1 || s.reset || steps[i + 1]?.reset) fault = 'none';
    const zeroRead = fault === 'zeros' || (fault === 'bogus' && !gauge);
    if (!seenGood && zeroRead) fault = 'none';
    if (fault === 'none') seenGood = true;
    return { ...s, fault };
  });
}

function records(steps: readonly Step[], withFaults: boolean, gauge: boolean): Rec[] {
  let pps = 0;
  let linklocal = 0;
  let resets = 0;
  const recs: Rec[] = [];
  steps.forEach((s, i) => {
    const t = T0 + 100 * (i + 1);
    if (s.reset) {
      pps = 0;
      linklocal = 0;
      resets++;
    }
    pps += s.pps;
    linklocal += s.linklocal;
    const fault = withFaults ? s.fault : 'none';
    if (fault === 'error') {
      recs.push({ t, error: 'ETIMEDOUT' });
      return;
    }
    const zero = fault === 'bogus' || fault === 'zeros';
    const stats: Record<string, number> = {
      total_resets: resets,
      bw_in_allowance_exceeded: 0,
      pps_allowance_exceeded: zero ? 0 : pps,
      linklocal_allowance_exceeded: zero ? 0 : linklocal,
    };
    // A bogus read zeroes the gauge too; a device without the gauge cannot tell the two apart.
    if (gauge) stats['conntrack_allowance_available'] = fault === 'bogus' ? 0 : 40_000 + (i % 7);
    recs.push({ t, stats });
  });
  return recs;
}

interface Outcome {
  increase: Record<string, number>;
  resets: Record<string, number>;
  burstSum: Record<string, number>;
  /** Raw pps after each record, and whether a pps reset was accepted by then. */
  raw: { value: number; resets: number }[];
}

function run(recs: readonly Rec[]): Outcome {
  const agg = new Aggregator({ burstGapMs: 500, windowsMs: [] });
  const c = collect(agg);
  const feed = feeder(agg);
  const raw: Outcome['raw'] = [];
  for (const r of recs) {
    feed(r);
    const v = agg.rawValue('eth0', 'pps_allowance_exceeded');
    if (v !== undefined) raw.push({ value: Number(v), resets: c.ticks.filter((t) => t.stat === 'pps_allowance_exceeded' && t.reset).length });
  }
  agg.finish();
  const o: Outcome = { increase: {}, resets: {}, burstSum: {}, raw };
  // Every stat, seen or not (a stream of errors alone sees none).
  for (const stat of ['bw_in_allowance_exceeded', 'pps_allowance_exceeded', 'linklocal_allowance_exceeded']) {
    const t = agg.totals().find((x) => x.stat === stat);
    o.increase[stat] = t?.increase ?? 0;
    o.resets[stat] = t?.resets ?? 0;
    o.burstSum[stat] = c.bursts.filter((b) => b.stat === stat).reduce((a, b) => a + b.increase, 0);
  }
  return o;
}

describe('random ENA fault sequences', () => {
  it.each([
    ['with conntrack_allowance_available', true],
    ['without it (ENI-stats path)', false],
  ])('find what a fault-free reader finds, %s', (_label, gauge) => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 120 }).map((steps) => plausible(steps, gauge)), (steps) => {
        const clean = run(records(steps, false, gauge));
        const faulty = run(records(steps, true, gauge));
        // No phantom increase and none lost; resets counted once, as the clean reader counts them.
        expect(faulty.increase).toEqual(clean.increase);
        expect(faulty.resets).toEqual(clean.resets);
        // Bursts account for every packet.
        expect(faulty.burstSum).toEqual(faulty.increase);
        // The raw counter never goes down except at a genuine reset.
        for (let i = 1; i < faulty.raw.length; i++) {
          const [a, b] = [faulty.raw[i - 1]!, faulty.raw[i]!];
          if (b.resets === a.resets) expect(b.value).toBeGreaterThanOrEqual(a.value);
        }
      }),
      { numRuns: 400 },
    );
  });
});
