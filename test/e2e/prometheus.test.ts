// ethburst scraped by a real Prometheus (Debian's package) every second:
// what Prometheus stores must tell the scripted story, and agree with the
// exporter's own full-resolution view. A second Prometheus with native
// histograms on scrapes the protobuf exposition of the same exporter, and
// its histogram functions must agree with the burst list.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prometheusMissing, scrapeJob, startPrometheus, stopAll, type PrometheusInstance } from '../helpers/prometheus.js';
import { until } from '../../src/harness/wait.js';
import { LONG_BURST_SECONDS, longBurstCount } from '../../src/export/rules.js';
import { startServe, type Served } from '../helpers/serve.js';

const missing = prometheusMissing();

interface Burst {
  device: string;
  stat: string;
  start_ms: number;
  end_ms: number;
  increase: number;
}

// Offsets from serve's start. Gaps between bursts are well over --burst-gap.
const SCRIPT = [
  { device: 'eth0', stat: 'linklocal_allowance_exceeded', at_ms: 8000, duration_ms: 300, packets: 100 },
  { device: 'eth0', stat: 'linklocal_allowance_exceeded', at_ms: 11000, duration_ms: 1500, packets: 2000 },
  { device: 'eth0', stat: 'pps_allowance_exceeded', at_ms: 12000, duration_ms: 200, packets: 7 },
  { device: 'eth0', stat: 'linklocal_allowance_exceeded', at_ms: 15000, duration_ms: 100, packets: 30 },
];

