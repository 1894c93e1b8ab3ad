// Measurement 5: a scripted burst trace (100 ms - 10 s, 1 - 10^6 packets)
// written by the simulator, replayed through the aggregation, and compared
// with the script: every burst found, its increase exact, its duration
// within one interval. Next to it, what a 30 s and a 60 s scrape make of
// the same counters: the cumulative value sampled every scrape interval
// (first scrape 10 s into the trace), queried with increase()/rate() over
// 4x the interval (the README's rule) every 15 s, by the model in
// promql.ts; promtool evaluates the same queries when installed, and
// disagreements are reported.

import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aggregator, countedBurst, type CountedBurst } from '../aggregation/aggregator.js';
import { ReplaySource } from '../sources/replay.js';
import type { DeviceInfo, Sample, SampleSink } from '../sampling/sample.js';
import { DEFAULT_SIM_START_MS, SimulateSource } from '../sources/simulate.js';
import { formatTraceLine } from '../sources/trace.js';
import { checkAborted, skip, type BenchContext, type Skipped } from './context.js';
import { increaseAt, rateAt, scrapeCounter, scrapeEvents, scrapeTimes, type Point } from './promql.js';
import { checkWithPromtool, promtoolVersion, type PromtoolCheck, type PromtoolEval } from '../harness/promtool.js';
import { median } from './stats.js';
import { renderChart } from './svg.js';

export interface ScriptedBurst {
  stat: string;
  /** Offset from the trace start, ms. */
  atMs: number;
  durationMs: number;
  packets: number;
}

const PPS = 'pps_allowance_exceeded';
const LINKLOCAL = 'linklocal_allowance_exceeded';

/**
 * Three bursts inside one 30 s scrape interval (12-28 s), a 10^6-packet
 * burst in one tick, a 10 s one, a pair 3 s apart, and DNS (link-local)
 * bursts on a second counter. Starts at odd milliseconds are off the tick grid.
 */
export const FIDELITY_SCRIPT: readonly ScriptedBurst[] = [
  { stat: PPS, atMs: 12_037, durationMs: 100, packets: 1 },
  { stat: PPS, atMs: 19_000, durationMs: 100, packets: 1_000_000 },
  { stat: PPS, atMs: 27_037, durationMs: 300, packets: 50 },
  { stat: PPS, atMs: 55_037, durationMs: 1_000, packets: 10_000 },
  { stat: LINKLOCAL, atMs: 70_037, durationMs: 2_000, packets: 3_000 },
  { stat: PPS, atMs: 80_000, durationMs: 10_000, packets: 1_000_000 },
  { stat: PPS, atMs: 105_037, durationMs: 2_500, packets: 2_500 },
  { stat: PPS, atMs: 110_537, durationMs: 500, packets: 100 },
  { stat: PPS, atMs: 160_000, durationMs: 5_000, packets: 200_000 },
  { stat: PPS, atMs: 210_037, durationMs: 100, packets: 10 },
  { stat: PPS, atMs: 225_000, durationMs: 10_000, packets: 100 },
  { stat: LINKLOCAL, atMs: 245_037, durationMs: 100, packets: 1 },
];

export const FIDELITY_TRACE_MS = 300_000;
const INTERVAL_MS = 100;
const BURST_GAP_MS = 2000;
const FIRST_SCRAPE_MS = 10_000;
const EVAL_STEP_MS = 15_000;
const DEVICE = 'eth0';

export interface BurstComparison {
  stat: string;
  atMs: number;
  truthDurationMs: number;
  truthIncrease: number;
  truthPeakRatePerSecond: number;
  found: boolean;
  foundDurationMs: number | null;
  foundIncrease: number | null;
  durationErrorMs: number | null;
  increaseError: number | null;
}

