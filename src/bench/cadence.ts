// Measurement 3: does the native thread keep its 100 ms cadence whatever
// JavaScript does? An in-process NativeSource + Exporter (serve's path),
// three phases, each with its own sampler so counters start at zero:
//   idle     nothing else runs;
//   load     /metrics of an in-process server scraped at 50 req/s over
//            loopback (client in the same process: the event loop carries
//            both sides, which is harsher than a remote Prometheus);
//   blocked  the event loop busy-waits 1 s every 10 s.
// Lateness per tick comes from the ring's tick records (deadline to tick
// start, CLOCK_MONOTONIC, measured by the native thread). Lost samples =
// ticks x devices - samples delivered; after the final drain nothing may
// be missing.

import type { Server } from 'node:http';
import type { DeviceRegistry } from '../state/device-registry.js';
import { silentLogger } from '../log.js';
import type { DeviceInfo, Sample, SampleSink, TickStats } from '../sampling/sample.js';
import { NativeSource } from '../sampling/native-source.js';
import { createServer } from '../export/server.js';
import { checkAborted, sleep, type BenchContext } from './context.js';
import { benchExporter } from './cost.js';
import type { BenchDevice } from './devices.js';
import { httpGet, keepAliveAgent, PROMETHEUS_SCRAPE_HEADERS } from './http.js';
import { distribution, scaleDistribution, type Distribution } from './stats.js';

export type CadencePhase = 'idle' | 'load' | 'blocked';

export interface PhaseResult {
  phase: CadencePhase;
  durationS: number;
  /** Tick lateness, ms. */
  lateness: Distribution;
  ticks: number;
  nativeTicks: number;
  missedTicks: number;
  overruns: number;
  samples: number;
  expectedSamples: number;
  lostSamples: number;
  /** Samples dropped because a device's stat names changed mid-drain (not lost to the ring). */
  droppedSamples: number;
  load?: { requested: number; completed: number; failed: number; skipped: number; ratePerS: number; latencyMs: Distribution };
  blocks?: { count: number; totalMs: number };
}

export interface CadenceResult {
  status: 'ok';
  intervalMs: number;
  devices: number;
  phases: PhaseResult[];
}

/** Passes everything to the registry and keeps per-tick lateness in a preallocated array. */
class TickRecorder implements SampleSink {
  readonly lateness: Float64Array;
  ticks = 0;
  missed = 0;
  /** Device reads the native ticks announced: the samples to expect. */
  due = 0;
  samples = 0;

  constructor(
    private readonly inner: DeviceRegistry,
    capacity: number,
  ) {
    this.lateness = new Float64Array(capacity);
  }

  sample(s: Readonly<Sample>): void {
    this.samples++;
    this.inner.sample(s);
  }

  tick(t: Readonly<TickStats>): void {
    if (this.ticks < this.lateness.length) this.lateness[this.ticks] = t.latenessNs;
    this.ticks++;
    this.missed += t.missed;
    this.due += t.devices;
    this.inner.tick(t);
  }

  deviceAdded(info: DeviceInfo, timeMs: number): void {
    this.inner.deviceAdded(info, timeMs);
  }

