// Measurement 1: CPU per device-sample, four ways, on the same devices in
// the same run.
//
//  (a) the addon's bare GSTATS loop on the calling thread: the floor.
//  (b) ethburst's full path: a NativeSource (native thread, ring, JS
//      drain) feeding the Exporter (deltas, bursts, histograms, series), at
//      10 ms ticks. Process CPU (process.cpuUsage: every thread) over a
//      fixed window, minus idle windows of the same process taken between
//      runs, divided by the samples delivered in the window; medians over
//      repeats. Startup is excluded by a warm-up. The full run adds a run
//      with one device: what a tick costs with 1 device vs with all shows
//      how much is per tick (on a VM mostly the timer wake-up of the
//      sampler thread) rather than per device-sample. The 10 ms tick amortises per-drain costs over 10x
//      more samples than serve's 100 ms; measurement 2 gives the cost at
//      the production rate.
//  (c) `ethtool -S DEV` spawned and read, as prometheus-ethtool-exporter
//      does per device per scrape: parent CPU plus the reaped children's
//      CPU (/proc/self/stat cutime+cstime, 10 ms resolution, so pooled
//      over many spawns). A lower bound for that exporter: it also runs
//      Python to parse the output.
//  (d) node_exporter started by the bench on a loopback port with only the
//      ethtool collector (restricted to the same devices, its own
//      go/promhttp metrics off): its CPU per scrape (/proc/PID/stat, minus
//      its idle CPU) divided by the devices it reported.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { exportedStatMatcher, trackedStatMatcher } from '../aggregation/stat-policy.js';
import { Exporter } from '../export/exporter.js';
import { DeviceRegistry } from '../state/device-registry.js';
import { silentLogger } from '../log.js';
import type { NativeAddon } from '../sampling/native.js';
import { NativeSource } from '../sampling/native-source.js';
import { version } from '../version.js';
import { spawnChild } from '../harness/children.js';
import { freePort } from '../harness/ports.js';
import { until } from '../harness/wait.js';
import { which } from '../harness/which.js';
import { checkAborted, skip, sleep, type BenchContext, type Skipped } from './context.js';
import { BENCH_BURST_STAT, type BenchDevice } from './devices.js';
import { httpGet, keepAliveAgent, metricValues } from './http.js';
import { readProcTimes } from './machine.js';
import { median } from './stats.js';

export interface BareResult {
  status: 'ok';
  /** Mean over the devices of each device's median: every device is read once per tick. */
  cpuUsPerSample: number;
  wallUsPerSample: number;
  repeats: number;
  perDevice: { device: string; nStats: number; calls: number; wallUs: number; cpuUs: number }[];
}

export interface FullPathResult {
  status: 'ok';
  /** Per device-sample with every device in one tick (the fixed per-tick cost shared among them). */
  cpuUsPerSample: number;
  /** Spread of the per-window results (a VM's wake-up cost varies window to window). */
  minUsPerSample: number;
  maxUsPerSample: number;
  devicesPerTick: number;
  /** CPU per tick with every device, and (full run) with one device: how much is per tick, not per device. */
  tickUsAllDevices: number;
  tickUsOneDevice: number | null;
  /** This process idle, % of a core (subtracted). */
  idleCpuPercent: number;
  intervalMs: number;
  windowS: number;
  repeats: number;
  runs: { cpuMs: number; idleCpuMs: number; samples: number; cpuUsPerSample: number }[];
}

export interface SpawnResult {
  status: 'ok';
  cpuUsPerSample: number;
  wallUsMedian: number;
  spawns: number;
}

export interface NodeExporterResult {
  status: 'ok';
  version: string;
  cpuUsPerSample: number;
  cpuMsPerScrape: number;
  wallMsMedian: number;
  collectorMsMedian: number;
  scrapes: number;
  devicesScraped: number;
  series: number;
}

export interface CostResult {
  status: 'ok';
  devices: string[];
  a: BareResult | Skipped;
  b: FullPathResult | Skipped;
  c: SpawnResult | Skipped;
  d: NodeExporterResult | Skipped;
  ratios: { bOverA: number | null; cOverB: number | null; dOverB: number | null };
}

const cpuUs = (u: NodeJS.CpuUsage): number => u.user + u.system;