describe.skipIf(missing !== null)(`end to end with a real Prometheus ${missing ? `(skipped: ${missing})` : ''}`, () => {
  let served: Served;
  let prom: PrometheusInstance;
  let native: PrometheusInstance;
  let bursts: Burst[];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-e2e-'));
    const script = join(dir, 'script.json');
    writeFileSync(script, JSON.stringify(SCRIPT));
    served = await startServe(['--source', 'simulate', '--simulate-script', script, '--burst-gap', '1s', '--compat', 'showmax']);
    const servedAt = Date.now();
    [prom, native] = await Promise.all([
      startPrometheus({ scrapeInterval: '1s', scrapeConfigs: [scrapeJob('ethburst', new URL(served.base).host)] }),
      startPrometheus({ scrapeInterval: '1s', scrapeConfigs: [scrapeJob('ethburst', new URL(served.base).host)], extraArgs: ['--enable-feature=native-histograms'] }),
    ]);
    await prom.waitForQuery('ethtool_linklocal_allowance_exceeded_total');
    // The raw-counter checks need a sample from before the first burst.
    if (Date.now() - servedAt > SCRIPT[0]!.at_ms - 1000) throw new Error('Prometheus started too late to see the counters before the first burst');
    bursts = await until(async () => {
      const b = (await served.json<{ bursts: Burst[] }>('/api/bursts')).bursts;
      return b.length === SCRIPT.length ? b : null;
    }, 'the scripted bursts to finish', 30_000);
    // Two more scrapes so Prometheus has the final state.
    await new Promise((r) => setTimeout(r, 2500));
  }, 60_000);

  afterAll(async () => {
    await stopAll(prom, native);
    await served?.stop();
  });

  const num = async (expr: string, from: PrometheusInstance = prom): Promise<number> => {
    const r = await from.query(expr);
    if (r.length !== 1) throw new Error(`${expr}: expected one series, got ${r.length}`);
    return Number(r[0]!.value![1]);
  };

  it('the exporter found exactly the scripted bursts', () => {
    expect(bursts.map((b) => [b.stat, b.increase])).toEqual(SCRIPT.map((s) => [s.stat, s.packets]));
  });

  it('burst histograms in Prometheus count the bursts and how long they lasted', async () => {
    const ll = '{device="eth0",stat="linklocal_allowance_exceeded"}';
    expect(await num(`ethtool_burst_duration_seconds_count${ll}`)).toBe(3);
    // Only the 1.5 s burst lasted longer than 1 s.
    expect(await num(`ethtool_burst_duration_seconds_count${ll} - ignoring(le) ethtool_burst_duration_seconds_bucket{device="eth0",stat="linklocal_allowance_exceeded",le="1"}`)).toBe(1);
    expect(await num('ethtool_burst_duration_seconds_count{device="eth0",stat="pps_allowance_exceeded"}')).toBe(1);
  });

  it('raw counters rose by exactly the scripted packets while Prometheus watched', async () => {
    const rise = await num('max_over_time(ethtool_linklocal_allowance_exceeded_total{device="eth0"}[1m]) - min_over_time(ethtool_linklocal_allowance_exceeded_total{device="eth0"}[1m])');
    expect(rise).toBe(2130);
    expect(await num('resets(ethtool_linklocal_allowance_exceeded_total{device="eth0"}[1m])')).toBe(0);
  });

  it('seconds with drops in Prometheus equal the seconds with drops in the 100 ms series', async () => {
    const series = await served.json<{ points: [number, number][] }>('/api/series?device=eth0&stat=linklocal_allowance_exceeded&window=10m');
    const seconds = new Set(series.points.filter(([, v]) => v > 0).map(([t]) => Math.floor(t / 1000)));
    expect(seconds.size).toBeGreaterThanOrEqual(3);
    const ll = '{device="eth0",stat="linklocal_allowance_exceeded"}';
    expect(await num(`ethtool_drop_seconds_total${ll}`)).toBe(seconds.size);
  });

  it('native histograms (protobuf scrape, --enable-feature=native-histograms): counts, sums and quantiles agree with the burst list', async () => {
    const ll = '{device="eth0",stat="linklocal_allowance_exceeded"}';
    const mine = bursts.filter((b) => b.stat === 'linklocal_allowance_exceeded');
    await native.waitForQuery(`histogram_count(ethtool_burst_size${ll}) == ${mine.length}`);
    expect(await num(`histogram_count(ethtool_burst_size${ll})`, native)).toBe(mine.length);
    expect(await num(`histogram_sum(ethtool_burst_size${ll})`, native)).toBe(2130);
    expect(await num(`histogram_count(ethtool_burst_duration_seconds${ll})`, native)).toBe(mine.length);
    // Schema 3 buckets are 2^(1/8) ≈ 9 % wide: a quantile lands within one bucket of the true value.
    const within = (got: number, want: number): void => {
      expect(got).toBeGreaterThan(want / 2 ** (1 / 8));
      expect(got).toBeLessThanOrEqual(want * 2 ** (1 / 8));
    };
    const sizes = mine.map((b) => b.increase).sort((a, b) => a - b);
    within(await num(`histogram_quantile(0.5, ethtool_burst_size${ll})`, native), sizes[1]!);
    within(await num(`histogram_quantile(1, ethtool_burst_size${ll})`, native), sizes[2]!);
    const longest = Math.max(...mine.map((b) => (b.end_ms - b.start_ms) / 1000));
    within(await num(`histogram_quantile(1, ethtool_burst_duration_seconds${ll})`, native), longest);
    // Per-second increases: one observation per second with drops, summing to the packets.
    const series = await served.json<{ points: [number, number][] }>('/api/series?device=eth0&stat=linklocal_allowance_exceeded&window=10m');
    const seconds = new Set(series.points.filter(([, v]) => v > 0).map(([t]) => Math.floor(t / 1000)));
    expect(await num(`histogram_count(ethtool_second_increase${ll})`, native)).toBe(seconds.size);
    expect(await num(`histogram_sum(ethtool_second_increase${ll})`, native)).toBe(2130);
    // The classic series of a histogram with native buckets are not stored twice.
    expect(await native.query(`ethtool_burst_duration_seconds_count${ll}`)).toEqual([]);
  });

  it('the long-burst alert counts the one burst over 1 s from classic buckets and from the native histogram alike', async () => {
    const sel = (expr: string): string => `sum by (device, stat) (${expr.replace(/\n/g, ' ')})`;
    const want = bursts.filter((b) => b.stat === 'linklocal_allowance_exceeded' && b.end_ms - b.start_ms > LONG_BURST_SECONDS * 1000).length;
    expect(want).toBe(1);
    for (const p of [prom, native]) {
      const r = await p.query(sel(longBurstCount()));
      const ll = r.find((x) => x.metric['stat'] === 'linklocal_allowance_exceeded');
      expect(Number(ll?.value?.[1])).toBe(want);
      expect(Number(r.find((x) => x.metric['stat'] === 'pps_allowance_exceeded')?.value?.[1])).toBe(0);
    }
  });

  it('with --compat showmax, the seed guide’s recording rule gives the same answer as the native name', async () => {
    const t = Date.now() / 1000 - 3;
    const guide = await prom.query('rate(node_net_ethtool{device="eth0",type="linklocal_allowance_exceeded"}[30s])', t);
    const ours = await prom.query('rate(ethtool_linklocal_allowance_exceeded_total{device="eth0"}[30s])', t);
    expect(guide.length).toBe(1);
    expect(ours.length).toBe(1);
    expect(Number(guide[0]!.value![1])).toBeGreaterThan(0);
    expect(Number(guide[0]!.value![1])).toBe(Number(ours[0]!.value![1]));
    const g = await num('max_over_time(node_net_ethtool{device="eth0",type="linklocal_allowance_exceeded"}[1m]) - min_over_time(node_net_ethtool{device="eth0",type="linklocal_allowance_exceeded"}[1m])');
    expect(g).toBe(2130);
  });
});