export interface ScrapeView {
  scrapeIntervalS: number;
  /** The query range used, s (4x the scrape interval). */
  rangeS: number;
  /** True bursts (all stats) vs the runs of scrape intervals with an increase. */
  truthBursts: number;
  distinctEvents: number;
  indistinguishable: number;
  /** Largest per-tick rate of the pps counter vs the largest rate(x[4S]) the view shows. */
  truePeakRatePerSecond: number;
  viewPeakRatePerSecond: number;
  peakUnderestimation: number;
  /** Largest increase between two scrapes / S: what any query over this data can show at most. */
  twoSamplePeakRatePerSecond: number;
  /**
   * Bursts alone in their scrape event: increase(x[4S]) over windows that
   * hold the event whole and nothing else, relative to the true increase
   * (median per burst, then median and largest magnitude over bursts).
   * This is Prometheus's extrapolation error; merged bursts are counted
   * in `indistinguishable` instead.
   */
  increaseRelErrorMedian: number;
  increaseRelErrorMax: number;
  loneBursts: number;
  /** For events holding one burst: |event length (whole scrape intervals) - true duration|. */
  durationErrorMedianS: number | null;
  /** rate(x[S]) (the widely copied alert) at the same evaluation times: how many had a result. */
  naiveRateResults: number;
  evaluations: number;
  promtool: PromtoolCheck | Skipped;
}

export interface FidelityResult {
  status: 'ok';
  traceS: number;
  intervalMs: number;
  burstGapMs: number;
  truthBursts: number;
  foundBursts: number;
  missedBursts: number;
  spuriousBursts: number;
  maxDurationErrorMs: number;
  maxDurationErrorIntervals: number;
  maxIncreaseError: number;
  /** The simulator's own expectation (what a correct aggregator reports) matched exactly. */
  matchesSimulatorExpectation: boolean;
  bursts: BurstComparison[];
  views: ScrapeView[];
  svg: string | null;
}

/** Per-tick increases and cumulative values of the stats we plot and scrape. */
class TickLog {
  readonly t: Float64Array;
  readonly inc: Float64Array;
  readonly cum: Float64Array;
  n = 0;
  base = 0;
  constructor(capacity: number) {
    this.t = new Float64Array(capacity);
    this.inc = new Float64Array(capacity);
    this.cum = new Float64Array(capacity);
  }
  push(t: number, inc: number): void {
    if (this.n >= this.t.length) return;
    const prev = this.n > 0 ? this.cum[this.n - 1]! : this.base;
    this.t[this.n] = t;
    this.inc[this.n] = inc;
    this.cum[this.n] = prev + inc;
    this.n++;
  }
}

/** Records the first raw value of each logged stat (the counter's base before the trace). */
class BaseReader implements SampleSink {
  private seen = false;
  constructor(
    private readonly inner: Aggregator,
    private readonly logs: Map<string, TickLog>,
  ) {}
  sample(s: Readonly<Sample>): void {
    if (!this.seen && s.error === null && s.device === DEVICE) {
      this.seen = true;
      for (const [stat, log] of this.logs) {
        const i = s.layout.index.get(stat);
        if (i !== undefined) log.base = s.values[2 * i]! + s.values[2 * i + 1]! * 4294967296;
      }
    }
    this.inner.sample(s);
  }
  deviceAdded(info: DeviceInfo, timeMs: number): void {
    this.inner.deviceAdded(info, timeMs);
  }
  deviceRemoved(device: string, timeMs: number): void {
    this.inner.deviceRemoved(device, timeMs);
  }
}

