// What a Prometheus scrape makes of a counter: sample the cumulative value
// every scrape interval, then apply increase()/rate() exactly as Prometheus
// 2.x does (promql/functions.go extrapolatedRate): counter-reset
// correction, extrapolation to the range boundaries when the first/last
// sample is within 1.1 average intervals of them (else half an interval),
// and no extrapolation below zero. Prometheus >= 3.0 makes ranges
// left-open; `leftOpen` models that. The bench cross-checks this model
// against the real promtool when it is installed (promtool.ts).

export interface Point {
  /** Unix ms. */
  t: number;
  v: number;
}

export interface RangeOptions {
  /** Prometheus >= 3.0: a sample exactly at the range start is excluded. */
  leftOpen?: boolean;
}

/**
 * The value of the counter at each scrape time: the last tick at or before
 * it (a scrape sees what the exporter last read). `tickT`/`tickV` are the
 * per-tick sample times and cumulative values, ascending.
 */
export function scrapeCounter(tickT: ArrayLike<number>, tickV: ArrayLike<number>, scrapeTimes: readonly number[]): Point[] {
  const out: Point[] = [];
  let k = -1;
  for (const t of scrapeTimes) {
    while (k + 1 < tickT.length && tickT[k + 1]! <= t) k++;
    if (k >= 0) out.push({ t, v: tickV[k]! });
  }
  return out;
}

/** Scrape times from `firstMs` every `intervalMs` up to and including `lastMs`. */
export function scrapeTimes(firstMs: number, intervalMs: number, lastMs: number): number[] {
  const out: number[] = [];
  for (let t = firstMs; t <= lastMs; t += intervalMs) out.push(t);
  return out;
}

/** Index of the first point with t >= x (or > x when `strict`). */
function lowerBound(points: readonly Point[], x: number, strict: boolean): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = points[mid]!.t;
    if (strict ? t > x : t >= x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * increase(x[range]) (isRate false) or rate(x[range]) (isRate true)
 * evaluated at `evalMs`; null when the range holds fewer than 2 samples
 * (Prometheus returns no result).
 */
export function extrapolatedRate(points: readonly Point[], evalMs: number, rangeMs: number, isRate: boolean, opts: RangeOptions = {}): number | null {
  const rangeStart = evalMs - rangeMs;
  const rangeEnd = evalMs;
  const i0 = lowerBound(points, rangeStart, opts.leftOpen === true);
  const i1 = lowerBound(points, rangeEnd, true);
  const n = i1 - i0;
  if (n < 2) return null;
  const first = points[i0]!;
  const last = points[i1 - 1]!;
  let result = last.v - first.v;
  // A counter that went down was reset: what it had before counts too.
  let prev = first.v;
  for (let i = i0 + 1; i < i1; i++) {
    const v = points[i]!.v;
    if (v < prev) result += prev;
    prev = v;
  }
  let durationToStart = (first.t - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  if (result > 0 && first.v >= 0) {
    // Counters cannot go below zero: never extrapolate past the point where it would have been 0.
    const durationToZero = sampledInterval * (first.v / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = averageDurationBetweenSamples * 1.1;
  let extrapolateToInterval = sampledInterval;
  extrapolateToInterval += durationToStart < threshold ? durationToStart : averageDurationBetweenSamples / 2;
  extrapolateToInterval += durationToEnd < threshold ? durationToEnd : averageDurationBetweenSamples / 2;
  result *= extrapolateToInterval / sampledInterval;
  if (isRate) result /= rangeMs / 1000;
  return result;
}

export function increaseAt(points: readonly Point[], evalMs: number, rangeMs: number, opts: RangeOptions = {}): number | null {
  return extrapolatedRate(points, evalMs, rangeMs, false, opts);
}

export function rateAt(points: readonly Point[], evalMs: number, rangeMs: number, opts: RangeOptions = {}): number | null {
  return extrapolatedRate(points, evalMs, rangeMs, true, opts);
}

/** A maximal run of consecutive scrape intervals whose counter moved: one "event" as the scrape view sees it. */
export interface ScrapeEvent {
  /** Scrape time before the first interval with an increase. */
  startMs: number;
  /** Scrape time at the end of the last interval with an increase. */
  endMs: number;
  increase: number;
}

/** The distinct events a scrape series shows: runs of non-zero deltas separated by at least one zero delta. */
export function scrapeEvents(points: readonly Point[]): ScrapeEvent[] {
  const out: ScrapeEvent[] = [];
  let cur: ScrapeEvent | null = null;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const d = b.v >= a.v ? b.v - a.v : b.v;
    if (d > 0) {
      if (cur) {
        cur.endMs = b.t;
        cur.increase += d;
      } else {
        cur = { startMs: a.t, endMs: b.t, increase: d };
      }
    } else if (cur) {
      out.push(cur);
      cur = null;
    }
  }
  if (cur) out.push(cur);
  return out;
}
