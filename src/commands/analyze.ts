// ethburst analyze FILE: offline burst analysis of a recorded trace.
//
// Output starts only after the whole input has been read, so a malformed
// line anywhere yields exactly one line on stderr ("FILE:LINE: reason"),
// exit 2 and nothing on stdout: a script piping the JSON never sees half a
// result. Bursts wait in a BurstSorter (on disk past a bound) rather than in
// an array, so a trace with millions of them does not need memory for all.

import { Aggregator, countedBurst, type BurstEvent, type CountedBurst, type LearnedOnset, type StatTotals } from '../aggregation/aggregator.js';
import { trackedStatMatcher } from '../aggregation/stat-policy.js';
import { resolutionNote } from '../aggregation/update-period.js';
import { windowMeasures, type Quantiles, type WindowMeasures } from '../aggregation/window-summary.js';
import { WHOLE_RUN } from '../aggregation/windows.js';
import { BurstSorter } from '../analysis/burst-sort.js';
import { defineCommand } from '../cli/command.js';
import { formatDuration } from '../cli/duration.js';
import { InputError, oneLine } from '../errors.js';
import { ReplaySource } from '../sources/replay.js';
import { StreamWriter } from '../analysis/stream-writer.js';
import { burstRecord } from '../aggregation/burst-record.js';
import { onsetMeasure, onsetValue } from '../aggregation/diagnosis.js';
import { topPodText } from '../talkers/top-talkers.js';

/** Whole-trace quantiles of one (device, stat): the measures /api/windows gives per window. */
export interface StatQuantiles extends WindowMeasures {
  device: string;
  stat: string;
}

export interface AnalyzeResult {
  /** What each burst counted; `analyzeTraceSorted` with burstRecord() gives the rest. */
  bursts: CountedBurst[];
  totals: StatTotals[];
  quantiles: StatQuantiles[];
}

export interface AnalyzeOptions {
  burstGapMs?: number;
  burstStats?: readonly RegExp[];
  /** Read this stream (stdin) instead of opening the path. */
  input?: NodeJS.ReadableStream;
  /** Name in error messages; default the path. */
  displayName?: string;
  /** Accept a cut-off last line (see ReplayOptions) and report it here. */
  onCutOffLastLine?: (line: number) => void;
  /** Stops reading; the caller must then discard the result. */
  signal?: AbortSignal;
  /** Bursts sorted in memory before they go to disk (tests make it small). */
  runLength?: number;
}

export interface SortedAnalysis<T> {
  /** Call sorted() once for the payloads in output order, dispose() always. */
  bursts: BurstSorter<T>;
  totals: StatTotals[];
  /** In the order of `totals`. */
  quantiles: StatQuantiles[];
  /** One sentence per device whose counters refresh more slowly than the trace samples them. */
  resolution: string[];
  /** Where drops began for each (device, stat) with at least 3 bursts, as of the end of the trace. */
  learned: LearnedOnset[];
}

/**
 * Runs the aggregation over a trace, keeping `payload(burst)` of every
 * finished burst for output in order. Rejects with InputError on a bad file
 * (nothing is left on disk then).
 */
