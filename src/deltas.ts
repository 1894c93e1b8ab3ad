// Per-device counter increases: resets, failed reads and epochs, exactly as
// issue 3 defines them. One DeviceDeltas per device; it owns preallocated
// typed arrays sized for the device's layout and reallocates them only when
// the layout changes, so a tick costs no allocation.
//
// Results are pushed to a DeltaReceiver (an object, not closures) because a
// single input sample can release two accepted samples: a held all-zero read
// that turns out to be a genuine reset, then the sample that decided it.

import { ALLOWANCE_EXCEEDED } from './ena-stats.js';
import type { DeviceLayout, Sample } from './sample.js';
import { u64Less, u64Sub, u64ToNumber, u64ToString } from './u64.js';

/** 'error': an error record. 'suspect': an all-zero read dropped as a failed admin command (or left undecided at the end). */
export type FailedReadKind = 'error' | 'suspect';

export interface DeltaReceiver {
  /**
   * A new epoch starts with the next accepted sample: first sample of the
   * device, layout change, or the device reappearing. `trackedNames`, `inc`
   * and `isReset` may have been reallocated.
   */
  epochStarted(d: DeviceDeltas, timeMs: number): void;
  /**
   * A sample was accepted. `timeMs`, `prevTimeMs` (NaN on the first sample
   * of an epoch), `inc` and `isReset` describe it; `good` already holds its
   * raw values. Valid only during the call.
   */
  accepted(d: DeviceDeltas): void;
  /** A read that yields no data (error record or dropped all-zero read). */
  failedRead(d: DeviceDeltas, timeMs: number, kind: FailedReadKind): void;
}

const EMPTY_U32 = new Uint32Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_F64 = new Float64Array(0);
const EMPTY_U8 = new Uint8Array(0);

export class DeviceDeltas {
  readonly device: string;
  driver = '';
  /** Layout generation of the current epoch; -1 before the first sample. */
  generation = -1;
  names: readonly string[] = [];
  /** Last accepted raw value of every stat (u64 lo/hi pairs); never a dropped bogus zero. */
  good: Uint32Array = EMPTY_U32;
  /** Whether `good` holds a sample of the current epoch. */
  hasGood = false;
  goodTimeMs = Number.NaN;

  /** Positions in the layout of the tracked stats, and their names. */
  trackedPos: Int32Array = EMPTY_I32;
  trackedNames: string[] = [];
  /** Per tracked stat, for the sample being delivered. */
  inc: Float64Array = EMPTY_F64;
  isReset: Uint8Array = EMPTY_U8;
  timeMs = Number.NaN;
  prevTimeMs = Number.NaN;

  /** Positions of `*_allowance_exceeded`: the stats a failed ENA admin command zeroes. */
  private allowPos: Int32Array = EMPTY_I32;
  private suspect: Uint32Array = EMPTY_U32;
  private suspectPending = false;
  private suspectTimeMs = Number.NaN;
  private newEpochPending = true;

  // Counters for diagnostics and tests.
  accepted = 0;
  errors = 0;
  suspectsDropped = 0;
  suspectsGenuine = 0;
  suspectsDiscarded = 0;
  epochs = 0;

  private readonly isTracked: (name: string) => boolean;

  constructor(device: string, isTracked: (name: string) => boolean) {
    this.device = device;
    this.isTracked = isTracked;
  }

  /** The next sample starts a new epoch (device (re)appeared). */
  markNewEpoch(): void {
    this.newEpochPending = true;
  }

  /** Whether an all-zero read is being held for judgement. */
  get holdingSuspect(): boolean {
    return this.suspectPending;
  }

  process(s: Readonly<Sample>, r: DeltaReceiver): void {
    if (s.error !== null) {
      this.errors++;
      r.failedRead(this, s.timeMs, 'error');
      return;
    }
    const layout = s.layout;
    if (this.newEpochPending || layout.generation !== this.generation || layout.names.length !== this.names.length) {
      // A held zero read followed by a layout change: the driver re-queries
      // its metric set after a device reset, so treat the zeros as genuine.
      if (this.suspectPending) this.releaseSuspect(r);
      this.startEpoch(layout, s.driver, s.timeMs, r);
    }
    const v = s.values;
    if (this.suspectPending) {
      if (this.allowanceAtLeastGood(v)) {
        this.suspectPending = false;
        this.suspectsDropped++;
        r.failedRead(this, this.suspectTimeMs, 'suspect');
      } else {
        this.releaseSuspect(r);
      }
    } else if (this.hasGood && this.looksLikeFailedRead(v)) {
      this.holdSuspect(v, s.timeMs);
      return;
    }
    this.accept(v, s.timeMs, r);
  }

  /**
   * Ends the device's stream (removal, end of input, shutdown). A held zero
   * read that nothing can judge any more is discarded: nothing shows it was
   * real, and a bogus reset would be worse than a missed one.
   */
  discardSuspect(r: DeltaReceiver): void {
    if (!this.suspectPending) return;
    this.suspectPending = false;
    this.suspectsDiscarded++;
    r.failedRead(this, this.suspectTimeMs, 'suspect');
  }