export function measureBare(ctx: BenchContext, addon: NativeAddon, devices: readonly BenchDevice[]): BareResult | Skipped {
  const repeats = ctx.quick ? 3 : 5;
  const budgetNs = (ctx.quick ? 40 : 150) * 1e6;
  const perDevice: BareResult['perDevice'] = [];
  for (const d of devices) {
    checkAborted(ctx.signal);
    const probe = addon.benchGstats(d.name, 20);
    if (probe.errno !== 0 || probe.calls === 0) continue;
    // Bounded in time whatever the device: an ENA GSTATS is an admin-queue command.
    const iterations = Math.max(50, Math.min(100_000, Math.floor(budgetNs / Math.max(1, probe.totalNs / probe.calls))));
    const wall: number[] = [];
    const cpu: number[] = [];
    let calls = 0;
    for (let r = 0; r < repeats; r++) {
      const c0 = process.cpuUsage();
      const res = addon.benchGstats(d.name, iterations);
      const c = cpuUs(process.cpuUsage(c0));
      if (res.calls === 0) break;
      calls += res.calls;
      wall.push(res.totalNs / res.calls / 1000);
      cpu.push(c / res.calls);
    }
    if (wall.length > 0) perDevice.push({ device: d.name, nStats: probe.nStats, calls, wallUs: median(wall), cpuUs: median(cpu) });
  }
  if (perDevice.length === 0) return skip('GSTATS failed on every device');
  const mean = (f: (x: (typeof perDevice)[number]) => number): number => perDevice.reduce((s, x) => s + f(x), 0) / perDevice.length;
  return { status: 'ok', cpuUsPerSample: mean((x) => x.cpuUs), wallUsPerSample: mean((x) => x.wallUs), repeats, perDevice };
}

/** The registry and metrics as serve builds them, minus prom-client's default process metrics; samples go to `.registry`. */
export function benchExporter(intervalMs: number, defaultMetrics: boolean): Exporter {
  const burstStats = [new RegExp(BENCH_BURST_STAT)];
  const registry = new DeviceRegistry({ intervalMs, burstGapMs: 2000, trackedStat: trackedStatMatcher(burstStats) });
  return new Exporter(registry, {
    exportStat: exportedStatMatcher({ burstStats }),
    compatShowmax: false,
    log: silentLogger,
    version: version(),
    defaultMetrics,
  });
}

function deliveredSamples(source: NativeSource): number {
  source.drain();
  let n = 0;
  for (const d of source.devices()) n += d.samples;
  return n;
}

/**
 * One sampler over `names`, warmed up, then `count` consecutive windows:
 * CPU and samples delivered in each. One source for all windows, so no
 * window pays for tearing down or building another.
 */
async function runWindows(
  ctx: BenchContext,
  names: readonly string[],
  intervalMs: number,
  warmupMs: number,
  windowMs: number,
  count: number,
): Promise<{ cpuMs: number; wallMs: number; samples: number }[]> {
  // Sized for serve's 100 ms, as in production: at 10 ms the /api/series
  // rings would be 10x larger (~1 MB per tracked stat) for no reason.
  const exporter = benchExporter(100, false);
  // A small ring: the default 8 MiB is sized for stalls, not for this.
  const source = new NativeSource({ intervalMs, rescanMs: 0, ringWords: 1 << 16, selection: { devices: [...names], include: [], exclude: [] } });
  await source.prepare();
  const running = source.run(exporter.registry);
  const stop = ctx.cleanup.add('bench sampler', () => source.stop());
  const out: { cpuMs: number; wallMs: number; samples: number }[] = [];
  try {
    // Warm-up: thread start, first layout reads, and V8 compiling the hot
    // path on background threads (process CPU too) for the first seconds.
    await sleep(warmupMs, ctx.signal);
    for (let i = 0; i < count; i++) {
      const s0 = deliveredSamples(source);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await sleep(windowMs, ctx.signal);
      const samples = deliveredSamples(source) - s0;
      out.push({ cpuMs: cpuUs(process.cpuUsage(c0)) / 1000, wallMs: performance.now() - t0, samples });
    }
  } finally {
    stop();
    await running.catch(() => undefined);
  }
  return out;
}

