// Sliding windows (1 min, 10 min, 1 h by default) of burst duration, burst
// size and per-second increase (hdr-histogram-js), plus the peak per-tick
// rate, for one (device, stat). A burst's own peak rate has no histogram:
// nothing shows its quantiles, and the window's peak per-tick rate is the
// peak of its bursts.
//
// Windows are fixed in time, not in reads: a window of W is `slots` + 1
// sub-windows keyed by slot number floor(t / slotMs) on the samples' clock,
// and a read at time `now` covers the slots from floor(now / slot) - slots
// to floor(now / slot): at least the last W, at most W + W / slots. Nothing
// younger than W is ever missing, and reads change nothing, so any number
// of readers (scrapes, the JSON API) see the same data.
//
// The values are kept once, not once per window: one time-ordered log of
// finished bursts and one of runs of seconds (a quiet stat's zeros are a
// single run) per (device, stat), as long as the widest window reaches. A
// read builds its histograms from the records its slots cover. Keeping a
// histogram per slot per window instead cost ~200 KiB per bursting
// (device, stat) once the hour had filled, mostly in histogram objects
// holding a handful of values each; the logs hold ~30 KiB for the same data,
// and they are exact. Reads (the API, the page) pay for it, about a
// microsecond per record; ticks never read.
//
// A window of WHOLE_RUN (Infinity) never expires: histograms that keep
// everything, for `ethburst analyze`'s whole-trace quantiles. They go
// through the same record functions (same rounding) as the sliding ones, so
// live and offline numbers agree.

import { build, type Histogram } from 'hdr-histogram-js';

export const DEFAULT_WINDOWS_MS: readonly number[] = [60_000, 600_000, 3_600_000];
export const DEFAULT_WINDOW_SLOTS = 6;
/** A window length that never expires: everything since the aggregator started. */
export const WHOLE_RUN = Number.POSITIVE_INFINITY;

/**
 * Two significant digits (1 % resolution) instead of the library's three:
 * the counts arrays are 8x smaller, and burst sizes need no finer
 * resolution. autoResize starts each histogram tiny; it grows only when a
 * larger value than ever before arrives.
 */
export function newWindowHistogram(): Histogram {
  return build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 2, numberOfSignificantValueDigits: 2, useWebAssembly: false });
}

/**
 * Records of one measure, oldest first, in a ring of (first time, last time,
 * a, b) that doubles when full while its oldest record is still
 * inside the widest window. Memory follows activity: a quiet stat's seconds
 * are one growing run of zeros, a bursting one's are a record per change.
 * Nothing is allocated while the capacity suffices, and the capacity stops
 * growing once the widest window is full.
 */
class TimeLog {
  private buf: Float64Array;
  private head = 0;
  size = 0;

  constructor(private readonly horizonMs: number) {
    this.buf = new Float64Array(4 * 4);
  }

  /** Memory the log holds, bytes. */
  get bytes(): number {
    return this.buf.byteLength;
  }

  private pos(i: number): number {
    return ((this.head + i) % (this.buf.length >> 2)) << 2;
  }

  firstMs(i: number): number {
    return this.buf[this.pos(i)]!;
  }

  lastMs(i: number): number {
    return this.buf[this.pos(i) + 1]!;
  }

  a(i: number): number {
    return this.buf[this.pos(i) + 2]!;
  }

  b(i: number): number {
    return this.buf[this.pos(i) + 3]!;
  }

  /** Moves the newest record's last time to `lastMs` and adds `more` to its b. */
  extend(lastMs: number, more: number): void {
    const p = this.pos(this.size - 1);
    this.buf[p + 1] = lastMs;
    this.buf[p + 3]! += more;
  }

  push(firstMs: number, lastMs: number, a: number, b: number): void {
    // What no window can show any more makes room first.
    const keepFrom = lastMs - this.horizonMs;
    while (this.size > 0 && this.lastMs(0) < keepFrom) {
      this.head = (this.head + 1) % (this.buf.length >> 2);
      this.size--;
    }
    const cap = this.buf.length >> 2;
    if (this.size === cap) {
      const grown = new Float64Array(this.buf.length * 2);
      for (let i = 0; i < this.size; i++) grown.set(this.buf.subarray(this.pos(i), this.pos(i) + 4), i << 2);
      this.buf = grown;
      this.head = 0;
    }
    const p = this.pos(this.size++);
    this.buf[p] = firstMs;
    this.buf[p + 1] = lastMs;
    this.buf[p + 2] = a;
    this.buf[p + 3] = b;
  }
}

