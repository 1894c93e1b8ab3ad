// Onsets, learned limits and diagnoses: the rules on their own, then over
// the simulated ENA host (a stand-in: its traffic carries each limit's rate
// while a burst's drops are counted, and every second pps burst comes with
// the node fragmenting), live through the device registry and offline
// through a recorded trace, which must say the same.

import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { runCli } from '../helpers/cli.js';
import { Aggregator, type BurstEvent } from '../../src/aggregation/aggregator.js';
import { burstRecord, type BurstRecord } from '../../src/aggregation/burst-record.js';
import { diagnose, FRAGMENT_RATE_THRESHOLD, type Onset } from '../../src/aggregation/diagnosis.js';
import { formatContextLine, formatTraceLine } from '../../src/sources/trace.js';
import { ReplaySource } from '../../src/sources/replay.js';
import { ONSET_BITS, ONSET_PPS, ONSET_PPS_PER_DEVICE, SimulateSource, type SimBurst } from '../../src/sources/simulate.js';
import { DeviceRegistry } from '../../src/state/device-registry.js';

const S = 1_764_000_000_000;
const known: Onset = { rxPacketsPerSecond: 60_000, txPacketsPerSecond: 40_000, rxBitsPerSecond: 9e9, txBitsPerSecond: 1e9, conntrackAvailable: 12 };
const unknown: Onset = { rxPacketsPerSecond: NaN, txPacketsPerSecond: NaN, rxBitsPerSecond: NaN, txBitsPerSecond: NaN, conntrackAvailable: NaN };
const base = { device: 'eth1', durationMs: 2000, increase: 4100, onset: known, fragmentsCreated: 0, learnedOnset: NaN };

describe('diagnose', () => {
  it('names each allowance, with the burst’s own numbers', () => {
    const d = (stat: string, onset: Onset = known) => diagnose({ ...base, stat, onset });
    expect(d('linklocal_allowance_exceeded').cause).toBe('linklocal');
    expect(d('linklocal_allowance_exceeded').summary).toMatch(/^Link-local traffic .* on eth1 went over its 1,024 packets\/s limit: 4,100 packets dropped in 2 s\./);
    expect(d('pps_allowance_exceeded').cause).toBe('pps');
    expect(d('pps_allowance_exceeded').summary).toContain('at 100,000 packets/s on eth1');
    expect(d('conntrack_allowance_exceeded').cause).toBe('conntrack');
    expect(d('conntrack_allowance_exceeded').summary).toContain('with 12 tracked connections still available');
    expect(d('bw_in_allowance_exceeded').cause).toBe('bandwidth_in');
    expect(d('bw_in_allowance_exceeded').summary).toContain('when eth1 received 9.00 Gbit/s');
    expect(d('bw_out_allowance_exceeded').cause).toBe('bandwidth_out');
    expect(d('bw_out_allowance_exceeded').summary).toContain('when eth1 sent 1.00 Gbit/s');
    // Without traffic the sentence leaves the onset out rather than guess.
    expect(d('pps_allowance_exceeded', unknown).summary).toBe("The instance's packets-per-second allowance: 4,100 packets dropped in 2 s.");
  });

  it('puts pps drops down to fragments only at a fragment rate near the limit', () => {
    const at = (frags: number) => diagnose({ ...base, stat: 'pps_allowance_exceeded', fragmentsCreated: frags }).cause;
    // 2 s burst: the threshold is a rate.
    expect(at(2 * FRAGMENT_RATE_THRESHOLD)).toBe('fragments');
    expect(at(2 * FRAGMENT_RATE_THRESHOLD - 1)).toBe('pps');
    expect(at(NaN)).toBe('pps');
  });

  it('says "below the learned onset" for pps and bandwidth drops at under half of it, never for link-local or conntrack', () => {
    expect(diagnose({ ...base, stat: 'pps_allowance_exceeded', learnedOnset: 200_001 }).cause).toBe('below_onset');
    expect(diagnose({ ...base, stat: 'pps_allowance_exceeded', learnedOnset: 200_000 }).cause).toBe('pps');
    expect(diagnose({ ...base, stat: 'bw_in_allowance_exceeded', learnedOnset: 20e9 }).cause).toBe('below_onset');
    expect(diagnose({ ...base, stat: 'linklocal_allowance_exceeded', learnedOnset: 1e9 }).cause).toBe('linklocal');
    expect(diagnose({ ...base, stat: 'conntrack_allowance_exceeded', learnedOnset: 1e9 }).cause).toBe('conntrack');
  });
});

/** Scripted bursts on eth0 and eth1 every 8 s, in turn: pps, link-local, bw_in, conntrack, pps (fragmenting, the 2nd of its device) ... */
function script(): SimBurst[] {
  const stats = ['pps_allowance_exceeded', 'linklocal_allowance_exceeded', 'bw_in_allowance_exceeded', 'conntrack_allowance_exceeded', 'bw_out_allowance_exceeded'];
  const out: SimBurst[] = [];
  for (let i = 0; i < 30; i++) out.push({ device: `eth${i % 2}`, stat: stats[Math.floor(i / 2) % stats.length]!, startMs: S + 10_000 + i * 4000, durationMs: 500, packets: 500 + i });
  return out;
}

