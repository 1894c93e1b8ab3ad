import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregation/aggregator.js';
import { enaStatNames, ENA_GAUGE_STATS } from '../../src/aggregation/ena-stats.js';
import { ALLOWANCE_STATS } from '../../src/aggregation/stat-policy.js';
import { compareCodeUnits } from '../../src/order.js';
import { DEFAULT_SIM_START_MS, SimulateSource, type SimulateOptions } from '../../src/sources/simulate.js';
import { collect } from './helpers.js';

function runSim(options: SimulateOptions, gapMs?: number) {
  const sim = new SimulateSource(options);
  const agg = new Aggregator({ burstGapMs: gapMs, windowsMs: [] });
  const c = collect(agg);
  while (sim.step(agg));
  agg.finish();
  c.bursts.sort((a, b) => a.startMs - b.startMs || compareCodeUnits(a.device, b.device) || compareCodeUnits(a.stat, b.stat));
  return { sim, agg, c };
}

const S = DEFAULT_SIM_START_MS;

describe('enaStatNames', () => {
  it('follows the 2.16+ order: globals, customer metrics, SRD, admin queue, active queues, per queue', () => {
    const names = enaStatNames({ queues: 2 });
    expect(names.slice(0, 2)).toEqual(['total_resets', 'reset_fail']);
    const i = names.indexOf('bw_in_allowance_exceeded');
    expect(names.slice(i, i + 6)).toEqual([...ALLOWANCE_STATS, 'conntrack_allowance_available']);
    expect(names[i + 6]).toBe('ena_srd_mode');
    expect(names.indexOf('ena_admin_q_aborted_cmd')).toBeLessThan(names.indexOf('queue_0_tx_tx_poll'));
    expect(names.indexOf('num_of_active_io_queues')).toBe(names.indexOf('queue_0_tx_tx_poll') - 1);
    expect(names.filter((n) => n.startsWith('queue_1_rx_'))[0]).toBe('queue_1_rx_cnt');
    expect(new Set(names).size).toBe(names.length);
    expect(enaStatNames({ queues: 1, customerMetricsMask: 0x1f, srd: false, phc: true, xdpQueues: 1 })).toEqual(
      expect.arrayContaining(['phc_cnt', 'queue_1_xdp_tx_cnt']),
    );
    expect(enaStatNames({ queues: 1, customerMetricsMask: 0x1f })).not.toContain('conntrack_allowance_available');
    expect(ENA_GAUGE_STATS.has('conntrack_allowance_available')).toBe(true);
  });
});

