// Sliding windows (1 min, 10 min, 1 h by default) of burst duration, burst
// size and per-second increase (hdr-histogram-js), plus the peak per-tick
// rate, for one (device, stat). A burst's own peak rate has no histogram:
// nothing shows its quantiles, and the window's peak per-tick rate is the
// peak of its bursts.
//
// Windows are fixed in time, not in reads: each window is a ring of
// `slots + 1` sub-window histograms keyed by slot number floor(t / slotMs)
// on the samples' clock. Recording into a slot whose number moved on resets
// it; reading merges the slots into new histograms and never resets
// anything, so any number of readers (scrapes, the JSON API) see the same
// data. A window of W read at time `now` covers the slots from
// floor(now / slot) - slots to floor(now / slot): at least the last W, at
// most W + W / slots. Nothing younger than W is ever missing.
//
// A window of WHOLE_RUN (Infinity) never rotates: one slot that keeps
// everything, for `ethburst analyze`'s whole-trace quantiles. It goes
// through the same record functions (same rounding, same run splitting) as
// the sliding ones, so live and offline numbers agree.

import { build, type Histogram } from 'hdr-histogram-js';

export const DEFAULT_WINDOWS_MS: readonly number[] = [60_000, 600_000, 3_600_000];
export const DEFAULT_WINDOW_SLOTS = 6;
/** A window length that never expires: everything since the aggregator started. */
export const WHOLE_RUN = Number.POSITIVE_INFINITY;

/**
 * Two significant digits (1 % resolution) instead of the library's three:
 * with ~100 rings of histograms per (device, stat) the counts arrays are
 * 8x smaller, and burst sizes need no finer resolution. autoResize starts
 * each histogram tiny; it grows (allocates) only when a larger value than
 * ever before arrives, never per tick, and reset() keeps the grown array.
 */
export function newWindowHistogram(): Histogram {
  return build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 2, numberOfSignificantValueDigits: 2, useWebAssembly: false });
}

class HistogramRing {
  private readonly ids: Float64Array;
  private readonly hists: (Histogram | null)[];

  constructor(
    readonly slotMs: number,
    readonly slots: number,
  ) {
    this.ids = new Float64Array(slots + 1).fill(-1);
    this.hists = new Array<Histogram | null>(slots + 1).fill(null);
  }

  record(timeMs: number, value: number, count: number): void {
    const id = Math.floor(timeMs / this.slotMs);
    const pos = id % this.ids.length;
    const cur = this.ids[pos]!;
    let h = this.hists[pos] ?? null;
    if (cur !== id) {
      // A value older than what the slot now holds belongs to a slot that
      // has already rotated out of every window.
      if (cur > id) return;
      if (h === null) {
        h = newWindowHistogram();
        this.hists[pos] = h;
      } else {
        h.reset();
      }
      this.ids[pos] = id;
    }
    if (count === 1) h!.recordValue(value);
    else h!.recordValueWithCount(value, count);
  }

  mergeInto(target: Histogram, nowMs: number): void {
    const idNow = Math.floor(nowMs / this.slotMs);
    for (let pos = 0; pos < this.ids.length; pos++) {
      const id = this.ids[pos]!;
      const h = this.hists[pos];
      if (h && id >= idNow - this.slots && id <= idNow) target.add(h);
    }
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

class Window {
  readonly burstDuration: HistogramRing;
  readonly burstSize: HistogramRing;
  readonly second: HistogramRing;
  readonly tickRate: MaxRing;
  readonly slotMs: number;

  readonly slots: number;

  constructor(
    readonly windowMs: number,
    slots: number,
  ) {
    // WHOLE_RUN: one slot of infinite length, whose number is always 0.
    this.slots = Number.isFinite(windowMs) ? slots : 1;
    this.slotMs = windowMs / this.slots;
    this.burstDuration = new HistogramRing(this.slotMs, this.slots);
    this.burstSize = new HistogramRing(this.slotMs, this.slots);
    this.second = new HistogramRing(this.slotMs, this.slots);
    this.tickRate = new MaxRing(this.slotMs, this.slots);
  }
}

export class StatWindows {
  private readonly windows: Window[];

  constructor(windowsMs: readonly number[] = DEFAULT_WINDOWS_MS, slots: number = DEFAULT_WINDOW_SLOTS) {
    this.windows = windowsMs.map((w) => new Window(w, slots));
  }

  get windowsMs(): number[] {
    return this.windows.map((w) => w.windowMs);
  }

  /** A finished burst, placed at its end time. */
  recordBurst(endMs: number, durationMs: number, increase: number): void {
    const d = Math.round(durationMs);
    for (let i = 0; i < this.windows.length; i++) {
      const w = this.windows[i]!;
      w.burstDuration.record(endMs, d, 1);
      w.burstSize.record(endMs, increase, 1);
    }
  }

  /** `count` consecutive seconds from unix second `second` with this increase each. */
  recordSeconds(second: number, increase: number, count: number): void {
    for (let i = 0; i < this.windows.length; i++) {
      const w = this.windows[i]!;
      // Seconds in one slot go in with one call; a run crossing slots is split.
      let s = second;
      let left = count;
      // Only the newest seconds can still be inside the widest read.
      const cover = Math.ceil((w.windowMs + w.slotMs) / 1000) + 1;
      if (left > cover) {
        s += left - cover;
        left = cover;
      }
      while (left > 0) {
        const slotEnd = (Math.floor((s * 1000) / w.slotMs) + 1) * w.slotMs;
        const inSlot = Math.min(left, Math.max(1, Math.ceil(slotEnd / 1000 - s)));
        w.second.record(s * 1000, increase, inSlot);
        s += inSlot;
        left -= inSlot;
      }
    }
  }

  /** An increasing tick's rate (per second). */
  recordTickRate(timeMs: number, ratePerSecond: number): void {
    for (let i = 0; i < this.windows.length; i++) this.windows[i]!.tickRate.record(timeMs, ratePerSecond);
  }

  /** Highest per-tick rate in the window of this length as read at nowMs (0 if none, NaN for a length not kept). Allocates nothing. */
  peakTickRate(windowMs: number, nowMs: number): number {
    for (let i = 0; i < this.windows.length; i++) if (this.windows[i]!.windowMs === windowMs) return this.windows[i]!.tickRate.max(nowMs);
    return Number.NaN;
  }

  /** All windows as read at nowMs (allocates; for scrapes and the API, not ticks). */
  snapshot(nowMs: number): WindowSnapshot[] {
    return this.windows.map((w) => {
      const burstDurationMs = newWindowHistogram();
      const burstSize = newWindowHistogram();
      const secondIncrease = newWindowHistogram();
      w.burstDuration.mergeInto(burstDurationMs, nowMs);
      w.burstSize.mergeInto(burstSize, nowMs);
      w.second.mergeInto(secondIncrease, nowMs);
      return {
        windowMs: w.windowMs,
        fromMs: Number.isFinite(w.windowMs) ? (Math.floor(nowMs / w.slotMs) - w.slots) * w.slotMs : Number.NaN,
        toMs: nowMs,
        burstDurationMs,
        burstSize,
        secondIncrease,
        peakTickRatePerSecond: w.tickRate.max(nowMs),
      };
    });
  }
}