function sim(): SimulateSource {
  return new SimulateSource({ devices: 2, startMs: S, durationMs: 140_000, script: script(), randomBursts: false, resetEveryMs: 0, zeroReadEveryMs: 0, errorEveryMs: 0, seed: 3 });
}

describe('onsets and diagnoses over the simulated host', () => {
  it('find the traffic of each limit, learn it, and name each burst; live and from a recorded trace alike', async () => {
    // Live: the device registry, as serve runs it.
    const registry = new DeviceRegistry({ intervalMs: 100, burstGapMs: 2000, windowsMs: [] });
    const live = sim();
    while (live.step(registry));
    registry.finish();
    const got = registry.bursts.query({}).map(({ id: _id, ...b }) => b);
    expect(got).toHaveLength(30);

    for (const b of got) {
      const dev = Number(b.device.slice(3));
      const pps = (b.onset.rx_packets_per_second ?? NaN) + (b.onset.tx_packets_per_second ?? NaN);
      if (b.stat === 'pps_allowance_exceeded') {
        // The limit's traffic plus what the queues carry anyway (4 queues of at most 4,000 packets/s each way, ±25 %).
        expect(pps).toBeGreaterThanOrEqual(ONSET_PPS + ONSET_PPS_PER_DEVICE * dev);
        expect(pps).toBeLessThan(ONSET_PPS + ONSET_PPS_PER_DEVICE * dev + 50_000);
      }
      if (b.stat === 'bw_in_allowance_exceeded') {
        expect(b.onset.rx_bits_per_second).toBeGreaterThanOrEqual(ONSET_BITS);
        expect(b.onset.rx_bits_per_second).toBeLessThan(ONSET_BITS * 1.05);
      }
      if (b.stat === 'conntrack_allowance_exceeded') expect(b.onset.conntrack_available).toBe(45);
    }
    const causes = got.map((b) => `${b.device} ${b.stat.replace('_allowance_exceeded', '')} ${b.diagnosis.cause}`);
    // Each device's pps bursts alternate: the second, fourth ... come with the node fragmenting.
    expect(causes.filter((c) => c.includes(' pps '))).toEqual(['eth0 pps pps', 'eth1 pps pps', 'eth0 pps fragments', 'eth1 pps fragments', 'eth0 pps pps', 'eth1 pps pps']);
    expect(new Set(causes.filter((c) => c.includes('linklocal')).map((c) => c.split(' ')[2]))).toEqual(new Set(['linklocal']));
    expect(got.find((b) => b.diagnosis.cause === 'fragments')!.node_increase['ip_frag_creates']).toBeGreaterThanOrEqual(1500);
    // Learned from the bursts before: the third pps burst of eth1 knows the first two... and needs three.
    const eth1pps = got.filter((b) => b.device === 'eth1' && b.stat === 'pps_allowance_exceeded');
    expect(eth1pps.map((b) => b.learned_onset.bursts)).toEqual([0, 1, 2]);
    expect(eth1pps.map((b) => b.learned_onset.value === null)).toEqual([true, true, true]);
    const learned = registry.aggregator.learnedOnsets();
    expect(learned.find((o) => o.device === 'eth1' && o.stat === 'pps_allowance_exceeded')!.value).toBeGreaterThanOrEqual(ONSET_PPS + ONSET_PPS_PER_DEVICE);

    // Offline: the same host written as a trace, replayed through analyze's path.
    const offline = sim();
    let text = '';
    while (
      offline.step({
        sample: (s) => void (text += `${formatTraceLine(s)}\n`),
        context: (c) => void (text += `${formatContextLine(c)}\n`),
      })
    );
    const agg = new Aggregator({ burstGapMs: 2000, windowsMs: [] });
    const replayed: BurstRecord[] = [];
    agg.addListener({ onBurst: (b: Readonly<BurstEvent>) => void replayed.push(burstRecord(b)) });
    await new ReplaySource('trace', { input: Readable.from([Buffer.from(text)]) }).run(agg);
    agg.finish();
    const order = (a: BurstRecord, b: BurstRecord) => a.start_ms - b.start_ms || a.device.localeCompare(b.device);
    expect(replayed.sort(order)).toEqual(got.sort(order));

    // `analyze --format json` ends with the limits learned by the end of the trace: the live ones.
    const r = runCli(['analyze', '--format', 'json', '-'], { input: text });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { learned_onsets: { device: string; stat: string; measure: string; value: number; bursts: number }[] };
    expect(out.learned_onsets.map(({ device, stat, measure, bursts }) => ({ device, stat, measure, bursts }))).toEqual(learned.map(({ device, stat, measure, bursts }) => ({ device, stat, measure, bursts })));
    for (const [i, o] of out.learned_onsets.entries()) expect(o.value).toBeCloseTo(learned[i]!.value, 6);
    const table = runCli(['analyze', '-'], { input: text }).stdout;
    expect(table).toContain(`Learned onsets (where drops began`);
    expect(table).toMatch(/\n {2}eth1 pps_allowance_exceeded: 4\d\d,\d{3} pkt\/s \(\d+ bursts\)\n/);
  });
});
