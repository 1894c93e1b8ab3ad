// What Prometheus sees: the exposition of a replayed, hand-built trace,
// checked name by name and value by value, in both formats.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportedStatMatcher } from '../../src/aggregation/stat-policy.js';
import type { Exporter } from '../../src/export/exporter.js';
import { testExporter, type TestExporterOptions } from '../helpers/exporter.js';
import { ReplaySource } from '../../src/sources/replay.js';
import { SimulateSource } from '../../src/sources/simulate.js';
import { promtoolCheckMetrics } from '../../src/harness/promtool.js';
import { which } from '../../src/harness/which.js';
import { parseExposition, value } from '../helpers/exposition.js';
import { CollectedMetric } from '../../src/export/metrics/collected.js';

const T0 = 1_764_000_000_000;
const DEFAULT_EXPORT = exportedStatMatcher();

function exporter(opts: TestExporterOptions = {}): Exporter {
  return testExporter({ exportStat: DEFAULT_EXPORT, version: '9.9.9', now: () => T0 + 60_000, ...opts });
}

/** 40 ticks of ens5: a pps burst of 5+10+5 at ticks 10-12, a bogus all-zero read at 20, a linklocal reset at 30. */
function trace(): string {
  const lines: string[] = [];
  let pps = 100;
  let ll = 700;
  for (let k = 0; k < 40; k++) {
    if (k === 10) pps += 5;
    if (k === 11) pps += 10;
    if (k === 12) pps += 5;
    if (k === 30) ll = 3; // a genuine reset: the counter restarts and counts 3
    const zero = k === 20;
    const stats = {
      bw_in_allowance_exceeded: zero ? 0 : 0,
      bw_out_allowance_exceeded: zero ? 0 : 0,
      pps_allowance_exceeded: zero ? 0 : pps,
      conntrack_allowance_exceeded: 0,
      linklocal_allowance_exceeded: zero ? 0 : ll,
      conntrack_allowance_available: zero ? 0 : 5000 - k,
      queue_0_tx_cnt: 1000 + k,
      queue_1_tx_cnt: 2000 + k,
      tx_cnt_total_like: '18446744073709551615',
    };
    lines.push(JSON.stringify({ t: T0 + k * 100, device: 'ens5', driver: 'ena', stats }));
  }
  return `${lines.join('\n')}\n`;
}

async function replayInto(e: Exporter): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-expo-'));
  const file = join(dir, 'trace.jsonl');
  writeFileSync(file, trace());
  await new ReplaySource(file, { speed: 'fast' }).run(e.registry);
  e.registry.finish();
}

const havePromtool = which('promtool') !== null;