async function writeTrace(path: string, t0: number): Promise<SimulateSource> {
  const sim = new SimulateSource({
    devices: 1,
    queues: 2,
    intervalMs: INTERVAL_MS,
    clock: 'virtual',
    startMs: t0,
    durationMs: FIDELITY_TRACE_MS,
    seed: 7,
    script: FIDELITY_SCRIPT.map((b) => ({ device: DEVICE, stat: b.stat, startMs: t0 + b.atMs, durationMs: b.durationMs, packets: b.packets })),
    randomBursts: false,
    resetEveryMs: 0,
    zeroReadEveryMs: 0,
    errorEveryMs: 0,
  });
  const out = createWriteStream(path);
  let batch: string[] = [];
  const sink: SampleSink = { sample: (s) => void batch.push(formatTraceLine(s)) };
  while (sim.step(sink)) {
    if (batch.length >= 500) {
      if (!out.write(`${batch.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
      batch = [];
    }
  }
  out.write(batch.length ? `${batch.join('\n')}\n` : '');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return sim;
}

function compareBursts(found: readonly CountedBurst[], t0: number): { rows: BurstComparison[]; spurious: number } {
  const used = new Set<CountedBurst>();
  const rows: BurstComparison[] = FIDELITY_SCRIPT.map((b) => {
    const start = t0 + b.atMs;
    const end = start + b.durationMs;
    // Overlap within one interval: a burst's recorded start is the sample before its first increase.
    const match = found.filter((f) => f.stat === b.stat && !used.has(f) && f.startMs <= end + INTERVAL_MS && f.endMs >= start - INTERVAL_MS);
    const ticks = Math.max(1, Math.floor((b.atMs + b.durationMs) / INTERVAL_MS) - (Math.floor(b.atMs / INTERVAL_MS) + 1) + 1);
    const row: BurstComparison = {
      stat: b.stat,
      atMs: b.atMs,
      truthDurationMs: b.durationMs,
      truthIncrease: b.packets,
      truthPeakRatePerSecond: (Math.ceil(b.packets / ticks) * 1000) / INTERVAL_MS,
      found: false,
      foundDurationMs: null,
      foundIncrease: null,
      durationErrorMs: null,
      increaseError: null,
    };
    if (match.length === 1) {
      const f = match[0]!;
      used.add(f);
      row.found = true;
      row.foundDurationMs = f.durationMs;
      row.foundIncrease = f.increase;
      row.durationErrorMs = f.durationMs - b.durationMs;
      row.increaseError = f.increase - b.packets;
    }
    return row;
  });
  return { rows, spurious: found.length - used.size };
}

function goRange(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

function scrapeView(
  logs: Map<string, TickLog>,
  truth: readonly BurstComparison[],
  t0: number,
  intervalMs: number,
  usePromtool: boolean,
): { view: ScrapeView; points: Point[]; evals: number[] } {
  const rangeMs = 4 * intervalMs;
  const times = scrapeTimes(t0 + FIRST_SCRAPE_MS, intervalMs, t0 + FIDELITY_TRACE_MS);
  const evals: number[] = [];
  for (let t = t0 + EVAL_STEP_MS; t <= t0 + FIDELITY_TRACE_MS; t += EVAL_STEP_MS) evals.push(t);
  let distinct = 0;
  let pointsPps: Point[] = [];
  const incErrors: number[] = [];
  const durErrors: number[] = [];
  let truePeak = 0;
  let viewPeak = 0;
  let twoSample = 0;
  let naive = 0;
  for (const [stat, log] of logs) {
    const points = scrapeCounter(log.t.subarray(0, log.n), log.cum.subarray(0, log.n), times);
    if (stat === PPS) pointsPps = points;
    const events = scrapeEvents(points);
    distinct += events.length;
    const bursts = truth.filter((b) => b.stat === stat);
    for (const ev of events) {
      const inside = bursts.filter((b) => t0 + b.atMs + b.truthDurationMs > ev.startMs && t0 + b.atMs + b.truthDurationMs <= ev.endMs);
      if (inside.length !== 1) continue;
      const b = inside[0]!;
      durErrors.push(Math.abs(ev.endMs - ev.startMs - b.truthDurationMs) / 1000);
      // increase() over a window holding this event whole and no other:
      // what is left is Prometheus's extrapolation, not merging.
      const seen: number[] = [];
      for (const e of evals) {
        if (e - rangeMs > ev.startMs || e < ev.endMs) continue;
        if (events.some((o) => o !== ev && o.endMs > e - rangeMs && o.startMs < e)) continue;
        const v = increaseAt(points, e, rangeMs);
        if (v !== null) seen.push((v - b.truthIncrease) / b.truthIncrease);
      }
      if (seen.length > 0) incErrors.push(median(seen));
    }
    if (stat === PPS) {
      for (let k = 0; k < log.n; k++) truePeak = Math.max(truePeak, (log.inc[k]! * 1000) / INTERVAL_MS);
      for (const e of evals) {
        const r = rateAt(points, e, rangeMs);
        if (r !== null && r > viewPeak) viewPeak = r;
        if (rateAt(points, e, intervalMs) !== null) naive++;
      }
      for (let i = 1; i < points.length; i++) twoSample = Math.max(twoSample, ((points[i]!.v - points[i - 1]!.v) * 1000) / intervalMs);
    }
  }
  let promtool: PromtoolCheck | Skipped = skip('promtool is not installed (the model alone is used)');
  if (usePromtool && pointsPps.length > 1) {
    const first = pointsPps[0]!.t;
    const checks: PromtoolEval[] = [];
    for (const e of evals) {
      if (e < first) continue;
      checks.push({ expr: `increase(x[${goRange(rangeMs)}])`, atMs: e - first, expected: increaseAt(pointsPps, e, rangeMs) });
      checks.push({ expr: `rate(x[${goRange(rangeMs)}])`, atMs: e - first, expected: rateAt(pointsPps, e, rangeMs) });
      checks.push({ expr: `rate(x[${goRange(intervalMs)}])`, atMs: e - first, expected: rateAt(pointsPps, e, intervalMs) });
    }
    // The model's clock starts at the first scrape, as promtool's does.
    const shifted = pointsPps.map((p) => p.v);
    try {
      promtool = checkWithPromtool(shifted, intervalMs, checks);
    } catch (err) {
      promtool = skip(`promtool failed: ${(err as Error).message}`);
    }
  }
  const absInc = incErrors.map(Math.abs);
  const worst = incErrors.reduce((w, x) => (Math.abs(x) > Math.abs(w) ? x : w), 0);
  return {
    view: {
      scrapeIntervalS: intervalMs / 1000,
      rangeS: rangeMs / 1000,
      truthBursts: truth.length,
      distinctEvents: distinct,
      indistinguishable: truth.length - distinct,
      truePeakRatePerSecond: truePeak,
      viewPeakRatePerSecond: viewPeak,
      peakUnderestimation: viewPeak > 0 ? truePeak / viewPeak : Number.POSITIVE_INFINITY,
      twoSamplePeakRatePerSecond: twoSample,
      increaseRelErrorMedian: incErrors.length ? median(incErrors) : Number.NaN,
      increaseRelErrorMax: absInc.length ? worst : Number.NaN,
      loneBursts: incErrors.length,
      durationErrorMedianS: durErrors.length ? median(durErrors) : null,
      naiveRateResults: naive,
      evaluations: evals.length,
      promtool,
    },
    points: pointsPps,
    evals,
  };
}

function figure(log: TickLog, points: readonly Point[], evals: readonly number[], t0: number, intervalMs: number): string {
  const stems: [number, number | null][] = [];
  for (let k = 0; k < log.n; k++) if (log.inc[k]! > 0) stems.push([(log.t[k]! - t0) / 1000, (log.inc[k]! * 1000) / INTERVAL_MS]);
  const rate = evals.map((e) => [(e - t0) / 1000, rateAt(points, e, 4 * intervalMs)] as [number, number | null]);
  const twoSample: [number, number | null][] = [];
  for (let i = 1; i < points.length; i++) twoSample.push([(points[i - 1]!.t - t0) / 1000, ((points[i]!.v - points[i - 1]!.v) * 1000) / intervalMs]);
  return renderChart({
    title: 'pps_allowance_exceeded: 100 ms samples vs a 30 s scrape',
    subtitle: `Scripted trace, ${FIDELITY_TRACE_MS / 1000} s; scrapes every ${intervalMs / 1000} s from ${FIRST_SCRAPE_MS / 1000} s; rate() evaluated every ${EVAL_STEP_MS / 1000} s`,
    xLabel: 'seconds into the trace',
    yLabel: 'packets per second (log)',
    xMin: 0,
    xMax: FIDELITY_TRACE_MS / 1000,
    yMin: 1,
    yMax: 1e8,
    xStep: 30,
    series: [
      { label: 'per-tick rate (ethburst, 100 ms)', color: '#1f77b4', kind: 'stems', points: stems, width: 2 },
      { label: `increase between scrapes / ${intervalMs / 1000} s`, color: '#7f7f7f', kind: 'steps', points: twoSample, dash: '5 3' },
      { label: `rate(x[${goRange(4 * intervalMs)}]) at a ${intervalMs / 1000} s scrape`, color: '#d62728', kind: 'steps', points: rate, width: 2 },
    ],
  });
}

export async function measureFidelity(ctx: BenchContext): Promise<FidelityResult> {
  ctx.progress('5/5 fidelity: scripted bursts through replay, vs 30 s and 60 s scrapes');
  const t0 = DEFAULT_SIM_START_MS;
  const dir = await mkdtemp(join(tmpdir(), 'ethburst-bench-'));
  try {
    const trace = join(dir, 'fidelity.jsonl');
    const sim = await writeTrace(trace, t0);
    checkAborted(ctx.signal);
    const agg = new Aggregator({ burstGapMs: BURST_GAP_MS, windowsMs: [] });
    const capacity = Math.ceil(FIDELITY_TRACE_MS / INTERVAL_MS) + 16;
    const logs = new Map<string, TickLog>([
      [PPS, new TickLog(capacity)],
      [LINKLOCAL, new TickLog(capacity)],
    ]);
    const found: CountedBurst[] = [];
    agg.addListener({
      onBurst: (b) => void found.push(countedBurst(b)),
      onTick: (e) => {
        if (e.device !== DEVICE) return;
        logs.get(e.stat)?.push(e.timeMs, e.increase);
      },
    });
    const replay = new ReplaySource(trace, { speed: 'fast' });
    await replay.run(new BaseReader(agg, logs));
    agg.finish(replay.lastTimeMs);
    checkAborted(ctx.signal);

    const { rows, spurious } = compareBursts(found, t0);
    const expected = sim.expectedBursts(BURST_GAP_MS);
    const same =
      expected.length === found.length &&
      expected.every((e, i) => {
        const f = [...found].sort((a, b) => a.startMs - b.startMs || (a.stat < b.stat ? -1 : 1))[i]!;
        return f.stat === e.stat && f.startMs === e.startMs && f.endMs === e.endMs && f.increase === e.increase;
      });
    const matched = rows.filter((r) => r.found);
    const durErr = matched.map((r) => Math.abs(r.durationErrorMs!));
    const incErr = matched.map((r) => Math.abs(r.increaseError!));
    const usePromtool = promtoolVersion() !== null;
    const v30 = scrapeView(logs, rows, t0, 30_000, usePromtool);
    const v60 = scrapeView(logs, rows, t0, 60_000, usePromtool);
    const maxDur = durErr.length ? Math.max(...durErr) : Number.NaN;
    return {
      status: 'ok',
      traceS: FIDELITY_TRACE_MS / 1000,
      intervalMs: INTERVAL_MS,
      burstGapMs: BURST_GAP_MS,
      truthBursts: rows.length,
      foundBursts: found.length,
      missedBursts: rows.length - matched.length,
      spuriousBursts: spurious,
      maxDurationErrorMs: maxDur,
      maxDurationErrorIntervals: maxDur / INTERVAL_MS,
      maxIncreaseError: incErr.length ? Math.max(...incErr) : Number.NaN,
      matchesSimulatorExpectation: same,
      bursts: rows,
      views: [v30.view, v60.view],
      svg: figure(logs.get(PPS)!, v30.points, v30.evals, t0, 30_000),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