class MaxRing {
  private readonly ids: Float64Array;
  private readonly values: Float64Array;

  constructor(
    readonly slotMs: number,
    readonly slots: number,
  ) {
    this.ids = new Float64Array(slots + 1).fill(-1);
    this.values = new Float64Array(slots + 1);
  }

  record(timeMs: number, value: number): void {
    const id = Math.floor(timeMs / this.slotMs);
    const pos = id % this.ids.length;
    const cur = this.ids[pos]!;
    if (cur !== id) {
      if (cur > id) return;
      this.ids[pos] = id;
      this.values[pos] = value;
    } else if (value > this.values[pos]!) {
      this.values[pos] = value;
    }
  }

  get bytes(): number {
    return this.ids.byteLength + this.values.byteLength;
  }

  max(nowMs: number): number {
    const idNow = Math.floor(nowMs / this.slotMs);
    let m = 0;
    for (let pos = 0; pos < this.ids.length; pos++) {
      const id = this.ids[pos]!;
      if (id >= idNow - this.slots && id <= idNow && this.values[pos]! > m) m = this.values[pos]!;
    }
    return m;
  }
}

/** One window of one (device, stat) as read at `nowMs`. Fresh histograms the caller owns. */
export interface WindowSnapshot {
  /** WHOLE_RUN (Infinity) for the window that never expires. */
  readonly windowMs: number;
  /** Oldest time the merged slots cover (inclusive; NaN for WHOLE_RUN) and the read time. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Finished bursts whose end falls in the window: durations (ms, rounded). */
  readonly burstDurationMs: Histogram;
  /** ... their increases (packets). */
  readonly burstSize: Histogram;
  /** Increase per unix second, every sampled second including zeros. */
  readonly secondIncrease: Histogram;
  /** Highest per-tick rate (increase / tick seconds) in the window; 0 if none. */
  readonly peakTickRatePerSecond: number;
}

/** One sliding window: which slots a read covers, and its per-tick peaks. */
class Window {
  readonly slotMs: number;
  readonly tickRate: MaxRing;

  constructor(
    readonly windowMs: number,
    readonly slots: number,
  ) {
    this.slotMs = windowMs / slots;
    this.tickRate = new MaxRing(this.slotMs, slots);
  }

  /** Start of the oldest slot a read at nowMs covers (inclusive). */
  fromMs(nowMs: number): number {
    return (Math.floor(nowMs / this.slotMs) - this.slots) * this.slotMs;
  }

  /** End of the newest slot a read at nowMs covers (exclusive). */
  toMs(nowMs: number): number {
    return (Math.floor(nowMs / this.slotMs) + 1) * this.slotMs;
  }
}

/** The WHOLE_RUN window: histograms that keep everything. */
class WholeRun {
  readonly burstDuration = newWindowHistogram();
  readonly burstSize = newWindowHistogram();
  readonly second = newWindowHistogram();
  peakTickRate = 0;
}

export class StatWindows {
  readonly windowsMs: readonly number[];
  private readonly sliding: Window[];
  private readonly whole: WholeRun | null;
  /** Finished bursts: (end, end, duration ms rounded, increase). */
  private readonly bursts: TimeLog | null;
  /** Runs of seconds with one increase: (first second's ms, last second's ms, increase, seconds). */
  private readonly seconds: TimeLog | null;

  constructor(windowsMs: readonly number[] = DEFAULT_WINDOWS_MS, slots: number = DEFAULT_WINDOW_SLOTS) {
    this.windowsMs = [...windowsMs];
    this.sliding = windowsMs.filter((w) => Number.isFinite(w)).map((w) => new Window(w, slots));
    this.whole = windowsMs.some((w) => !Number.isFinite(w)) ? new WholeRun() : null;
    // The logs keep what the widest read can reach: W + one slot.
    const horizon = Math.max(-1, ...this.sliding.map((w) => w.windowMs + w.slotMs));
    this.bursts = horizon >= 0 ? new TimeLog(horizon) : null;
    this.seconds = horizon >= 0 ? new TimeLog(horizon) : null;
  }

  /** Bytes the sliding windows hold now (their logs and peak rings). */
  get bytes(): number {
    let n = (this.bursts?.bytes ?? 0) + (this.seconds?.bytes ?? 0);
    for (const w of this.sliding) n += w.tickRate.bytes;
    return n;
  }

