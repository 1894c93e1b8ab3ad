// The EMF records of bursts and minutes, built from a simulated ENA host (a
// stand-in: CloudWatch and real drops are not reachable here) through the
// one aggregation path: every record is valid EMF (test/helpers/emf.ts), a
// burst record is the burst /api/bursts serves, and the minute records add
// up to what /metrics counts (drops, seconds with drops).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { instanceId } from '../../src/export/cloudwatch/instance.js';
import { describe, expect, it } from 'vitest';
import { ALLOWANCE_STATS, CONNTRACK_AVAILABLE } from '../../src/aggregation/stat-policy.js';
import { EmfOutput } from '../../src/export/cloudwatch/emf-output.js';
import { EmfSink } from '../../src/export/cloudwatch/emf-sink.js';
import { BURST_DIMENSIONS, BURST_METRICS, DEFAULT_LOG_GROUP, DEFAULT_NAMESPACE, SECONDS_DIMENSIONS, burstEmfRecord, minuteEmfRecord } from '../../src/export/cloudwatch/emf.js';
import { SimulateSource } from '../../src/sources/simulate.js';
import { DeviceRegistry } from '../../src/state/device-registry.js';
import { emfProblems, parseEmf, type EmfDocument } from '../helpers/emf.js';

const IDENTITY = { namespace: DEFAULT_NAMESPACE, logGroup: DEFAULT_LOG_GROUP, nodeName: 'ip-10-0-1-23.ec2.internal', properties: { InstanceId: 'i-0123456789abcdef0' } };

async function simulate(opts: ConstructorParameters<typeof SimulateSource>[0]): Promise<{ registry: DeviceRegistry; records: EmfDocument[]; written: number }> {
  const registry = new DeviceRegistry({ intervalMs: 100, burstGapMs: 2000, recorder: null });
  const out = new PassThrough();
  let text = '';
  out.setEncoding('utf8').on('data', (d: string) => (text += d));
  const emf = new EmfOutput(registry, new EmfSink({ kind: 'stdout' }, { stdout: out, queueRecords: 100_000 }), IDENTITY);
  await new SimulateSource(opts).run(registry);
  registry.finish();
  await emf.close();
  const s = emf.stats();
  expect(s.dropped).toEqual({ burst: 0, minute: 0 });
  return { registry, records: parseEmf(text), written: s.written.burst + s.written.minute };
}

describe('EMF records from a simulated ENA host', () => {
  it('are valid EMF; each burst record is the burst /api/bursts serves, with its metrics at 1 s resolution', async () => {
    const { registry, records, written } = await simulate({ devices: 3, queues: 2, durationMs: 5 * 60_000, seed: 11, pods: 3 });
    expect(records.length).toBe(written);
    const bursts = records.filter((r) => r['record'] === 'burst');
    const api = registry.bursts.query({});
    expect(api.length).toBeGreaterThan(5);
    expect(bursts.map((b) => b['id'])).toEqual(api.map((b) => b.id).sort((a, b) => a! - b!));
    for (const b of bursts) {
      const r = registry.bursts.byId(b['id'] as number)!;
      expect(b).toMatchObject({ Device: r.device, Stat: r.stat, NodeName: IDENTITY.nodeName, InstanceId: 'i-0123456789abcdef0', burst_size: r.increase, burst_duration: r.duration_ms / 1000, burst_peak_rate: r.peak_rate_per_second });
      // Everything /api/bursts says, searchable in Logs Insights (device and stat as the dimensions).
      const { device: _d, stat: _s, ...props } = r;
      expect(b).toMatchObject(JSON.parse(JSON.stringify(props)) as object);
      expect(b['start']).toBe(new Date(r.start_ms).toISOString());
      expect(b._aws.Timestamp).toBe(Math.round(r.end_ms));
      expect(b._aws.LogGroupName).toBe(DEFAULT_LOG_GROUP);
      expect(b._aws.CloudWatchMetrics).toEqual([
        { Namespace: DEFAULT_NAMESPACE, Dimensions: BURST_DIMENSIONS, Metrics: BURST_METRICS.map((m) => ({ Name: m.name, Unit: m.unit, StorageResolution: 1 })) },
      ]);
    }
    // The simulated pods are behind eth0's bursts: the top pods travel with the record.
    expect(bursts.some((b) => Array.isArray(b['top_pods']) && (b['top_pods'] as unknown[]).length > 0)).toBe(true);
  });

  it('minute records: one per device per minute; their per-second values add up to the drops and seconds with drops /metrics counts', async () => {
    // Resets, bogus zero reads and errors on: the minute records follow the same accepted samples.
    const { registry, records } = await simulate({ devices: 2, queues: 2, durationMs: 4 * 60_000 + 30_000, seed: 5, resetEveryMs: 70_000, zeroReadEveryMs: 45_000, errorEveryMs: 50_000 });
    const minutes = records.filter((r) => r['record'] === 'minute');
    for (const device of ['eth0', 'eth1']) {
      const mine = minutes.filter((m) => m['Device'] === device);
      // 4.5 minutes from a minute boundary: 5 records, the last one partial (written at the end of input).
      const starts = mine.map((m) => m._aws.Timestamp);
      expect(starts.length).toBe(5);
      expect(new Set(starts).size).toBe(5);
      for (const t of starts) expect(t % 60_000).toBe(0);
      expect(mine.slice(0, 4).every((m) => m['sampled_seconds'] === 60)).toBe(true);
      for (const m of mine) expect(m[CONNTRACK_AVAILABLE]).toEqual(expect.any(Number));
    }
    for (const t of registry.aggregator.totals().filter((x) => (ALLOWANCE_STATS as readonly string[]).includes(x.stat))) {
      const values = minutes.filter((m) => m['Device'] === t.device).flatMap((m) => (m[t.stat] as number[] | undefined) ?? []);
      expect({ device: t.device, stat: t.stat, drops: values.reduce((a, b) => a + b, 0), seconds: values.length, max: Math.max(0, ...values) }).toEqual({
        device: t.device,
        stat: t.stat,
        drops: t.increase,
        seconds: t.secondsWithIncrease,
        max: t.maxSecondIncrease,
      });
    }
    // At least one stat dropped, or the test proves nothing.
    expect(minutes.some((m) => ALLOWANCE_STATS.some((s) => Array.isArray(m[s])))).toBe(true);
  });
});

