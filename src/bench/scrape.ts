// Measurement 4: /metrics latency and size as Prometheus sees them, for 1,
// 8 and 32 simulated ENA devices, at defaults and with --stat-include .
// (every stat). Each configuration is a fresh `serve` child; requests are
// sequential over one keep-alive connection with Prometheus's own Accept
// and Accept-Encoding headers (OpenMetrics, gzip), after a warm-up.

import { startServe } from '../harness/serve.js';
import { until } from '../harness/wait.js';
import { checkAborted, sleep, type BenchContext } from './context.js';
import { httpGet, keepAliveAgent, PROMETHEUS_SCRAPE_HEADERS } from './http.js';
import { distribution, type Distribution } from './stats.js';

export interface ScrapeConfigResult {
  devices: number;
  stats: 'defaults' | 'all';
  latencyMs: Distribution;
  /** Bytes on the wire (gzip) and uncompressed. */
  wireBytes: number;
  bytes: number;
  series: number;
  /** The most series any one device has (lines with its device label). */
  seriesPerDeviceMax: number;
}

export interface ScrapeResult {
  status: 'ok';
  configs: ScrapeConfigResult[];
  /** An idle serve's event-loop lag (1 simulated device, 2 s without scrapes), as its /metrics reports it, ms. */
  idleLagMs?: { p50: number; p99: number; max: number };
}

export const SCRAPE_DEVICE_COUNTS = [1, 8, 32] as const;

/** Sample lines of a text exposition (each a series). */
export function countSeries(body: string): number {
  let n = 0;
  for (const line of body.split('\n')) if (line !== '' && !line.startsWith('#')) n++;
  return n;
}

/** The most sample lines any one `device` label value has. */
export function seriesPerDeviceMax(body: string): number {
  const by = new Map<string, number>();
  for (const line of body.split('\n')) {
    const d = line.startsWith('#') ? null : /[{,]device="([^"]*)"/.exec(line);
    if (d) by.set(d[1]!, (by.get(d[1]!) ?? 0) + 1);
  }
  return Math.max(0, ...by.values());
}

export async function measureScrape(ctx: BenchContext): Promise<ScrapeResult> {
  const configs: ScrapeConfigResult[] = [];
  let idleLagMs: ScrapeResult['idleLagMs'];
  const requests = ctx.quick ? 50 : 300;
  const budgetMs = ctx.quick ? 2000 : 10_000;
  for (const stats of ['defaults', 'all'] as const) {
    for (const devices of SCRAPE_DEVICE_COUNTS) {
      checkAborted(ctx.signal);
      ctx.progress(`4/5 scrape latency: ${devices} simulated device(s), ${stats === 'all' ? '--stat-include .' : 'defaults'}`);
      const { child, base } = await startServe(['--source', 'simulate', '--simulate-devices', String(devices), ...(stats === 'all' ? ['--stat-include', '.'] : [])], ctx);
      const agent = keepAliveAgent(1);
      try {
        await until(async () => (await httpGet(`${base}/readyz`, { agent })).status === 200, 'serve /readyz', 10_000, { signal: ctx.signal });
        // A second of samples so every per-device family exists.
        await sleep(ctx.quick ? 700 : 2000, ctx.signal);
        const url = `${base}/metrics`;
        if (idleLagMs === undefined) {
          // What a dashboard charts for an exporter left alone.
          await httpGet(url, { agent, headers: PROMETHEUS_SCRAPE_HEADERS });
          await sleep(2000, ctx.signal);
          const body = (await httpGet(url, { agent, headers: PROMETHEUS_SCRAPE_HEADERS })).body;
          const read = (stat: string): number => 1000 * Number(new RegExp(`^nodejs_eventloop_lag_${stat}_seconds (\\S+)$`, 'm').exec(body)?.[1] ?? Number.NaN);
          idleLagMs = { p50: read('p50'), p99: read('p99'), max: read('max') };
        }
        for (let i = 0; i < 5; i++) await httpGet(url, { agent, headers: PROMETHEUS_SCRAPE_HEADERS });
        const ms = new Float64Array(requests);
        let n = 0;
        let last = await httpGet(url, { agent, headers: PROMETHEUS_SCRAPE_HEADERS });
        const t0 = performance.now();
        while (n < requests && performance.now() - t0 < budgetMs) {
          checkAborted(ctx.signal);
          last = await httpGet(url, { agent, headers: PROMETHEUS_SCRAPE_HEADERS });
          if (last.status !== 200) throw new Error(`/metrics answered ${last.status}`);
          ms[n++] = last.ms;
        }
        configs.push({ devices, stats, latencyMs: distribution(ms, n), wireBytes: last.bytes, bytes: Buffer.byteLength(last.body), series: countSeries(last.body), seriesPerDeviceMax: seriesPerDeviceMax(last.body) });
      } finally {
        agent.destroy();
        await child.stop();
      }
    }
  }
  return { status: 'ok', configs, ...(idleLagMs ? { idleLagMs } : {}) };
}