describe('exposition of a replayed trace', () => {
  it('raw counters, gauges, queue labels, burst histograms, resets and failed reads tell the trace’s story (Prometheus text)', async () => {
    const e = exporter({ exportStat: (s) => DEFAULT_EXPORT(s) || /^queue_/.test(s) });
    await replayInto(e);
    const [type, text] = await e.renderText(undefined);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    const p = parseExposition(text);

    expect(p.types.get('ethtool_pps_allowance_exceeded_total')).toBe('counter');
    expect(value(p, 'ethtool_pps_allowance_exceeded_total', { device: 'ens5' })).toBe(120);
    expect(p.helps.get('ethtool_linklocal_allowance_exceeded_total')).toMatch(/Amazon DNS, IMDS, Time Sync/);
    // The bogus zero read at tick 20 never reaches the raw counters: the last good value is shown.
    expect(value(p, 'ethtool_linklocal_allowance_exceeded_total', { device: 'ens5' })).toBe(3);
    expect(p.types.get('ethtool_conntrack_allowance_available')).toBe('gauge');
    expect(value(p, 'ethtool_conntrack_allowance_available', { device: 'ens5' })).toBe(5000 - 39);
    // Per-queue stats: a queue label, an ethtool_queue_ name, never the number in the name.
    expect(value(p, 'ethtool_queue_tx_cnt_total', { device: 'ens5', queue: '1' })).toBe(2039);
    expect(p.samples.some((s) => /queue_\d/.test(s.name))).toBe(false);
    // Not exported: no stat filter matched it.
    expect(p.samples.some((s) => s.name.startsWith('ethtool_tx_cnt_total_like'))).toBe(false);

    // One pps burst: 20 packets over ticks 10-12, from the sample before (tick 9) to tick 12.
    const ppsL = { device: 'ens5', stat: 'pps_allowance_exceeded' };
    expect(p.types.get('ethtool_burst_duration_seconds')).toBe('histogram');
    expect(value(p, 'ethtool_burst_duration_seconds_count', ppsL)).toBe(1);
    expect(value(p, 'ethtool_burst_duration_seconds_sum', ppsL)).toBeCloseTo(0.3, 6);
    expect(value(p, 'ethtool_burst_duration_seconds_bucket', { ...ppsL, le: '1' })).toBe(1);
    // Native-only families stay out of the text formats.
    expect(p.samples.some((s) => s.name.startsWith('ethtool_burst_size') || s.name.startsWith('ethtool_second_increase'))).toBe(false);
    // 4 s of samples, one of them (ticks 10-12 all fall in second 1) with drops.
    expect(value(p, 'ethtool_drop_seconds_total', ppsL)).toBe(1);
    expect(value(p, 'ethtool_last_burst_end_timestamp_seconds', ppsL)).toBeCloseTo((T0 + 1200) / 1000, 3);

    // The linklocal reset is counted once, its 3 new packets are a burst of their own.
    expect(value(p, 'ethtool_resets_total', { device: 'ens5' })).toBe(1);
    expect(value(p, 'ethtool_failed_reads_total', { device: 'ens5' })).toBe(1);

    expect(value(p, 'ethtool_info', { device: 'ens5', driver: 'ena' })).toBe(1);
    expect(value(p, 'ethtool_up', { device: 'ens5' })).toBe(1);
    expect(value(p, 'ethburst_build_info', { version: '9.9.9' })).toBe(1);
    // Quiet stats have histograms too (zeros), so a dashboard never shows "no data" for a healthy node.
    expect(value(p, 'ethtool_burst_duration_seconds_count', { device: 'ens5', stat: 'bw_in_allowance_exceeded' })).toBe(0);
  });

  it('OpenMetrics by content negotiation: counter families without _total, samples with it, # EOF', async () => {
    const e = exporter();
    await replayInto(e);
    const [type, text] = await e.renderText('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1');
    expect(type).toMatch(/^application\/openmetrics-text/);
    expect(text.endsWith('# EOF\n')).toBe(true);
    const p = parseExposition(text);
    expect(p.types.get('ethtool_pps_allowance_exceeded')).toBe('counter');
    expect(p.types.has('ethtool_pps_allowance_exceeded_total')).toBe(false);
    expect(value(p, 'ethtool_pps_allowance_exceeded_total', { device: 'ens5' })).toBe(120);
    expect(p.types.get('ethtool_resets')).toBe('counter');
    // The Prometheus format afterwards is unharmed by the OpenMetrics rendering.
    const again = parseExposition((await e.renderText(undefined))[1]);
    expect(again.types.get('ethtool_pps_allowance_exceeded_total')).toBe('counter');
    expect(again.types.get('ethtool_resets_total')).toBe('counter');
  });

  it('--compat showmax adds node_net_ethtool{device,type} with the same values', async () => {
    const e = exporter({ compatShowmax: true });
    await replayInto(e);
    const p = parseExposition((await e.renderText(undefined))[1]);
    expect(p.types.get('node_net_ethtool')).toBe('gauge');
    expect(value(p, 'node_net_ethtool', { device: 'ens5', type: 'pps_allowance_exceeded' })).toBe(120);
    expect(value(p, 'node_net_ethtool', { device: 'ens5', type: 'conntrack_allowance_available' })).toBe(4961);
  });

  it.skipIf(!havePromtool)(`is promtool-clean, default process metrics included ${havePromtool ? '' : '(skipped: promtool not installed)'}`, async () => {
    const e = exporter({ defaultMetrics: true, compatShowmax: true, exportStat: () => true });
    await replayInto(e);
    expect(promtoolCheckMetrics((await e.renderText(undefined))[1])).toBe('');
  });

  it('removes every series of a device that goes away', async () => {
    const e = exporter();
    await replayInto(e);
    e.registry.deviceRemoved('ens5', T0 + 5000);
    const p = parseExposition((await e.renderText(undefined))[1]);
    expect(p.samples.filter((s) => s.labels['device'] === 'ens5')).toEqual([]);
  });
});

