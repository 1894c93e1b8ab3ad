// Every endpoint and error path of the HTTP server, in-process on loopback.

import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ALLOWANCE_STATS, CONNTRACK_AVAILABLE } from '../../src/aggregation/stat-policy.js';
import type { Exporter } from '../../src/export/exporter.js';
import { testExporter } from '../helpers/exporter.js';
import { silentLogger } from '../../src/log.js';
import { makeLayout, type Sample } from '../../src/sampling/sample.js';
import { request } from 'node:http';
import { createServer, parseListen, wantsGzip } from '../../src/export/server.js';
import { threeBursts } from '../aggregation/helpers.js';
import { Readable } from 'node:stream';
import { Aggregator, type BurstEvent } from '../../src/aggregation/aggregator.js';
import { ReplaySource } from '../../src/sources/replay.js';
import { SimulateSource } from '../../src/sources/simulate.js';
import { PROTOBUF_CONTENT_TYPE } from '../../src/export/metrics/protobuf.js';
import { PROMETHEUS_PROTOBUF_ACCEPT, decodeFamilies } from '../helpers/protobuf.js';

const NAMES = [...ALLOWANCE_STATS];
const layout = makeLayout(1, NAMES);
let now = 1_764_000_000_000;

function sample(device: string, timeMs: number, values: number[], error: string | null = null): Sample {
  const v = new Uint32Array(values.length * 2);
  values.forEach((x, i) => (v[2 * i] = x));
  return { device, driver: 'ena', timeMs, monoNs: Number.NaN, ioctlNs: 20_000, error, errno: error ? 19 : 0, layout, values: v, traffic: new Float64Array(4).fill(Number.NaN) };
}

let server: Server | null = null;
afterEach(async () => {
  if (server) await new Promise((r) => server!.close(r));
  server = null;
});

async function start(): Promise<{ e: Exporter; base: string; port: number }> {
  const e = testExporter({ now: () => now });
  server = createServer({ exporter: e, log: silentLogger, describe: () => ({ source: 'test', intervalMs: 100 }), now: () => now });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { e, base: `http://127.0.0.1:${port}`, port };
}

