// Top pods per burst through the one aggregation path: a simulated ENA host
// (a stand-in: real drops cannot be caused here) with three pod veths whose
// counters the test writes into the trace every second, at known rates;
// then the trace replayed as `analyze` reads it. The same arithmetic runs
// live, fed by the netlink poller instead of trace lines.

import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { Aggregator, type BurstEvent } from '../../src/aggregation/aggregator.js';
import { burstRecord, type BurstRecord } from '../../src/aggregation/burst-record.js';
import { formatContextLine, formatLinksLine, formatTraceLine, parseTraceLine } from '../../src/sources/trace.js';
import { ReplaySource } from '../../src/sources/replay.js';
import { DeviceRegistry } from '../../src/state/device-registry.js';
import type { Capture } from '../../src/state/flight-recorder.js';
import { SimulateSource } from '../../src/sources/simulate.js';
import type { LinkSnapshot } from '../../src/talkers/top-talkers.js';

const START = 1_764_000_000_000;
const PODS = ['eniaaa', 'enibbb', 'eniccc'];
const IPS = [['10.1.0.10'], ['10.1.0.11', '2001:db8::11'], ['10.1.0.12']];
/** Packets per second each way through each pod's veth. */
const RATES = [3000, 1000, 10];

/** The simulated host with the pods' veths every second, as a trace (with the pods' names where given). */
function trace(pods?: (string | null)[]): string {
  const sim = new SimulateSource({
    devices: 1,
    startMs: START,
    durationMs: 30_000,
    script: [{ device: 'eth0', stat: 'pps_allowance_exceeded', startMs: START + 10_050, durationMs: 3000, packets: 6000 }],
    randomBursts: false,
    resetEveryMs: 0,
    zeroReadEveryMs: 0,
    errorEveryMs: 0,
  });
  let text = '';
  let nextLinks = START + 500;
  while (
    sim.step({
      sample: (s) => void (text += `${formatTraceLine(s)}\n`),
      context: (c) => {
        // Each second, just before that tick's node line, the veths' counters.
        if (c.timeMs >= nextLinks) {
          const seconds = (nextLinks - START) / 1000;
          const l: LinkSnapshot = { timeMs: nextLinks, names: PODS, ips: IPS, values: Float64Array.from(RATES.flatMap((r) => [r * seconds, r * seconds, r * seconds * 100, r * seconds * 100])), ...(pods ? { pods } : {}) };
          text += `${formatLinksLine(l)}\n`;
          nextLinks += 1000;
        }
        const line = formatContextLine(c);
        if (line !== null) text += `${line}\n`;
      },
    })
  );
  return text;
}