describe('cardinality budget at defaults', () => {
  it.each([1, 8])('%i simulated ENA device(s): ≤ 60 series per device and ≤ 90 others', async (devices) => {
    const e = exporter({ defaultMetrics: true });
    const sim = new SimulateSource({ devices, queues: 8, durationMs: 120_000, seed: 7, resetEveryMs: 30_000, zeroReadEveryMs: 20_000, errorEveryMs: 20_000 });
    await sim.run(e.registry);
    e.registry.finish();
    const p = parseExposition((await e.renderText(undefined))[1]);
    const byDevice = new Map<string, number>();
    let others = 0;
    for (const s of p.samples) {
      const d = s.labels['device'];
      if (d === undefined) others++;
      else byDevice.set(d, (byDevice.get(d) ?? 0) + 1);
    }
    expect(byDevice.size).toBe(devices);
    // A real ENA device adds the 5 series of the ioctl histogram (test/hardening/fake-ena.test.ts counts one).
    for (const [, n] of byDevice) expect(n).toBeLessThanOrEqual(60);
    expect(others).toBeLessThanOrEqual(90);
    // Print the measured numbers: they go in the README's metrics reference.
    console.log(`cardinality: ${devices} device(s): ${[...byDevice.values()].join(', ')} per device, ${others} others`);
  });
});

describe("ethburst's own formatter", () => {
  it('writes every family exactly as prom-client would, in both formats, escapes and non-finite values included', async () => {
    const ex = exporter({ defaultMetrics: true });
    const sim = new SimulateSource({ devices: 3, queues: 2, durationMs: 60_000, seed: 3 });
    while (sim.step(ex.registry));
    const odd = new CollectedMetric('ethburst_test_odd', 'help with \\ and\nnewline', 'counter', ['a', 'b'], (emit) => {
      emit({ a: 'quote " back \\ slash', b: 'line\nbreak' }, Number.NaN);
      emit({ a: 'x', b: 'y' }, Number.POSITIVE_INFINITY);
      emit({ a: 'x', b: 'z' }, Number.NEGATIVE_INFINITY);
      emit({ a: 'ü', b: '' }, 1.5e-7);
    });
    ex.exposition.register(odd);
    // ethburst's families (prom-client's own defaults keep its formatter, and their values move between two calls).
    const mine = (name: string): boolean => /^(ethtool|ethburst)_/.test(name);
    const fams = (await ex.exposition.prometheus.getMetricsAsJSON()).map((m) => m.name).filter(mine);
    expect(fams.length).toBeGreaterThan(30);
    for (const [format, reg] of [
      ['prometheus', ex.exposition.prometheus],
      ['openMetrics', ex.exposition.openMetrics],
    ] as const) {
      let compared = 0;
      for (const m of reg.getMetricsAsArray()) {
        if (!mine(m.name)) continue;
        const ours = await (reg as unknown as { getMetricsAsString(m: unknown): Promise<string> }).getMetricsAsString(m);
        expect(ours, `${format} ${m.name}`).toBe(await ex.exposition.promClientFormat[format](m));
        compared++;
      }
      expect(compared).toBe(fams.length);
    }
  });
});