describe('SimulateSource ground truth', () => {
  it('a script gives exactly the bursts written by hand, across second boundaries and devices', () => {
    const { c, sim } = runSim({
      devices: 2,
      queues: 1,
      durationMs: 30_000,
      resetEveryMs: 0,
      zeroReadEveryMs: 0,
      errorEveryMs: 0,
      script: [
        // (950 ms, 1950 ms] holds the 10 ticks 1000..1900: 100 packets each; starts at tick 900.
        { device: 'eth0', stat: 'pps_allowance_exceeded', startMs: S + 950, durationMs: 1000, packets: 1000 },
        // 3 ticks for 10 packets: 4, 3, 3.
        { device: 'eth1', stat: 'bw_in_allowance_exceeded', startMs: S + 5000, durationMs: 300, packets: 10 },
        // Increases at 4100 and 6100 (exactly the 2 s gap) merge; 8200 (2.1 s later) does not.
        { device: 'eth0', stat: 'pps_allowance_exceeded', startMs: S + 4000, durationMs: 0, packets: 1 },
        { device: 'eth0', stat: 'pps_allowance_exceeded', startMs: S + 6000, durationMs: 0, packets: 2 },
        { device: 'eth0', stat: 'pps_allowance_exceeded', startMs: S + 8150, durationMs: 0, packets: 1 },
      ],
    });
    const got = c.bursts.map((b) => [b.device, b.stat, b.startMs - S, b.endMs - S, b.increase, b.peakRatePerSecond]);
    expect(got).toEqual([
      ['eth0', 'pps_allowance_exceeded', 900, 1900, 1000, 1000],
      ['eth0', 'pps_allowance_exceeded', 4000, 6100, 3, 20],
      ['eth1', 'bw_in_allowance_exceeded', 5000, 5300, 10, 40],
      ['eth0', 'pps_allowance_exceeded', 8100, 8200, 1, 10],
    ]);
    expect(sim.expectedBursts().map((b) => [b.device, b.stat, b.startMs - S, b.endMs - S, b.increase, b.peakRatePerSecond])).toEqual(got);
    // Just under the gap, 4100 and 6100 stay apart.
    expect(sim.expectedBursts(1999)).toHaveLength(5);
  });

  it('seeded-random bursts with resets and failed reads are found exactly, for several seeds and gaps', () => {
    for (const [seed, gap] of [
      [1, 2000],
      [2, 500],
      [3, 5000],
      [42, 2000],
    ] as const) {
      const { c, sim, agg } = runSim({ devices: 3, queues: 2, durationMs: 10 * 60_000, seed, zeroReadEveryMs: 20_000, resetEveryMs: 60_000, errorEveryMs: 30_000 }, gap);
      const expected = sim.expectedBursts(gap);
      expect(expected.length).toBeGreaterThan(20);
      expect(c.bursts.map(({ ticks: _t, ...b }) => b)).toEqual(expected.map(({ ticks: _t, ...b }) => b));

      // Resets and failed reads as the simulator did them (where visible).
      for (const dev of sim.deviceNames()) {
        const ev = sim.events.filter((e) => e.device === dev && e.detectable);
        const failed = ev.filter((e) => e.kind !== 'reset').length;
        for (const stat of ALLOWANCE_STATS) {
          const t = agg.totals().find((x) => x.device === dev && x.stat === stat)!;
          expect(t.failedReads).toBe(failed);
          expect(t.resets).toBe(ev.filter((e) => e.kind === 'reset' && e.statsReset.includes(stat)).length);
          expect(t.increase).toBe(expected.filter((b) => b.device === dev && b.stat === stat).reduce((a, b) => a + b.increase, 0));
        }
      }
      expect(sim.events.some((e) => e.kind === 'reset' && e.detectable)).toBe(true);
    }
  });

  it('is deterministic for a seed', () => {
    const a = runSim({ devices: 2, durationMs: 120_000, seed: 9 });
    const b = runSim({ devices: 2, durationMs: 120_000, seed: 9 });
    expect(a.c.bursts).toEqual(b.c.bursts);
    expect(a.sim.events).toEqual(b.sim.events);
    const other = runSim({ devices: 2, durationMs: 120_000, seed: 10 });
    expect(other.c.bursts).not.toEqual(a.c.bursts);
  });

  it('runs as a StatsSource on the virtual clock, and in real time until stopped', async () => {
    const sim = new SimulateSource({ durationMs: 5000 });
    let n = 0;
    await sim.run({ sample: () => void n++ });
    expect(n).toBe(51);

    const rt = new SimulateSource({ clock: 'realtime', intervalMs: 20 });
    let m = 0;
    const done = rt.run({ sample: () => void m++ });
    await new Promise((r) => setTimeout(r, 120));
    rt.stop();
    await done;
    expect(m).toBeGreaterThan(0);
  });

  it('rejects scripts it cannot honour exactly', () => {
    expect(() => new SimulateSource({ script: [{ device: 'eth9', stat: 'pps_allowance_exceeded', startMs: S, durationMs: 0, packets: 1 }] })).toThrow(/no device/);
    expect(
      () =>
        new SimulateSource({
          script: [
            { device: 'eth0', stat: 'pps_allowance_exceeded', startMs: S + 1000, durationMs: 500, packets: 10 },
            { device: 'eth0', stat: 'pps_allowance_exceeded', startMs: S + 1200, durationMs: 500, packets: 10 },
          ],
        }),
    ).toThrow(/overlap/);
    expect(() => new SimulateSource({ script: [{ device: 'eth0', stat: 'pps_allowance_exceeded', startMs: S - 1, durationMs: 0, packets: 1 }] })).toThrow(/first tick/);
  });
});