  /** Exact decimal text of the last good raw value of `name`, or undefined. Allocates. */
  rawString(name: string): string | undefined {
    if (!this.hasGoodEver) return undefined;
    const i = this.names.indexOf(name);
    if (i < 0) return undefined;
    return u64ToString(this.good[2 * i]!, this.good[2 * i + 1]!);
  }

  /** True once any sample was accepted (good survives epoch changes until overwritten). */
  get hasGoodEver(): boolean {
    return this.accepted > 0;
  }

  private startEpoch(layout: DeviceLayout, driver: string, timeMs: number, r: DeltaReceiver): void {
    this.newEpochPending = false;
    this.hasGood = false;
    this.epochs++;
    this.driver = driver;
    if (layout.generation !== this.generation || layout.names.length !== this.names.length || layout.names !== this.names) {
      this.generation = layout.generation;
      this.names = layout.names;
      const n = layout.names.length;
      if (this.good.length !== 2 * n) {
        this.good = new Uint32Array(2 * n);
        this.suspect = new Uint32Array(2 * n);
      }
      const tracked: number[] = [];
      const allow: number[] = [];
      for (let i = 0; i < n; i++) {
        const name = layout.names[i]!;
        if (this.isTracked(name)) tracked.push(i);
        if (ALLOWANCE_EXCEEDED.test(name)) allow.push(i);
      }
      this.trackedPos = Int32Array.from(tracked);
      this.trackedNames = tracked.map((i) => layout.names[i]!);
      this.allowPos = Int32Array.from(allow);
      this.inc = new Float64Array(tracked.length);
      this.isReset = new Uint8Array(tracked.length);
    }
    r.epochStarted(this, timeMs);
  }

  /** Every allowance stat reads 0 while at least one was non-zero in the last good sample. */
  private looksLikeFailedRead(v: Uint32Array): boolean {
    const pos = this.allowPos;
    if (pos.length === 0) return false;
    let before = false;
    for (let j = 0; j < pos.length; j++) {
      const p = 2 * pos[j]!;
      if (v[p] !== 0 || v[p + 1] !== 0) return false;
      if (this.good[p] !== 0 || this.good[p + 1] !== 0) before = true;
    }
    return before;
  }

  /**
   * The judgement of a held read: the allowance stats of the sample after it
   * are all >= their values before it. Queue counters are not compared: a
   * failed admin command does not touch them, so they would always pass.
   */
  private allowanceAtLeastGood(v: Uint32Array): boolean {
    const pos = this.allowPos;
    const g = this.good;
    for (let j = 0; j < pos.length; j++) {
      const p = 2 * pos[j]!;
      if (u64Less(v[p]!, v[p + 1]!, g[p]!, g[p + 1]!)) return false;
    }
    return true;
  }

  private holdSuspect(v: Uint32Array, timeMs: number): void {
    copyValues(v, this.suspect);
    this.suspectTimeMs = timeMs;
    this.suspectPending = true;
  }

  private releaseSuspect(r: DeltaReceiver): void {
    this.suspectPending = false;
    this.suspectsGenuine++;
    this.accept(this.suspect, this.suspectTimeMs, r);
  }

  private accept(v: Uint32Array, timeMs: number, r: DeltaReceiver): void {
    const g = this.good;
    const pos = this.trackedPos;
    const inc = this.inc;
    const isReset = this.isReset;
    if (!this.hasGood) {
      for (let j = 0; j < pos.length; j++) {
        inc[j] = 0;
        isReset[j] = 0;
      }
      this.prevTimeMs = Number.NaN;
    } else {
      for (let j = 0; j < pos.length; j++) {
        const p = 2 * pos[j]!;
        const lo1 = v[p]!;
        const hi1 = v[p + 1]!;
        const lo0 = g[p]!;
        const hi0 = g[p + 1]!;
        if (u64Less(lo1, hi1, lo0, hi0)) {
          inc[j] = u64ToNumber(lo1, hi1);
          isReset[j] = 1;
        } else {
          inc[j] = u64Sub(lo1, hi1, lo0, hi0);
          isReset[j] = 0;
        }
      }
      this.prevTimeMs = this.goodTimeMs;
    }
    copyValues(v, g);
    this.hasGood = true;
    this.goodTimeMs = timeMs;
    this.timeMs = timeMs;
    this.accepted++;
    r.accepted(this);
  }
}

/** Copies the first dst.length values; a memcpy when the source has no headroom (no subarray view allocated). */
function copyValues(src: Uint32Array, dst: Uint32Array): void {
  if (src.length === dst.length) {
    dst.set(src);
    return;
  }
  const n = dst.length;
  for (let i = 0; i < n; i++) dst[i] = src[i]!;
}
