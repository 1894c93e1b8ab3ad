// One watch row's numbers from its last minute of per-tick increases: the
// per-second sparkline, current and peak rate, seconds with drops. Pure, so
// the tests can check them without a terminal.

import { WATCH_WINDOW_MS, type WatchSeries } from './feed.js';

export interface RowSummary {
  readonly device: string;
  readonly stat: string;
  /** Largest per-tick increase in each of the last `columns` unix seconds, oldest first. */
  readonly spark: number[];
  /** Whether each of those seconds has any sample at all (blank before sampling began). */
  readonly covered: boolean[];
  /** Increase over the last second, per second. */
  readonly nowRate: number;
  /** Largest per-tick rate (increase / tick length) in the window. */
  readonly peakRate: number;
  /** Unix seconds in the window with any increase. */
  readonly secondsWithDrops: number;
  /** Any increase in the window, or a burst in progress. */
  readonly active: boolean;
  readonly series: WatchSeries;
}

export function summarize(s: WatchSeries, nowMs: number, columns: number, intervalMs: number): RowSummary {
  const spark = new Array<number>(columns).fill(0);
  const covered = new Array<boolean>(columns).fill(false);
  const lastSecond = Math.floor(nowMs / 1000);
  const firstSecond = lastSecond - columns + 1;
  const from = nowMs - WATCH_WINDOW_MS;
  let nowInc = 0;
  let peak = 0;
  const dropSeconds = new Set<number>();
  let prevT = Number.NaN;
  for (const [t, inc] of s.points) {
    const dt = prevT === prevT ? t - prevT : intervalMs;
    prevT = t;
    const col0 = Math.floor(t / 1000) - firstSecond;
    if (col0 >= 0 && col0 < columns) covered[col0] = true;
    if (t <= from || t > nowMs + 1000 || !(inc > 0)) continue;
    const second = Math.floor(t / 1000);
    dropSeconds.add(second);
    const col = second - firstSecond;
    if (col >= 0 && col < columns && inc > spark[col]!) spark[col] = inc;
    if (t > nowMs - 1000) nowInc += inc;
    const rate = dt > 0 ? (inc * 1000) / dt : 0;
    if (rate > peak) peak = rate;
  }
  return {
    device: s.device,
    stat: s.stat,
    spark,
    covered,
    nowRate: nowInc,
    peakRate: peak,
    secondsWithDrops: dropSeconds.size,
    active: dropSeconds.size > 0 || s.open !== null,
    series: s,
  };
}

/**
 * The burst still open at the newest point, by the exporter's rule (for a
 * feed that only has the points): the run of increases at most `gapMs`
 * apart that reaches to within `gapMs` of the newest point, starting at the
 * point before its first increase.
 */
export function openBurstOf(points: readonly (readonly [number, number])[], gapMs: number): { startMs: number; endMs: number; increase: number } | null {
  const n = points.length;
  if (n === 0) return null;
  const newest = points[n - 1]![0];
  let end = Number.NaN;
  let firstIdx = -1;
  let increase = 0;
  for (let i = n - 1; i >= 0; i--) {
    const [t, inc] = points[i]!;
    if (!(inc > 0)) continue;
    const last = firstIdx >= 0 ? points[firstIdx]![0] : newest;
    if (last - t > gapMs) break;
    if (end !== end) end = t;
    firstIdx = i;
    increase += inc;
  }
  if (firstIdx < 0) return null;
  const startMs = firstIdx > 0 ? points[firstIdx - 1]![0] : points[firstIdx]![0];
  return { startMs, endMs: end, increase };
}