  /** A finished burst, placed at its end time. */
  recordBurst(endMs: number, durationMs: number, increase: number): void {
    const d = Math.round(durationMs);
    if (this.whole !== null) {
      this.whole.burstDuration.recordValue(d);
      this.whole.burstSize.recordValue(increase);
    }
    const log = this.bursts;
    if (log === null) return;
    // Older than the newest burst kept (the clock went back): no window reads it.
    if (log.size > 0 && endMs < log.lastMs(log.size - 1)) return;
    log.push(endMs, endMs, d, increase);
  }

  /** `count` consecutive seconds from unix second `second` with this increase each. */
  recordSeconds(second: number, increase: number, count: number): void {
    if (count <= 0) return;
    if (this.whole !== null) {
      if (count === 1) this.whole.second.recordValue(increase);
      else this.whole.second.recordValueWithCount(increase, count);
    }
    const log = this.seconds;
    if (log === null) return;
    const firstMs = second * 1000;
    const lastMs = (second + count - 1) * 1000;
    if (log.size > 0) {
      const newest = log.size - 1;
      const prevLast = log.lastMs(newest);
      if (firstMs <= prevLast) return;
      // Seconds continuing a run of the same increase (mostly zeros) extend it.
      if (firstMs === prevLast + 1000 && log.a(newest) === increase) {
        log.extend(lastMs, count);
        return;
      }
    }
    log.push(firstMs, lastMs, increase, count);
  }

  /** An increasing tick's rate (per second). */
  recordTickRate(timeMs: number, ratePerSecond: number): void {
    for (let i = 0; i < this.sliding.length; i++) this.sliding[i]!.tickRate.record(timeMs, ratePerSecond);
    if (this.whole !== null && ratePerSecond > this.whole.peakTickRate) this.whole.peakTickRate = ratePerSecond;
  }

  /** Highest per-tick rate in the window of this length as read at nowMs (0 if none, NaN for a length not kept). Allocates nothing. */
  peakTickRate(windowMs: number, nowMs: number): number {
    if (!Number.isFinite(windowMs)) return this.whole !== null ? this.whole.peakTickRate : Number.NaN;
    for (let i = 0; i < this.sliding.length; i++) if (this.sliding[i]!.windowMs === windowMs) return this.sliding[i]!.tickRate.max(nowMs);
    return Number.NaN;
  }

  /** All windows as read at nowMs (allocates; for scrapes and the API, not ticks). */
  snapshot(nowMs: number): WindowSnapshot[] {
    return this.windowsMs.map((windowMs) => {
      const burstDurationMs = newWindowHistogram();
      const burstSize = newWindowHistogram();
      const secondIncrease = newWindowHistogram();
      const whole = this.whole;
      if (!Number.isFinite(windowMs) && whole !== null) {
        burstDurationMs.add(whole.burstDuration);
        burstSize.add(whole.burstSize);
        secondIncrease.add(whole.second);
        return { windowMs, fromMs: Number.NaN, toMs: nowMs, burstDurationMs, burstSize, secondIncrease, peakTickRatePerSecond: whole.peakTickRate };
      }
      const w = this.sliding.find((x) => x.windowMs === windowMs)!;
      const from = w.fromMs(nowMs);
      const to = w.toMs(nowMs);
      const bursts = this.bursts!;
      for (let i = bursts.size - 1; i >= 0; i--) {
        const t = bursts.lastMs(i);
        if (t < from) break;
        if (t >= to) continue;
        burstDurationMs.recordValue(bursts.a(i));
        burstSize.recordValue(bursts.b(i));
      }
      const seconds = this.seconds!;
      for (let i = seconds.size - 1; i >= 0; i--) {
        if (seconds.lastMs(i) < from) break;
        // The run's seconds first + 1000 k, 0 <= k < b, that fall in [from, to).
        const first = seconds.firstMs(i);
        const kMin = Math.max(0, Math.ceil((from - first) / 1000));
        const kMax = Math.min(seconds.b(i) - 1, Math.ceil((to - first) / 1000) - 1);
        if (kMax >= kMin) secondIncrease.recordValueWithCount(seconds.a(i), kMax - kMin + 1);
      }
      return { windowMs, fromMs: from, toMs: nowMs, burstDurationMs, burstSize, secondIncrease, peakTickRatePerSecond: w.tickRate.max(nowMs) };
    });
  }
}
