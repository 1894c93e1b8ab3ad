// ethburst analyze FILE: offline burst analysis of a recorded trace.
//
// Output is built only after the whole file has been read, so a malformed
// line anywhere yields exactly one line on stderr ("FILE:LINE: reason"),
// exit 2 and nothing on stdout: a script piping the JSON never sees half a
// result.

import { Aggregator, trackedStatMatcher, type BurstEvent, type StatTotals } from '../aggregator.js';
import { defineCommand } from '../command.js';
import { formatDuration } from '../duration.js';
import { InputError } from '../errors.js';
import { ReplaySource } from '../replay.js';

export interface AnalyzeResult {
  bursts: BurstEvent[];
  totals: StatTotals[];
}

/** Runs the aggregation over a trace file. Rejects with InputError on a bad file. */
export async function analyzeTrace(path: string, options: { burstGapMs?: number; burstStats?: readonly RegExp[] } = {}): Promise<AnalyzeResult> {
  const agg = new Aggregator({ burstGapMs: options.burstGapMs, trackedStat: trackedStatMatcher(options.burstStats), windowsMs: [] });
  const bursts: BurstEvent[] = [];
  agg.addListener({
    onBurst(b) {
      bursts.push({ ...b });
    },
  });
  const source = new ReplaySource(path);
  await source.run(agg);
  agg.finish(source.lastTimeMs);
  bursts.sort((a, b) => a.startMs - b.startMs || cmp(a.device, b.device) || cmp(a.stat, b.stat));
  return { bursts, totals: agg.totals() };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One burst in the documented JSON shape, keys in the documented order. */
export function burstJson(b: Readonly<BurstEvent>): Record<string, string | number> {
  return {
    device: b.device,
    stat: b.stat,
    start_ms: b.startMs,
    end_ms: b.endMs,
    duration_ms: b.durationMs,
    increase: b.increase,
    peak_rate_per_second: b.peakRatePerSecond,
  };
}

/** The documented JSON shape, keys in the documented order. */
export function formatAnalyzeJson(r: AnalyzeResult): string {
  const doc = {
    bursts: r.bursts.map(burstJson),
    totals: r.totals.map((t) => ({
      device: t.device,
      stat: t.stat,
      increase: t.increase,
      resets: t.resets,
      failed_reads: t.failedReads,
      samples: t.samples,
      seconds_with_increase: t.secondsWithIncrease,
      max_second_increase: t.maxSecondIncrease,
    })),
  };
  return `${JSON.stringify(doc)}\n`;
}

/** ISO-like UTC time with milliseconds: "2025-11-24 16:00:00.123". */
function formatTime(ms: number): string {
  return new Date(Math.round(ms)).toISOString().replace('T', ' ').replace('Z', '');
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

function table(rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 && !rightAligned.has(i) ? c : rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatAnalyzeTable(r: AnalyzeResult, burstGapMs: number): string {
  const out: string[] = [];
  if (r.bursts.length === 0) {
    out.push(`No bursts (burst gap ${formatDuration(burstGapMs)}).`);
  } else {
    out.push(`${r.bursts.length} burst${r.bursts.length === 1 ? '' : 's'} (burst gap ${formatDuration(burstGapMs)}; times UTC):`);
    const rows = [['START', 'END', 'DURATION', 'DEVICE', 'STAT', 'INCREASE', 'PEAK/S']];
    for (const b of r.bursts) {
      rows.push([formatTime(b.startMs), formatTime(b.endMs).slice(11), formatDuration(b.durationMs), b.device, b.stat, formatCount(b.increase), formatCount(b.peakRatePerSecond)]);
    }
    out.push(table(rows, new Set([2, 5, 6])));
  }
  out.push('');
  if (r.totals.length === 0) {
    out.push('Totals: no tracked stats in the trace.');
  } else {
    out.push('Totals:');
    const rows = [['DEVICE', 'STAT', 'INCREASE', 'RESETS', 'FAILED READS', 'SAMPLES', 'SECONDS>0', 'MAX/SECOND']];
    for (const t of r.totals) {
      rows.push([t.device, t.stat, formatCount(t.increase), String(t.resets), String(t.failedReads), String(t.samples), String(t.secondsWithIncrease), formatCount(t.maxSecondIncrease)]);
    }
    out.push(table(rows, new Set([2, 3, 4, 5, 6, 7])));
  }
  return `${out.join('\n')}\n`;
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
    let result: AnalyzeResult;
    try {
      result = await analyzeTrace(file, { burstGapMs: flags['burst-gap'], burstStats: flags['burst-stat'] });
    } catch (err) {
      // The message already is "FILE:LINE: reason"; print it as is.
      if (err instanceof InputError) {
        io.stderr.write(`${err.message}\n`);
        return 2;
      }
      throw err;
    }
    io.stdout.write(flags.format === 'json' ? formatAnalyzeJson(result) : formatAnalyzeTable(result, flags['burst-gap']));
    return 0;
  },
});