  deviceRemoved(device: string, timeMs: number): void {
    this.inner.deviceRemoved(device, timeMs);
  }
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Deliberately blocking: this is the stall being measured against.
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

async function runPhase(ctx: BenchContext, devices: readonly BenchDevice[], phase: CadencePhase, durationMs: number): Promise<PhaseResult> {
  const intervalMs = 100;
  const source = new NativeSource({ intervalMs, rescanMs: 0, selection: { devices: devices.map((d) => d.name), include: [], exclude: [] } });
  const exporter = benchExporter(intervalMs, phase === 'load');
  const rec = new TickRecorder(exporter.registry, Math.ceil(durationMs / intervalMs) + 100);
  await source.prepare();
  let server: Server | null = null;
  let port = 0;
  if (phase === 'load') {
    server = createServer({ exporter, log: silentLogger, describe: () => ({ source: 'bench', intervalMs }) });
    port = await listen(server);
  }
  const running = source.run(rec);
  const stopSource = ctx.cleanup.add('bench sampler', () => source.stop());
  const out: PhaseResult = {
    phase,
    durationS: durationMs / 1000,
    lateness: distribution([]),
    ticks: 0,
    nativeTicks: 0,
    missedTicks: 0,
    overruns: 0,
    samples: 0,
    expectedSamples: 0,
    lostSamples: 0,
    droppedSamples: 0,
  };
  try {
    const t0 = performance.now();
    if (phase === 'idle') {
      await sleep(durationMs, ctx.signal);
    } else if (phase === 'load') {
      const agent = keepAliveAgent(4);
      const url = `http://127.0.0.1:${port}/metrics`;
      const maxRequests = Math.ceil((durationMs / 1000) * 50);
      const latencies = new Float64Array(maxRequests);
      let requested = 0;
      let completed = 0;
      let failed = 0;
      let skipped = 0;
      let inFlight = 0;
      // 50 req/s on a fixed schedule; a slot whose previous 4 requests are
      // still running is skipped, never queued, so the load stays bounded.
      for (let i = 0; i < maxRequests && performance.now() - t0 < durationMs; i++) {
        await sleep(Math.max(0, t0 + i * 20 - performance.now()), ctx.signal);
        if (inFlight >= 4) {
          skipped++;
          continue;
        }
        inFlight++;
        requested++;
        httpGet(url, { agent, headers: PROMETHEUS_SCRAPE_HEADERS, timeoutMs: 5000 }).then(
          (r) => {
            inFlight--;
            if (r.status === 200) latencies[completed++] = r.ms;
            else failed++;
          },
          () => {
            inFlight--;
            failed++;
          },
        );
      }
      await sleep(Math.max(0, t0 + durationMs - performance.now()), ctx.signal);
      for (let w = 0; inFlight > 0 && w < 50; w++) await sleep(100, ctx.signal);
      agent.destroy();
      out.load = { requested, completed, failed, skipped, ratePerS: completed / ((performance.now() - t0) / 1000), latencyMs: distribution(latencies, completed) };
    } else {
      // 1 s blocks every 10 s; the quick run has room for one.
      const blockAt = durationMs >= 20_000 ? Array.from({ length: Math.floor(durationMs / 10_000) }, (_, i) => 5000 + i * 10_000) : [Math.min(1500, durationMs / 3)];
      let totalMs = 0;
      for (const at of blockAt) {
        await sleep(Math.max(0, t0 + at - performance.now()), ctx.signal);
        const b0 = performance.now();
        busyWait(1000);
        totalMs += performance.now() - b0;
      }
      await sleep(Math.max(0, t0 + durationMs - performance.now()), ctx.signal);
      out.blocks = { count: blockAt.length, totalMs };
    }
  } finally {
    // stop() joins the thread and drains everything it published.
    stopSource();
    await running.catch(() => undefined);
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
  const c = source.counters;
  const n = Math.min(rec.ticks, rec.lateness.length);
  out.lateness = scaleDistribution(distribution(rec.lateness, n), 1e-6);
  out.ticks = rec.ticks;
  out.nativeTicks = c.ticks;
  out.missedTicks = Math.max(c.missedTicks, rec.missed);
  out.overruns = c.overruns;
  out.samples = rec.samples;
  // Each tick says how many devices it read (back-off can skip one).
  out.expectedSamples = rec.due;
  out.lostSamples = out.expectedSamples - rec.samples;
  out.droppedSamples = source.droppedSamples;
  return out;
}

export async function measureCadence(ctx: BenchContext, devices: readonly BenchDevice[]): Promise<CadenceResult> {
  const plan: [CadencePhase, number][] = ctx.quick
    ? [
        ['idle', 2500],
        ['load', 2500],
        ['blocked', 3500],
      ]
    : [
        ['idle', 20_000],
        ['load', 20_000],
        ['blocked', 40_000],
      ];
  const phases: PhaseResult[] = [];
  for (const [phase, ms] of plan) {
    checkAborted(ctx.signal);
    ctx.progress(`3/5 cadence: ${phase} for ${ms / 1000} s over ${devices.length} device(s)`);
    phases.push(await runPhase(ctx, devices, phase, ms));
  }
  return { status: 'ok', intervalMs: 100, devices: devices.length, phases };
}