export async function measureFullPath(ctx: BenchContext, devices: readonly BenchDevice[]): Promise<FullPathResult | Skipped> {
  const intervalMs = 10;
  const windowMs = ctx.quick ? 1000 : 3000;
  const repeats = ctx.quick ? 3 : 5;
  const all = devices.map((d) => d.name);
  // Idle baseline first: this process with nothing running.
  const idle: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const i0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(windowMs / 2, ctx.signal);
    idle.push(cpuUs(process.cpuUsage(i0)) / 1000 / (performance.now() - t0));
  }
  const idleRate = median(idle);
  const perWindow = (w: { cpuMs: number; wallMs: number; samples: number }): number => ((w.cpuMs - idleRate * w.wallMs) * 1000) / w.samples;
  const windows = (await runWindows(ctx, all, intervalMs, 3000, windowMs, repeats)).filter((w) => w.samples > 0);
  if (windows.length === 0) return skip('the sampler delivered no samples');
  const runs: FullPathResult['runs'] = windows.map((w) => ({ cpuMs: w.cpuMs, idleCpuMs: idleRate * w.wallMs, samples: w.samples, cpuUsPerSample: perWindow(w) }));
  const perSample = median(runs.map((r) => r.cpuUsPerSample));
  const samplesPerTick = median(windows.map((w) => (w.samples / w.wallMs) * intervalMs));
  let tickOne: number | null = null;
  // A one-device run shows how much of the cost is per tick rather than per
  // device; it needs the full run's longer windows to be more than noise.
  if (all.length > 1 && !ctx.quick) {
    checkAborted(ctx.signal);
    const one = (await runWindows(ctx, all.slice(0, 1), intervalMs, 2000, windowMs, repeats)).filter((w) => w.samples > 0);
    if (one.length > 0) tickOne = median(one.map(perWindow)) * median(one.map((w) => (w.samples / w.wallMs) * intervalMs));
  }
  return {
    status: 'ok',
    cpuUsPerSample: perSample,
    minUsPerSample: Math.min(...runs.map((x) => x.cpuUsPerSample)),
    maxUsPerSample: Math.max(...runs.map((x) => x.cpuUsPerSample)),
    devicesPerTick: all.length,
    tickUsAllDevices: perSample * samplesPerTick,
    tickUsOneDevice: tickOne,
    idleCpuPercent: idleRate * 100,
    intervalMs,
    windowS: windowMs / 1000,
    repeats,
    runs,
  };
}

export function measureEthtoolSpawn(ctx: BenchContext, devices: readonly BenchDevice[]): SpawnResult | Skipped {
  if (spawnSync('ethtool', ['--version'], { stdio: 'ignore' }).status !== 0) return skip('ethtool is not installed');
  const maxSpawns = ctx.quick ? 100 : 400;
  const endAt = performance.now() + (ctx.quick ? 2500 : 10_000);
  const walls: number[] = [];
  const p0 = readProcTimes('self');
  const c0 = process.cpuUsage();
  for (let i = 0; i < maxSpawns && performance.now() < endAt; i++) {
    const dev = devices[i % devices.length]!.name;
    const t0 = performance.now();
    const r = spawnSync('ethtool', ['-S', dev], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000, maxBuffer: 4 << 20 });
    walls.push((performance.now() - t0) * 1000);
    if (r.status !== 0) return skip(`ethtool -S ${dev} failed: ${String(r.stderr ?? r.error?.message ?? '').trim().split('\n')[0]}`);
    if (ctx.signal.aborted) break;
  }
  checkAborted(ctx.signal);
  const self = cpuUs(process.cpuUsage(c0));
  const p1 = readProcTimes('self');
  const children = p0 && p1 ? (p1.childrenCpuMs - p0.childrenCpuMs) * 1000 : 0;
  return { status: 'ok', cpuUsPerSample: (self + children) / walls.length, wallUsMedian: median(walls), spawns: walls.length };
}

const NODE_EXPORTER_CANDIDATES = ['/usr/bin/prometheus-node-exporter', '/usr/local/bin/node_exporter', '/usr/bin/node_exporter'];