describe('top pods per burst', () => {
  it('ranks the pod veths by packets over the burst, with addresses and their share of the device’s packets', async () => {
    const text = trace();
    // The links lines round-trip.
    const first = text.split('\n').find((l) => l.includes('"links"'))!;
    expect(parseTraceLine(first)).toEqual({ kind: 'links', timeMs: START + 500, names: PODS, ips: IPS, values: Float64Array.from(RATES.flatMap((r) => [r / 2, r / 2, r * 50, r * 50])) });

    const agg = new Aggregator({ burstGapMs: 2000, windowsMs: [] });
    const bursts: BurstRecord[] = [];
    const events: BurstEvent[] = [];
    agg.addListener({
      onBurst: (b) => {
        bursts.push(burstRecord(b));
        events.push({ ...b });
      },
    });
    await new ReplaySource('trace', { input: Readable.from([Buffer.from(text)]) }).run(agg);
    agg.finish();
    expect(bursts).toHaveLength(1);
    const b = bursts[0]!;
    // The burst runs from 10.0 s (the sample before the first drops) to 13.0 s: from the
    // snapshot at or before its start (9.5 s) to the first at or after its end (13.5 s), 4 s.
    expect([b.start_ms - START, b.end_ms - START]).toEqual([10_000, 13_000]);
    const seconds = 4;
    expect(b.top_pods!.map((p) => [p.veth, p.ips, p.packets, p.bytes])).toEqual([
      ['eniaaa', ['10.1.0.10'], 2 * 3000 * seconds, 2 * 3000 * seconds * 100],
      ['enibbb', ['10.1.0.11', '2001:db8::11'], 2 * 1000 * seconds, 2 * 1000 * seconds * 100],
      ['eniccc', ['10.1.0.12'], 2 * 10 * seconds, 2 * 10 * seconds * 100],
    ]);
    // Shares are of the device's packets over the same interval: the simulator's own traffic, known to the trace.
    // Every pod's share is of one number, the device's packets from 9.5 s to 13.5 s.
    const top = events[0]!.topPods!;
    const devicePackets = top[0]!.packets / top[0]!.share!;
    for (const p of top) expect(p.packets / p.share!).toBeCloseTo(devicePackets, 6);
    expect(devicePackets).toBeGreaterThan(top[0]!.packets);
    // The record rounds them to 0.1 %.
    expect(b.top_pods!.map((p) => p.share)).toEqual(top.map((p) => Math.round(p.share! * 1000) / 1000));
  });

  it('says nothing about pods when the source has no veth lines', async () => {
    const text = trace()
      .split('\n')
      .filter((l) => !l.includes('"links"'))
      .join('\n');
    const agg = new Aggregator({ burstGapMs: 2000, windowsMs: [] });
    const bursts: BurstRecord[] = [];
    agg.addListener({ onBurst: (b) => void bursts.push(burstRecord(b)) });
    await new ReplaySource('trace', { input: Readable.from([Buffer.from(text)]) }).run(agg);
    agg.finish();
    expect(bursts.map((x) => x.top_pods)).toEqual([null]);
  });

  it('names the pods the Kubernetes API named, and a burst’s capture replays to the same top pods', async () => {
    const text = trace(['shop/web-7d9f', null, 'batch/report-1']);
    expect(parseTraceLine(text.split('\n').find((l) => l.includes('"links"'))!)).toMatchObject({ pods: ['shop/web-7d9f', null, 'batch/report-1'] });
    // Live: the registry (with its flight recorder) fed the trace.
    const registry = new DeviceRegistry({ intervalMs: 100, burstGapMs: 2000, windowsMs: [], recorder: { preMs: 5000, postMs: 3000 } });
    const captures: Capture[] = [];
    registry.addListener({ onCapture: (c) => void captures.push(c) });
    await new ReplaySource('trace', { input: Readable.from([Buffer.from(text)]) }).run(registry);
    registry.finish();
    const live = registry.bursts.query({});
    expect(live).toHaveLength(1);
    expect(live[0]!.top_pods!.map((p) => [p.veth, p.pod])).toEqual([
      ['eniaaa', 'shop/web-7d9f'],
      ['enibbb', null],
      ['eniccc', 'batch/report-1'],
    ]);
    // Offline: `analyze` of the burst's capture, which carries the two snapshots.
    const capture = captures[0]!.text();
    expect(capture.split('\n').filter((l) => l.includes('"links"'))).toHaveLength(2);
    const agg = new Aggregator({ burstGapMs: 2000, windowsMs: [] });
    const offline: BurstRecord[] = [];
    agg.addListener({ onBurst: (b) => void offline.push(burstRecord(b)) });
    await new ReplaySource('capture', { input: Readable.from([Buffer.from(capture)]) }).run(agg);
    agg.finish();
    expect(offline.map((b) => b.top_pods)).toEqual([live[0]!.top_pods]);
  });

  it('ranks over the same moments when a long burst gap outlasts the snapshots the aggregation keeps', async () => {
    // A 30 s gap: the burst is finished only at the end of the trace, 17 snapshots after its end.
    const agg = new Aggregator({ burstGapMs: 30_000, windowsMs: [] });
    const bursts: BurstRecord[] = [];
    agg.addListener({ onBurst: (b) => void bursts.push(burstRecord(b)) });
    await new ReplaySource('trace', { input: Readable.from([Buffer.from(trace())]) }).run(agg);
    agg.finish();
    expect(bursts).toHaveLength(1);
    // Still from 9.5 s to 13.5 s, the first snapshot at or after the end.
    expect(bursts[0]!.top_pods!.map((p) => p.packets)).toEqual(RATES.map((r) => 2 * r * 4));
  });
});