/** Sends raw bytes and returns the status line. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(request));
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy());
  });
}

describe('HTTP', () => {
  it('/healthz is 200; /readyz is 503 with the reason until every device has a good sample', async () => {
    const { e, base } = await start();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    let r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/no device/);
    e.registry.deviceAdded({ name: 'ens5', driver: 'ena', driverVersion: '2.16.0g', firmwareVersion: '', busInfo: '0000:00:05.0' }, now);
    e.registry.sample(sample('ens5', now, [0, 0, 0, 0, 0], 'ETIMEDOUT'));
    r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/waiting for a first good sample from ens5/);
    e.registry.sample(sample('ens5', now + 100, [0, 0, 0, 0, 0]));
    r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(200);
  });

  it('hands over what the source holds (catchUp) before it answers: a sample not yet drained counts', async () => {
    const e = testExporter({ now: () => now });
    e.registry.deviceAdded({ name: 'ens5', driver: 'ena', driverVersion: '2.16.0g', firmwareVersion: '', busInfo: '0000:00:05.0' }, now);
    // Stands in for the native ring: serve drains it every second while no burst is open.
    const ring = [sample('ens5', now, [0, 0, 0, 0, 0])];
    const catchUp = (): void => {
      for (const s of ring.splice(0)) e.registry.sample(s);
    };
    server = createServer({ exporter: e, log: silentLogger, describe: () => ({ source: 'test', intervalMs: 100 }), now: () => now, catchUp });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    ring.push(sample('ens5', now + 100, [3, 0, 0, 0, 0]));
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^ethtool_bw_in_allowance_exceeded_total\{device="ens5"\} 3$/m);
  });

  it('/metrics negotiates OpenMetrics and gzip; HEAD has no body', async () => {
    const { e, base } = await start();
    e.registry.sample(sample('ens5', now, [1, 2, 3, 4, 5]));
    let r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await r.text()).toMatch(/^ethtool_pps_allowance_exceeded_total\{device="ens5"\} 3$/m);
    r = await fetch(`${base}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(r.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    // fetch decodes gzip itself: the header says it was compressed, the text that it round-tripped.
    r = await fetch(`${base}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(r.headers.get('content-encoding')).toBe('gzip');
    expect(await r.text()).toMatch(/ethtool_up\{device="ens5"\} 1/);
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('/metrics gzips small bodies on the loop and large ones in the thread pool: both arrive whole, in text and protobuf', async () => {
    const { e, base } = await start();
    // Every stat of 16 devices with 16 queues: well over the 128 KiB inline limit.
    await new SimulateSource({ devices: 16, queues: 16, durationMs: 5_000, seed: 5 }).run(e.registry);
    const plain = await (await fetch(`${base}/metrics`, { headers: { 'Accept-Encoding': 'identity' } })).text();
    expect(Buffer.byteLength(plain)).toBeGreaterThan(128 * 1024);
    const zipped = await fetch(`${base}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(await zipped.text()).toBe(plain);
    const proto = await fetch(`${base}/metrics`, { headers: { Accept: PROMETHEUS_PROTOBUF_ACCEPT, 'Accept-Encoding': 'gzip' } });
    expect(proto.headers.get('content-type')).toBe(PROTOBUF_CONTENT_TYPE);
    expect(proto.headers.get('content-encoding')).toBe('gzip');
    const families = decodeFamilies(new Uint8Array(await proto.arrayBuffer()));
    expect(families.find((f) => f.name === 'ethtool_pps_allowance_exceeded_total')?.metric).toHaveLength(16);
  });

  it('/metrics honours q-values in Accept-Encoding: gzip;q=0 and *;q=0 get a plain body', async () => {
    const { e, port } = await start();
    e.registry.sample(sample('ens5', now, [1, 2, 3, 4, 5]));
    // node:http, not fetch: fetch would add its own Accept-Encoding and decode.
    const get = (acceptEncoding: string | null) =>
      new Promise<{ encoding: string | undefined; vary: string | undefined; body: Buffer }>((resolve, reject) => {
        const headers = acceptEncoding === null ? {} : { 'Accept-Encoding': acceptEncoding };
        request({ host: '127.0.0.1', port, path: '/metrics', headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], vary: res.headers.vary, body: Buffer.concat(chunks) }));
        })
          .on('error', reject)
          .end();
      });
    for (const plain of [null, '', 'gzip;q=0', 'identity', '*;q=0', 'gzip;q=0, deflate', 'identity, gzip;q=0.0']) {
      const r = await get(plain);
      expect(r.encoding, String(plain)).toBeUndefined();
      expect(r.body.toString(), String(plain)).toMatch(/^ethtool_up\{device="ens5"\} 1$/m);
      expect(r.vary).toBe('Accept, Accept-Encoding');
    }
    for (const gz of ['gzip', 'GZIP;Q=0.5', '*', 'x-gzip', 'br;q=1, gzip;q=0.8', 'gzip, deflate, br']) {
      const r = await get(gz);
      expect(r.encoding, gz).toBe('gzip');
      expect(r.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
  });

  it.each([
    [undefined, false],
    ['gzip', true],
    ['gzip;q=0', false],
    ['gzip; q=0.000', false],
    ['gzip;q=0.001', true],
    ['gzip;q=0.5', true],
    ['gzip;q=0.5, *;q=0.8', false],
    ['*', true],
    ['*;q=0', false],
    ['*;q=0, gzip', true],
    ['gzip;q=0, *', false],
    ['identity', false],
    ['identity;q=0.5, gzip;q=0.4', false],
    ['identity;q=0.5, gzip;q=0.5', true],
    ['identity;q=0, *;q=0.1', true],
    ['deflate, br', false],
    ['gzip;q=2', false],
    ['gzip;q=abc', false],
    ['gzip;level=9', true],
  ])('Accept-Encoding %j: gzip %s', (header, expected) => {
    expect(wantsGzip(header)).toBe(expected);
  });

  it('/api/bursts returns finished bursts in the analyze schema, filtered', async () => {
    const { e, base } = await start();
    const t0 = now;
    for (let k = 0; k < 50; k++) {
      const ll = k >= 10 && k < 13 ? (k - 9) * 100 : k >= 13 ? 300 : 0;
      const pps = k >= 30 && k < 32 ? (k - 29) * 7 : k >= 32 ? 14 : 0;
      e.registry.sample(sample('ens5', t0 + k * 100, [0, 0, pps, 0, ll]));
    }
    e.registry.finish();
    let body = (await (await fetch(`${base}/api/bursts`)).json()) as { bursts: Record<string, unknown>[] };
    // The analyze schema, plus the live id and where the burst's capture is (finish() cut them).
    expect(body.bursts).toEqual([
      expect.objectContaining({ id: 1, device: 'ens5', stat: 'linklocal_allowance_exceeded', start_ms: t0 + 900, end_ms: t0 + 1200, duration_ms: 300, increase: 300, peak_rate_per_second: 1000, capture: 'ready' }),
      expect.objectContaining({ id: 2, device: 'ens5', stat: 'pps_allowance_exceeded', start_ms: t0 + 2900, end_ms: t0 + 3100, duration_ms: 200, increase: 14, peak_rate_per_second: 70, capture: 'ready' }),
    ]);
    // These samples carry no traffic and no node lines: the onset is not known, and the diagnosis says so by leaving it out.
    expect(body.bursts[0]).toMatchObject({
      onset: { rx_packets_per_second: null, tx_packets_per_second: null, rx_bits_per_second: null, tx_bits_per_second: null, conntrack_available: null },
      learned_onset: { measure: 'packets_per_second', value: null, bursts: 0 },
      node_increase: {},
      diagnosis: { cause: 'linklocal' },
      // No pod veths in this source.
      top_pods: null,
    });
    expect(Object.keys(body.bursts[0]!)).toEqual(['id', 'device', 'stat', 'start_ms', 'end_ms', 'duration_ms', 'increase', 'peak_rate_per_second', 'onset', 'learned_onset', 'node_increase', 'diagnosis', 'top_pods', 'capture']);
    body = (await (await fetch(`${base}/api/bursts?stat=pps_allowance_exceeded`)).json()) as typeof body;
    expect(body.bursts.map((b) => b['stat'])).toEqual(['pps_allowance_exceeded']);
    body = (await (await fetch(`${base}/api/bursts?since=${t0 + 2000}`)).json()) as typeof body;
    expect(body.bursts.length).toBe(1);
    now = t0 + 3500;
    body = (await (await fetch(`${base}/api/bursts?since=1s`)).json()) as typeof body;
    expect(body.bursts.length).toBe(1);
    const bad = await fetch(`${base}/api/bursts?since=yesterday`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/since: "yesterday" is neither/);
  });

  it('/api/bursts/{id}/trace is the burst’s capture, a trace that replays to the same burst', async () => {
    const { e, base } = await start();
    const t0 = now;
    for (let k = 0; k < 60; k++) e.registry.sample(sample('ens5', t0 + k * 100, [0, 0, k >= 20 && k < 23 ? (k - 19) * 100 : k >= 23 ? 300 : 0, 0, 0]));
    e.registry.finish();
    const res = await fetch(`${base}/api/bursts/1/trace`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers.get('ethburst-capture')).toBe('complete');
    const text = await res.text();
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { t: number; device: string; stats: Record<string, number> });
    // Everything recorded, since the burst began less than 30 s after the start.
    expect(lines.map((l) => l.t)).toEqual(Array.from({ length: 60 }, (_, k) => t0 + k * 100));
    expect(lines[25]!.stats['pps_allowance_exceeded']).toBe(300);
    const agg = new Aggregator({ windowsMs: [] });
    const found: BurstEvent[] = [];
    agg.addListener({ onBurst: (b) => void found.push({ ...b }) });
    await new ReplaySource('capture', { input: Readable.from([Buffer.from(text)]) }).run(agg);
    agg.finish();
    expect(found).toEqual([expect.objectContaining({ device: 'ens5', stat: 'pps_allowance_exceeded', startMs: t0 + 1900, endMs: t0 + 2200, increase: 300 })]);
    const missing = await fetch(`${base}/api/bursts/99/trace`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('no capture of burst 99 is kept in memory\n');
  });

  it('/api/bursts?open=1 also lists bursts still in progress, and says the burst gap and server time', async () => {
    const { e, base } = await start();
    const t0 = now;
    for (let k = 0; k < 10; k++) e.registry.sample(sample('ens5', t0 + k * 100, [0, 0, 0, 0, k >= 5 ? (k - 4) * 10 : 0]));
    now = t0 + 1000;
    const body = (await (await fetch(`${base}/api/bursts?open=1`)).json()) as { now_ms: number; burst_gap_ms: number; bursts: unknown[]; open: Record<string, unknown>[] };
    expect(body.now_ms).toBe(t0 + 1000);
    expect(body.burst_gap_ms).toBe(2000);
    expect(body.bursts).toEqual([]);
    expect(body.open).toEqual([{ device: 'ens5', stat: 'linklocal_allowance_exceeded', start_ms: t0 + 400, end_ms: t0 + 900, duration_ms: 500, increase: 50, peak_rate_per_second: 100, open: true }]);
    const plain = (await (await fetch(`${base}/api/bursts`)).json()) as Record<string, unknown>;
    expect('open' in plain).toBe(false);
  });

  it('/api/series returns per-tick increases at full resolution, and says what is wrong with a bad query', async () => {
    const { e, base } = await start();
    const t0 = now;
    for (let k = 0; k < 20; k++) e.registry.sample(sample('ens5', t0 + k * 100, [0, 0, k * 2, 0, 0]));
    now = t0 + 2000;
    const r = (await (await fetch(`${base}/api/series?device=ens5&stat=pps_allowance_exceeded&window=1s`)).json()) as { points: [number, number][]; interval_ms: number };
    expect(r.interval_ms).toBe(100);
    expect(r.points.length).toBe(10);
    expect(r.points.every(([, v]) => v === 2)).toBe(true);
    const list = (await (await fetch(`${base}/api/series`)).json()) as { series: { device: string; stat: string }[] };
    expect(list.series).toContainEqual({ device: 'ens5', stat: 'pps_allowance_exceeded' });
    expect((await fetch(`${base}/api/series?device=ens5&stat=pps_allowance_exceeded&window=1h`)).status).toBe(400);
    expect((await fetch(`${base}/api/series?device=nope&stat=pps_allowance_exceeded`)).status).toBe(404);
  });

  it('/api/devices carries the stat policy the page orders, labels and reads the conntrack gauge by', async () => {
    const { base } = await start();
    const r = (await (await fetch(`${base}/api/devices`)).json()) as { policy: Record<string, unknown> };
    expect(r.policy).toEqual({
      allowanceStats: ALLOWANCE_STATS,
      shortNames: { bw_in_allowance_exceeded: 'bw_in', bw_out_allowance_exceeded: 'bw_out', pps_allowance_exceeded: 'pps', conntrack_allowance_exceeded: 'conntrack', linklocal_allowance_exceeded: 'linklocal' },
      gaugeStat: CONNTRACK_AVAILABLE,
      gaugeMetric: 'ethtool_conntrack_allowance_available',
      tracked: ['_allowance_exceeded$'],
    });
  });

  it('/api/windows gives p50/p90/p99/max of per-second increase, burst size and duration per window, read on the sample clock', async () => {
    const { e, base } = await start();
    // A whole hour: every window's slots start at t0.
    const t0 = Math.ceil(now / 3_600_000) * 3_600_000;
    // pps: bursts of 3 x 10 (at 1.0-1.2 s), 2 x 100 (5.0-5.1 s), 1 x 50 (9.0 s); 13 s of samples.
    for (const r of threeBursts(t0)) e.registry.sample(sample('ens5', r.t, [0, 0, r.stats['pps_allowance_exceeded']!, 0, 0]));
    e.registry.finish();
    // The HTTP clock is far ahead; the windows are read at the newest sample.
    now = t0 + 3_600_000;
    type Body = { now_ms: number; windows_s: number[]; stats: { device: string; stat: string; windows: Record<string, unknown>[] }[] };
    const body = (await (await fetch(`${base}/api/windows`)).json()) as Body;
    expect(body.now_ms).toBe(t0 + 12_000);
    expect(body.windows_s).toEqual([60, 600, 3600]);
    expect(body.stats.map((s) => s.stat)).toEqual(['bw_in_allowance_exceeded', 'bw_out_allowance_exceeded', 'conntrack_allowance_exceeded', 'linklocal_allowance_exceeded', 'pps_allowance_exceeded']);
    const pps0 = body.stats.find((s) => s.stat === 'pps_allowance_exceeded')!;
    expect(pps0.device).toBe('ens5');
    const measures = {
      second_increase: { count: 13, p50: 0, p90: 50, p99: 200, max: 200 },
      burst_size: { count: 3, p50: 50, p90: 200, p99: 200, max: 200 },
      burst_duration_ms: { count: 3, p50: 200, p90: 300, p99: 300, max: 300 },
      peak_rate_per_second: 1000,
    };
    expect(pps0.windows).toEqual([
      { window_s: 60, from_ms: t0 - 50_000, to_ms: t0 + 12_000, ...measures },
      { window_s: 600, from_ms: t0 - 600_000, to_ms: t0 + 12_000, ...measures },
      { window_s: 3600, from_ms: t0 - 3_600_000, to_ms: t0 + 12_000, ...measures },
    ]);
    const quiet = body.stats.find((s) => s.stat === 'bw_in_allowance_exceeded')!;
    expect(quiet.windows[0]).toMatchObject({ second_increase: { count: 13, p50: 0, p90: 0, p99: 0, max: 0 }, burst_size: { count: 0, p50: null, p90: null, p99: null, max: null }, peak_rate_per_second: 0 });
    const filtered = (await (await fetch(`${base}/api/windows?device=ens5&stat=pps_allowance_exceeded`)).json()) as Body;
    expect(filtered.stats).toEqual([pps0]);
    expect(((await (await fetch(`${base}/api/windows?device=nope`)).json()) as Body).stats).toEqual([]);
  });

  it('/api/windows before the first sample: no clock, no stats', async () => {
    const { base } = await start();
    expect(await (await fetch(`${base}/api/windows`)).json()).toEqual({ now_ms: null, windows_s: [60, 600, 3600], stats: [] });
  });

  it('unknown paths are 404, other methods 405 with Allow, oversized URLs 414, oversized headers 431, bodies 413', async () => {
    const { base, port } = await start();
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/metrics?${'a'.repeat(5000)}`)).status).toBe(414);
    expect(await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(await raw(port, 'GARBAGE\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')).toMatch(/^HTTP\/1\.1 413/);
    // And it still serves afterwards.
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it('the index page links every endpoint', async () => {
    const { base } = await start();
    const html = await (await fetch(`${base}/`)).text();
    for (const p of ['/metrics', '/api/bursts', '/api/series', '/api/windows', '/healthz', '/readyz']) expect(html).toContain(`href="${p}"`);
  });
});

describe('--listen parsing', () => {
  it.each([
    ['0.0.0.0:19810', ['0.0.0.0', 19810]],
    [':9999', ['0.0.0.0', 9999]],
    ['127.0.0.1:1', ['127.0.0.1', 1]],
    ['[::]:19810', ['::', 19810]],
    ['localhost:8080', ['localhost', 8080]],
  ])('%s', (text, want) => expect(parseListen(text)).toEqual(want));
  it.each(['19810', '0.0.0.0:', '0.0.0.0:70000', '0.0.0.0:0x10', '::1:80', 'host:port'])('refuses %s', (text) => expect(parseListen(text)).toBeNull());
});

describe('the live page at /', () => {
  it('is served when present, and still links every endpoint', async () => {
    const { pageAssets } = await import('../../src/page/assets.js');
    const e = testExporter();
    server = createServer({ exporter: e, log: silentLogger, describe: () => ({ source: 'test', intervalMs: 100 }), assets: pageAssets() });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toContain('/ui/app.js');
    for (const p of ['/metrics', '/api/bursts', '/api/series', '/api/devices', '/api/windows', '/healthz', '/readyz']) expect(html).toContain(`href="${p}"`);
    expect((await fetch(`${base}/ui/app.js`)).status).toBe(200);
    expect((await fetch(`${base}/ui/nope.js`)).status).toBe(404);
  });
});