export function findNodeExporter(): string | null {
  for (const c of NODE_EXPORTER_CANDIDATES) if (existsSync(c)) return c;
  return which('prometheus-node-exporter') ?? which('node_exporter');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function measureNodeExporter(ctx: BenchContext, devices: readonly BenchDevice[]): Promise<NodeExporterResult | Skipped> {
  const bin = findNodeExporter();
  if (!bin) return skip("node_exporter not installed (Debian: apt-get install prometheus-node-exporter)");
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const ver = /version (\S+)/.exec(`${v.stdout}${v.stderr}`)?.[1] ?? 'unknown';
  const port = await freePort();
  const child = spawnChild(bin, [
    `--web.listen-address=127.0.0.1:${port}`,
    '--collector.disable-defaults',
    '--collector.ethtool',
    `--collector.ethtool.device-include=^(${devices.map((d) => escapeRe(d.name)).join('|')})$`,
    // Its own go_*/promhttp_* metrics are not the collector's cost.
    '--web.disable-exporter-metrics',
  ], { cleanup: ctx.cleanup });
  const agent = keepAliveAgent(1);
  const url = `http://127.0.0.1:${port}/metrics`;
  try {
    try {
      await until(async () => !child.exited && (await httpGet(url, { agent, timeoutMs: 2000 })).status === 200, 'node_exporter', 8000, { signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      return skip(`node_exporter did not start: ${child.outputTail().trim().split('\n').pop() ?? ''}`);
    }
    for (let i = 0; i < 3; i++) await httpGet(url, { agent });
    // Its idle CPU over a second, subtracted below.
    const i0 = readProcTimes(child.pid);
    await sleep(1000, ctx.signal);
    const i1 = readProcTimes(child.pid);
    const idleMsPerMs = i0 && i1 ? (i1.cpuMs - i0.cpuMs) / 1000 : 0;

    const maxScrapes = ctx.quick ? 40 : 150;
    const endAt = performance.now() + (ctx.quick ? 3000 : 10_000);
    const walls: number[] = [];
    const collector: number[] = [];
    let body = '';
    const p0 = readProcTimes(child.pid);
    const t0 = performance.now();
    for (let i = 0; i < maxScrapes && performance.now() < endAt; i++) {
      checkAborted(ctx.signal);
      const r = await httpGet(url, { agent });
      if (r.status !== 200) return skip(`node_exporter answered ${r.status}`);
      walls.push(r.ms);
      body = r.body;
      const d = metricValues(body, 'node_scrape_collector_duration_seconds').get('{collector="ethtool"}');
      if (d !== undefined) collector.push(d * 1000);
    }
    const wall = performance.now() - t0;
    const p1 = readProcTimes(child.pid);
    if (!p0 || !p1) return skip('node_exporter exited during the measurement');
    if (metricValues(body, 'node_scrape_collector_success').get('{collector="ethtool"}') !== 1) {
      return skip('node_exporter ethtool collector reported failure (node_scrape_collector_success 0)');
    }
    const scraped = new Set<string>();
    let series = 0;
    for (const line of body.split('\n')) {
      if (!line.startsWith('node_ethtool_')) continue;
      series++;
      const m = /device="([^"]*)"/.exec(line);
      if (m) scraped.add(m[1]!);
    }
    if (scraped.size === 0) return skip('node_exporter reported no node_ethtool_* series for these devices');
    const cpuMs = Math.max(0, p1.cpuMs - p0.cpuMs - idleMsPerMs * wall);
    const perScrape = cpuMs / walls.length;
    return {
      status: 'ok',
      version: ver,
      cpuUsPerSample: (perScrape * 1000) / scraped.size,
      cpuMsPerScrape: perScrape,
      wallMsMedian: median(walls),
      collectorMsMedian: collector.length ? median(collector) : Number.NaN,
      scrapes: walls.length,
      devicesScraped: scraped.size,
      series,
    };
  } finally {
    agent.destroy();
    await child.stop();
  }
}

export async function measureCost(ctx: BenchContext, addon: NativeAddon, devices: readonly BenchDevice[]): Promise<CostResult> {
  ctx.progress('1/5 cost per device-sample: (a) bare ioctl loop');
  const a = measureBare(ctx, addon, devices);
  ctx.progress('1/5 cost per device-sample: (b) ethburst full path at 10 ms ticks');
  const b = await measureFullPath(ctx, devices);
  ctx.progress('1/5 cost per device-sample: (c) ethtool -S spawns');
  const c = measureEthtoolSpawn(ctx, devices);
  ctx.progress('1/5 cost per device-sample: (d) node_exporter ethtool collector');
  const d = await measureNodeExporter(ctx, devices);
  const bv = b.status === 'ok' && b.cpuUsPerSample > 0 ? b.cpuUsPerSample : null;
  return {
    status: 'ok',
    devices: devices.map((x) => x.name),
    a,
    b,
    c,
    d,
    ratios: {
      bOverA: bv !== null && a.status === 'ok' && a.cpuUsPerSample > 0 ? bv / a.cpuUsPerSample : null,
      cOverB: bv !== null && c.status === 'ok' ? c.cpuUsPerSample / bv : null,
      dOverB: bv !== null && d.status === 'ok' ? d.cpuUsPerSample / bv : null,
    },
  };
}
