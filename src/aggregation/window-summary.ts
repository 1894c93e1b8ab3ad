// What users see of the windows (windows.ts): plain JSON quantiles of each
// window's histograms, for /api/windows, the live page, watch, and (over
// the whole trace) `ethburst analyze`. One function, so all four say the
// same numbers.
//
// The histograms keep two significant digits: below 256 every value is
// exact; above, a quantile is the top of its 1 % bucket, capped at the
// window's maximum (which hdr keeps exactly), so p99 never exceeds max.

import type { Histogram } from 'hdr-histogram-js';
import type { WindowSnapshot } from './windows.js';

/** Quantiles of one histogram; null when it holds nothing. */
export interface Quantiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/** The measures of one window, without its time span (analyze's whole trace). */
export interface WindowMeasures {
  /** Increase in each unix second, every sampled second including zeros. */
  second_increase: Quantiles;
  /** Packets counted in each finished burst. */
  burst_size: Quantiles;
  /** Duration of each finished burst (ms, rounded). */
  burst_duration_ms: Quantiles;
  /** Highest per-tick rate (increase / tick length) in the window; 0 if none. */
  peak_rate_per_second: number;
}

export interface WindowSummary extends WindowMeasures {
  /** Window length in seconds (60, 600, 3600). */
  window_s: number;
  /** Oldest time the window covers (it covers at least window_s, at most a sixth more) and the read time. */
  from_ms: number;
  to_ms: number;
}

export function quantiles(h: Histogram): Quantiles {
  const count = h.totalCount;
  if (count === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
  const max = h.maxValue;
  const at = (p: number): number => Math.min(h.getValueAtPercentile(p), max);
  return { count, p50: at(50), p90: at(90), p99: at(99), max };
}

export function windowMeasures(w: WindowSnapshot): WindowMeasures {
  return {
    second_increase: quantiles(w.secondIncrease),
    burst_size: quantiles(w.burstSize),
    burst_duration_ms: quantiles(w.burstDurationMs),
    peak_rate_per_second: w.peakTickRatePerSecond,
  };
}

/** One sliding window as /api/windows shows it. */
export function summarizeWindow(w: WindowSnapshot): WindowSummary {
  return { window_s: w.windowMs / 1000, from_ms: w.fromMs, to_ms: w.toMs, ...windowMeasures(w) };
}
