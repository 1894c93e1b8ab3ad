// Measurement 2: what `ethburst serve` costs in steady state at 10 Hz, as a
// separate process exactly as deployed: CPU % of one core and RSS from
// /proc/PID over the window (sampled every second), RSS growth (median of
// the last quarter minus median of the first quarter, so one GC sawtooth
// does not read as growth), and GC pauses from prom-client's
// nodejs_gc_duration_seconds in its own /metrics (read once before and
// once after the window, outside the CPU measurement).

import { checkAborted, sleep, type BenchContext } from './context.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Child } from '../harness/children.js';
import { startServe } from '../harness/serve.js';
import { until } from '../harness/wait.js';
import { BENCH_BURST_STAT, type BenchDevice } from './devices.js';
import { httpGet, keepAliveAgent, metricSum, metricValues } from './http.js';
import { readProcMemory, readProcTimes } from './machine.js';
import { median } from './stats.js';
import { MISSED_TICKS, RING_OVERRUNS, SAMPLER_TICKS } from '../export/metrics/sampler.js';

export interface OverheadResult {
  status: 'ok';
  source: 'native' | 'simulate';
  devices: number;
  deviceNames: string[];
  intervalMs: number;
  warmupS: number;
  windowS: number;
  cpuPercent: number;
  cpuMs: number;
  /**
   * `serve` with nothing to sample (replaying an empty trace) over the same
   * window: HTTP server, timers and prom-client's default collectors. What
   * sampling adds is cpuPercent minus this.
   */
  baselineCpuPercent: number | null;
  /** The baseline's window, s: the last two thirds of the main one. */
  baselineWindowS: number;
  /** V8 heap in use (nodejs_heap_size_used_bytes) before and after the window, MB. */
  heapUsedMB: { start: number; end: number };
  /** CPU per device-sample at 10 Hz, everything in the process included. */
  cpuUsPerDeviceSample: number;
  rssMB: {
    start: number;
    end: number;
    max: number;
    growth: number;
    peakHwm: number;
    /** At the end of the window: RSS in file pages (mostly the node binary) and in anonymous memory. */
    file: number;
    anon: number;
    /** Expected part of `growth` from the sample ring's first pass (native source only). */
    ringFirstPass: number | null;
    /** Minutes from start until the ring is resident and stops adding RSS. */
    ringFullAfterMin: number | null;
  };
  gc: { count: number; totalMs: number; meanMs: number; maxBucketMs: number | null; byKind: Record<string, { count: number; totalMs: number }> };
  sampler: { ticks: number; missedTicks: number; overruns: number } | null;
  /** [seconds into the window, RSS MB], one per second. */
  rssSeries: [number, number][];
}

const MB = 1e6;

function gcStats(before: string, after: string): OverheadResult['gc'] {
  const sums0 = metricValues(before, 'nodejs_gc_duration_seconds_sum');
  const sums1 = metricValues(after, 'nodejs_gc_duration_seconds_sum');
  const counts0 = metricValues(before, 'nodejs_gc_duration_seconds_count');
  const counts1 = metricValues(after, 'nodejs_gc_duration_seconds_count');
  const byKind: OverheadResult['gc']['byKind'] = {};
  let count = 0;
  let total = 0;
  for (const [labels, c1] of counts1) {
    const kind = /kind="([^"]*)"/.exec(labels)?.[1] ?? labels;
    const c = c1 - (counts0.get(labels) ?? 0);
    const s = ((sums1.get(labels) ?? 0) - (sums0.get(labels) ?? 0)) * 1000;
    if (c > 0) byKind[kind] = { count: c, totalMs: s };
    count += c;
    total += s;
  }
  // The largest pause is known only to its bucket: the smallest le whose count grew by every pause.
  const b0 = metricValues(before, 'nodejs_gc_duration_seconds_bucket');
  const b1 = metricValues(after, 'nodejs_gc_duration_seconds_bucket');
  const byLe = new Map<number, number>();
  for (const [labels, v1] of b1) {
    const le = /le="([^"]*)"/.exec(labels)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + v1 - (b0.get(labels) ?? 0));
  }
  let maxBucket: number | null = null;
  if (count > 0) {
    for (const bound of [...byLe.keys()].sort((x, y) => x - y)) {
      if (byLe.get(bound)! >= count) {
        maxBucket = bound * 1000;
        break;
      }
    }
  }
  return { count, totalMs: total, meanMs: count ? total / count : 0, maxBucketMs: maxBucket, byKind };
}