describe('minute record shape', () => {
  const minute = {
    device: 'eth0',
    startMs: 1_796_000_040_000,
    sampledSeconds: 60,
    stats: [
      { stat: 'pps_allowance_exceeded' as const, seconds: [2250, 2500, 250] },
      { stat: 'bw_in_allowance_exceeded' as const, seconds: [] },
    ],
    conntrackAvailable: 40_919,
  };

  it('declares only the stats that dropped (a quiet stat costs no metric) under [NodeName, Device] and the fleet', () => {
    const r = minuteEmfRecord(minute, IDENTITY);
    expect(emfProblems(JSON.stringify(r))).toEqual([]);
    const [drops, conntrack] = r._aws.CloudWatchMetrics;
    expect(drops).toEqual({ Namespace: DEFAULT_NAMESPACE, Dimensions: SECONDS_DIMENSIONS, Metrics: [{ Name: 'pps_allowance_exceeded', Unit: 'Count' }] });
    expect(conntrack!.Metrics).toEqual([{ Name: CONNTRACK_AVAILABLE, Unit: 'Count' }]);
    expect(r).toMatchObject({ pps_allowance_exceeded: [2250, 2500, 250], pps_allowance_exceeded_seconds: 3, pps_allowance_exceeded_drops: 5000, pps_allowance_exceeded_max_per_second: 2500, conntrack_allowance_available: 40_919 });
    expect(r).not.toHaveProperty('bw_in_allowance_exceeded');
  });

  it('a quiet minute carries the conntrack gauge alone; without the gauge it is a log line with no metric', () => {
    const quiet = minuteEmfRecord({ ...minute, stats: [] }, IDENTITY);
    expect(emfProblems(JSON.stringify(quiet))).toEqual([]);
    expect(quiet._aws.CloudWatchMetrics).toEqual([{ Namespace: DEFAULT_NAMESPACE, Dimensions: [['NodeName'], []], Metrics: [{ Name: CONNTRACK_AVAILABLE, Unit: 'Count' }] }]);
    const none = minuteEmfRecord({ ...minute, stats: [], conntrackAvailable: null }, IDENTITY);
    expect(emfProblems(JSON.stringify(none))).toEqual([]);
    expect(none._aws.CloudWatchMetrics).toEqual([]);
    expect(none).toMatchObject({ record: 'minute', sampled_seconds: 60, Device: 'eth0' });
  });

  it('the validator catches what CloudWatch would refuse', () => {
    const good = burstEmfRecord(
      {
        id: 1,
        device: 'eth0',
        stat: 'pps_allowance_exceeded',
        start_ms: 1,
        end_ms: 2,
        duration_ms: 1,
        increase: 3,
        peak_rate_per_second: 4,
        onset: { rx_packets_per_second: null, tx_packets_per_second: null, rx_bits_per_second: null, tx_bits_per_second: null, conntrack_available: null },
        learned_onset: { measure: 'packets_per_second', value: null, bursts: 0 },
        node_increase: {},
        diagnosis: { cause: 'pps', summary: '', remedy: '' },
        top_pods: null,
      },
      IDENTITY,
    );
    expect(emfProblems(JSON.stringify(good))).toEqual([]);
    expect(emfProblems(JSON.stringify({ ...good, Stat: 5 }))).toEqual(['dimension Stat: the root has no string member of that name']);
    expect(emfProblems(JSON.stringify({ ...good, burst_size: 'many' }))).toEqual(['metric burst_size: the root has no numeric member of that name']);
    expect(emfProblems(JSON.stringify({ ...good, burst_size: new Array(101).fill(1) }))).toEqual(['metric burst_size: 101 values (at most 100)']);
    expect(emfProblems(JSON.stringify({ ...good, _aws: { ...good._aws, Timestamp: 1.5 } }))[0]).toMatch(/Timestamp/);
    expect(emfProblems(JSON.stringify(good) + ' x')[0]).toMatch(/not one JSON value/);
  });
});

describe('the instance ID on the records', () => {
  it('comes from the DMI asset tag of a Nitro instance, and only when it looks like one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-dmi-'));
    try {
      const tag = join(dir, 'board_asset_tag');
      writeFileSync(tag, 'i-0123456789abcdef0\n');
      expect(instanceId(tag)).toBe('i-0123456789abcdef0');
      writeFileSync(tag, 'Default string\n');
      expect(instanceId(tag)).toBeNull();
      expect(instanceId(join(dir, 'missing'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