export async function analyzeTraceSorted<T>(path: string, payload: (b: Readonly<BurstEvent>) => T, options: AnalyzeOptions = {}): Promise<SortedAnalysis<T>> {
  const agg = new Aggregator({ burstGapMs: options.burstGapMs, trackedStat: trackedStatMatcher(options.burstStats), windowsMs: [WHOLE_RUN] });
  const bursts = new BurstSorter<T>({ runLength: options.runLength });
  const source = new ReplaySource(path, { input: options.input, displayName: options.displayName, onCutOffLastLine: options.onCutOffLastLine });
  const stop = (): void => source.stop();
  options.signal?.addEventListener('abort', stop);
  try {
    agg.addListener({
      onBurst(b) {
        bursts.add(b.startMs, b.device, b.stat, payload(b));
      },
    });
    await source.run(agg);
    agg.finish(source.lastTimeMs);
    const resolution = agg.deviceNames().flatMap((d) => {
      const p = agg.updatePeriod(d);
      const note = p ? resolutionNote(d, p) : null;
      return note === null ? [] : [note];
    });
    const totals = agg.totals();
    // The same histograms and summary as serve's windows, over everything.
    const quantiles = totals.map((t) => ({ device: t.device, stat: t.stat, ...windowMeasures(agg.windows(t.device, t.stat)![0]!) }));
    return { bursts, totals, quantiles, resolution, learned: agg.learnedOnsets() };
  } catch (err) {
    bursts.dispose();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

/** All bursts in memory, sorted by start, device, stat; for library use on small traces. */
export async function analyzeTrace(path: string, options: AnalyzeOptions = {}): Promise<AnalyzeResult> {
  const r = await analyzeTraceSorted(path, countedBurst, options);
  try {
    return { bursts: [...r.bursts.sorted()], totals: r.totals, quantiles: r.quantiles };
  } finally {
    r.bursts.dispose();
  }
}


function totalsJson(totals: readonly StatTotals[]): string {
  return JSON.stringify(
    totals.map((t) => ({
      device: t.device,
      stat: t.stat,
      increase: t.increase,
      resets: t.resets,
      failed_reads: t.failedReads,
      samples: t.samples,
      seconds_with_increase: t.secondsWithIncrease,
      max_second_increase: t.maxSecondIncrease,
    })),
  );
}

/** ISO-like UTC time with milliseconds: "2025-11-24 16:00:00.123". */
function formatTime(ms: number): string {
  return new Date(Math.round(ms)).toISOString().replace('T', ' ').replace('Z', '');
}

/** "16:00:00.123" (after the date, whatever the year's width). */
function formatTimeOfDay(ms: number): string {
  const s = formatTime(ms);
  return s.slice(s.indexOf(' ') + 1);
}

// Number#toLocaleString builds a formatter per call; these are reused.
const WHOLE = new Intl.NumberFormat('en-US');
const ONE_DECIMAL = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

function formatCount(n: number): string {
  return Number.isInteger(n) ? WHOLE.format(n) : ONE_DECIMAL.format(n);
}

/** Column widths of a table; pass `widths` to widen it row by row. */
function widen(widths: number[], row: readonly string[]): void {
  for (let i = 0; i < row.length; i++) if (row[i]!.length > (widths[i] ?? 0)) widths[i] = row[i]!.length;
}

/** One table line: two spaces between columns, no trailing blanks. */
function tableRow(r: readonly string[], widths: readonly number[], rightAligned: ReadonlySet<number>): string {
  return r
    .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : i === r.length - 1 ? c : c.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
}

const BURST_HEADER = ['START', 'END', 'DURATION', 'DEVICE', 'STAT', 'INCREASE', 'PEAK/S', 'ONSET', 'CAUSE', 'TOP POD'];
const BURST_RIGHT = new Set([2, 5, 6, 7]);

/** The traffic when the drops began, in the stat's measure: "41,200 pkt/s", "9.41 Gbit/s", "12 conns", or "–". */
function formatOnset(stat: string, v: number): string {
  if (!Number.isFinite(v)) return '–';
  const m = onsetMeasure(stat);
  if (m === 'conntrack_available') return `${WHOLE.format(v)} conns`;
  if (m === 'packets_per_second') return `${WHOLE.format(Math.round(v))} pkt/s`;
  return v >= 1e9 ? `${(v / 1e9).toPrecision(3)} Gbit/s` : `${(v / 1e6).toPrecision(3)} Mbit/s`;
}
const TOTALS_HEADER = ['DEVICE', 'STAT', 'INCREASE', 'RESETS', 'FAILED READS', 'SAMPLES', 'SECONDS>0', 'MAX/SECOND'];
const TOTALS_RIGHT = new Set([2, 3, 4, 5, 6, 7]);

function totalsTable(totals: readonly StatTotals[]): string {
  if (totals.length === 0) return 'Totals: no tracked stats in the trace.\n';
  const rows = [TOTALS_HEADER];
  for (const t of totals) {
    rows.push([t.device, t.stat, formatCount(t.increase), String(t.resets), String(t.failedReads), String(t.samples), String(t.secondsWithIncrease), formatCount(t.maxSecondIncrease)]);
  }
  const widths: number[] = [];
  for (const r of rows) widen(widths, r);
  return `Totals:\n${rows.map((r) => `${tableRow(r, widths, TOTALS_RIGHT)}\n`).join('')}`;
}

const QUANTILES_HEADER = ['DEVICE', 'STAT', 'MEASURE', 'COUNT', 'P50', 'P90', 'P99', 'MAX'];
const QUANTILES_RIGHT = new Set([3, 4, 5, 6, 7]);

function quantileCells(q: Quantiles, format: (n: number) => string): string[] {
  return [String(q.count), ...[q.p50, q.p90, q.p99, q.max].map((v) => (v === null ? '–' : format(v)))];
}

/** Per (device, stat) with any increase: per-second increase, burst size and burst duration over the whole trace. */
function quantilesTable(qs: readonly StatQuantiles[]): string {
  const rows = [QUANTILES_HEADER];
  for (const q of qs) {
    if (!q.second_increase.max) continue;
    rows.push([q.device, q.stat, 'increase/second', ...quantileCells(q.second_increase, formatCount)]);
    rows.push([q.device, q.stat, 'burst size', ...quantileCells(q.burst_size, formatCount)]);
    rows.push([q.device, q.stat, 'burst duration', ...quantileCells(q.burst_duration_ms, formatDuration)]);
  }
  const widths: number[] = [];
  for (const r of rows) widen(widths, r);
  return `Quantiles over the whole trace (stats with drops; every sampled second counts, zeros included; 1 % resolution above 255):\n${rows.map((r) => `${tableRow(r, widths, QUANTILES_RIGHT)}\n`).join('')}`;
}

/**
 * An output format in two halves: what to keep of each burst while the
 * trace is read, and how to write the kept bursts and the totals.
 */
interface Format<T> {
  readonly payload: (b: Readonly<BurstEvent>) => T;
  write(r: SortedAnalysis<T>, out: StreamWriter): Promise<void>;
}

/** The documented JSON shape, keys in the documented order: one object, as JSON.stringify writes it. */
function jsonFormat(): Format<string> {
  return {
    payload: (b) => JSON.stringify(burstRecord(b)),
    async write(r, out) {
      out.write('{"bursts":[');
      let sep = '';
      for (const b of r.bursts.sorted()) {
        if (out.write(sep + b)) await out.flush();
        sep = ',';
      }
      out.write(`],"totals":${totalsJson(r.totals)},"quantiles":${JSON.stringify(r.quantiles)},"learned_onsets":${JSON.stringify(r.learned)}}\n`);
    },
  };
}

/** For people: one line per burst, then totals. Cells are formatted once, as bursts arrive, so the widths are known before the first line. */
function tableFormat(burstGapMs: number): Format<string[]> {
  const widths: number[] = [];
  widen(widths, BURST_HEADER);
  // The first burst of each cause, whose diagnosis is printed under the table.
  const firstOfCause = new Map<string, { startMs: number; device: string; summary: string; remedy: string }>();
  // The TOP POD column only for a trace with pods in it.
  let anyPods = false;
  const cut = (row: readonly string[]): readonly string[] => (anyPods ? row : row.slice(0, -1));
  return {
    payload(b) {
      const cause = b.diagnosis.cause;
      const top = b.topPods?.[0];
      if (top !== undefined) anyPods = true;
      const pod = top === undefined ? '' : topPodText(top);
      const row = [formatTime(b.startMs), formatTimeOfDay(b.endMs), formatDuration(b.durationMs), b.device, b.stat, formatCount(b.increase), formatCount(b.peakRatePerSecond), formatOnset(b.stat, onsetValue(b.stat, b.onset)), cause, pod];
      widen(widths, row);
      const prev = firstOfCause.get(cause);
      if (!prev || b.startMs < prev.startMs) firstOfCause.set(cause, { startMs: b.startMs, device: b.device, summary: b.diagnosis.summary, remedy: b.diagnosis.remedy });
      return row;
    },
    async write(r, out) {
      const n = r.bursts.count;
      if (n === 0) {
        out.write(`No bursts (burst gap ${formatDuration(burstGapMs)}).\n`);
      } else {
        out.write(`${n} burst${n === 1 ? '' : 's'} (burst gap ${formatDuration(burstGapMs)}; times UTC):\n${tableRow(cut(BURST_HEADER), widths, BURST_RIGHT)}\n`);
        for (const row of r.bursts.sorted()) {
          if (out.write(`${tableRow(cut(row), widths, BURST_RIGHT)}\n`)) await out.flush();
        }
        out.write('\nDiagnosis (the first burst of each cause; --format json has every burst\'s):\n');
        for (const [cause, d] of [...firstOfCause].sort((a, b) => a[1].startMs - b[1].startMs)) {
          out.write(`  ${cause} (${formatTime(d.startMs)}, ${d.device}): ${d.summary}\n    What to change: ${d.remedy}\n`);
        }
      }
      if (r.learned.length > 0) {
        out.write('\nLearned onsets (where drops began: the median onset of the last bursts of each device and stat):\n');
        for (const o of r.learned) out.write(`  ${o.device} ${o.stat}: ${formatOnset(o.stat, o.value)} (${o.bursts} bursts)\n`);
      }
      out.write(`\n${totalsTable(r.totals)}`);
      if (r.quantiles.some((q) => q.second_increase.max)) out.write(`\n${quantilesTable(r.quantiles)}`);
      // Only when it matters: bursts of such a device are at its resolution.
      if (r.resolution.length > 0) out.write(`\nResolution:\n${r.resolution.map((n) => `  ${n}\n`).join('')}`);
    },
  };
}

async function report<T>(file: string, format: Format<T>, options: AnalyzeOptions, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; signal: AbortSignal }): Promise<number> {
  let r: SortedAnalysis<T>;
  try {
    r = await analyzeTraceSorted(file, format.payload, { ...options, signal: io.signal });
  } catch (err) {
    // The message already is "FILE:LINE: reason"; print it as is.
    if (err instanceof InputError) {
      io.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    if (io.signal.aborted) {
      io.stderr.write(`ethburst analyze: interrupted before the input was read; no results\n`);
      return 1;
    }
    const out = new StreamWriter(io.stdout);
    try {
      await format.write(r, out);
      await out.close();
    } catch (err) {
      io.stderr.write(`ethburst analyze: cannot write the results: ${(err as NodeJS.ErrnoException)?.code ?? oneLine(err)}\n`);
      return 1;
    }
    return 0;
  } finally {
    r.bursts.dispose();
  }
}

export default defineCommand({
  name: 'analyze',
  summary: 'Find bursts in a recorded trace: when a device dropped packets, for how long, how many, how intense at the peak.',
  usage: 'FILE [--format table|json] [--burst-gap 2s] [--burst-stat RE]...',
  positionals: { min: 1, max: 1, name: 'FILE' },
  flags: {
    format: { type: 'string', choices: ['table', 'json'], default: 'table', help: 'table for people, json for programs' },
    'burst-gap': { type: 'duration', default: '2s', min: 1, max: 86_400_000, help: 'increasing samples at most this far apart belong to one burst' },
    'burst-stat': { type: 'regex', repeatable: true, valueName: 'RE', help: 'also track stats matching RE (besides *_allowance_exceeded), e.g. drops$' },
  },
  async run(flags, positionals, io) {
    const file = positionals[0]!;
    const stdin = file === '-';
    const name = stdin ? '<stdin>' : file;
    const options: AnalyzeOptions = {
      burstGapMs: flags['burst-gap'],
      burstStats: flags['burst-stat'],
      input: stdin ? process.stdin : undefined,
      displayName: name,
      onCutOffLastLine: (line) => io.stderr.write(`ethburst analyze: warning: ${name}:${line}: last line is cut off (recorder killed mid-write?); ignored\n`),
    };
    return flags.format === 'json' ? report(file, jsonFormat(), options, io) : report(file, tableFormat(flags['burst-gap']), options, io);
  },
});