export async function measureOverhead(
  ctx: BenchContext,
  opts: { devices: readonly BenchDevice[]; simulate: number | null; windowMs: number },
): Promise<OverheadResult> {
  const simulate = opts.simulate;
  const args =
    simulate !== null
      ? ['--source', 'simulate', '--simulate-devices', String(simulate), '--interval', '100ms']
      : ['--interval', '100ms', '--burst-stat', BENCH_BURST_STAT, ...opts.devices.flatMap((d) => ['--device', d.name])];
  const n = simulate ?? opts.devices.length;
  ctx.progress(`2/5 serve overhead: ${n} ${simulate !== null ? 'simulated ENA' : 'native'} device(s) at 10 Hz for ${Math.round(opts.windowMs / 1000)} s`);
  const { child, base } = await startServe(args, ctx);
  const agent = keepAliveAgent(1);
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-bench-'));
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  let baseline: Child | null = null;
  try {
    baseline = (await startServe(['--source', `replay:${empty}`], ctx)).child;
    await until(async () => (await httpGet(`${base}/readyz`, { agent })).status === 200, 'serve /readyz', 10_000, { signal: ctx.signal });
    // V8 is still compiling serve's hot paths for the first seconds.
    const warmupMs = ctx.quick ? 4000 : 5000;
    await sleep(warmupMs, ctx.signal);
    const m0 = (await httpGet(`${base}/metrics`, { agent })).body;
    const p0 = readProcTimes(child.pid);
    let n0 = readProcTimes(baseline.pid);
    const t0 = performance.now();
    // The empty serve is judged in steady state: its start-up (V8 compiling,
    // the memory reducer's major GCs) is a one-off that a window of a few
    // milliseconds of CPU would otherwise be mostly made of.
    const baselineFromS = Math.round(opts.windowMs / 3000);
    let baselineT0 = t0;
    const rssSeries: [number, number][] = [];
    const mem0 = readProcMemory(child.pid);
    if (!p0 || !mem0) throw new Error('serve exited during warm-up');
    rssSeries.push([0, mem0.rssBytes / MB]);
    // One /proc read per second: bounded by the window, nothing else touches serve.
    for (let s = 1; performance.now() - t0 < opts.windowMs; s++) {
      await sleep(Math.max(0, t0 + s * 1000 - performance.now()), ctx.signal);
      if (s === baselineFromS) {
        n0 = readProcTimes(baseline.pid);
        baselineT0 = performance.now();
      }
      const m = readProcMemory(child.pid);
      if (!m) throw new Error(`serve exited during the measurement: ${child.outputTail().trim().split('\n').pop() ?? ''}`);
      rssSeries.push([Math.round((performance.now() - t0) / 100) / 10, m.rssBytes / MB]);
    }
    const p1 = readProcTimes(child.pid);
    const n1 = readProcTimes(baseline.pid);
    const wall = performance.now() - t0;
    const mem1 = readProcMemory(child.pid);
    checkAborted(ctx.signal);
    if (!p1 || !mem1) throw new Error('serve exited at the end of the measurement');
    const m1 = (await httpGet(`${base}/metrics`, { agent })).body;
    const cpuMs = p1.cpuMs - p0.cpuMs;
    const q = Math.max(1, Math.floor(rssSeries.length / 4));
    const first = median(rssSeries.slice(0, q).map((x) => x[1]));
    const last = median(rssSeries.slice(-q).map((x) => x[1]));
    const ticks0 = metricSum(m0, SAMPLER_TICKS);
    const ticks = metricSum(m1, SAMPLER_TICKS) - ticks0;
    // The ring is touched when it is created (src/sampling/ring.ts), so none of the
    // growth in the window is the sampler writing into fresh pages.
    const ringFirstPass: number | null = null;
    const ringFullAfterMin: number | null = null;
    return {
      status: 'ok',
      source: simulate !== null ? 'simulate' : 'native',
      devices: n,
      deviceNames: simulate !== null ? [] : opts.devices.map((d) => d.name),
      intervalMs: 100,
      warmupS: warmupMs / 1000,
      windowS: wall / 1000,
      cpuPercent: (cpuMs / wall) * 100,
      cpuMs,
      baselineCpuPercent: n0 && n1 ? ((n1.cpuMs - n0.cpuMs) / (t0 + wall - baselineT0)) * 100 : null,
      baselineWindowS: (t0 + wall - baselineT0) / 1000,
      heapUsedMB: { start: metricSum(m0, 'nodejs_heap_size_used_bytes') / MB, end: metricSum(m1, 'nodejs_heap_size_used_bytes') / MB },
      cpuUsPerDeviceSample: (cpuMs * 1000) / ((wall / 100) * n),
      rssMB: {
        start: mem0.rssBytes / MB,
        end: mem1.rssBytes / MB,
        max: Math.max(...rssSeries.map((x) => x[1])),
        growth: last - first,
        peakHwm: mem1.hwmBytes / MB,
        file: mem1.fileBytes / MB,
        anon: mem1.anonBytes / MB,
        ringFirstPass,
        ringFullAfterMin,
      },
      gc: gcStats(m0, m1),
      sampler:
        simulate !== null
          ? null
          : {
              ticks,
              missedTicks: metricSum(m1, MISSED_TICKS) - metricSum(m0, MISSED_TICKS),
              overruns: metricSum(m1, RING_OVERRUNS) - metricSum(m0, RING_OVERRUNS),
            },
      rssSeries,
    };
  } finally {
    agent.destroy();
    await Promise.all([child.stop(), baseline?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
