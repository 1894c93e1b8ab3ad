// Per-device counter increases: resets, failed reads and epochs. One
// DeviceDeltas per device; it owns preallocated typed arrays sized for the
// device's layout and reallocates them only when the layout changes, so a
// tick costs no allocation.
//
// This is the one place that decides what a sample stream means: the live
// exporter, `watch`, `record` -> `analyze` and replay all feed it the same
// samples (values, error, layout generation) and get the same answers. The
// rules (issue 11, replacing issue 3's all-zero rule):
//   1. An error is counted and skipped; the next good sample pairs with the
//      last good one, so drops during the error window are not lost. Only a
//      new layout generation (names changed, interface re-created) starts an
//      epoch.
//   2. Bogus read: on a device that has `conntrack_allowance_available`, all
//      six customer metrics at 0 in one sample is a failed admin command (the
//      ENA customer-metrics path returns a zeroed buffer): dropped and
//      counted, at start-up too. A live device never has zero connections
//      available while its exceeded counter stands still.
//   3. Suspect run: every `*_allowance_exceeded` at 0 while the last accepted
//      sample had a non-zero one. Consecutive suspects (errors and bogus reads
//      may be interleaved) are held until a sample that is neither: if its
//      allowance values are all >= those before the run, the run was failed
//      reads (dropped, counted); otherwise the device reset at the first
//      suspect. A rise of the driver's own `total_resets` settles it at once
//      as a reset. A run that never resolves keeps the last good values.
//
// Results are pushed to a DeltaReceiver (an object, not closures) because a
// single input sample can release several accepted samples: a held run that
// turns out to be a genuine reset, then the sample that decided it.

import { ALLOWANCE_EXCEEDED, CONNTRACK_AVAILABLE } from './stat-policy.js';
import type { DeviceLayout, Sample } from '../sampling/sample.js';
import { u64Less, u64Sub, u64ToNumber, u64ToString } from '../sampling/u64.js';

/**
 * 'error': an error record. 'bogus': all six customer metrics read 0 (rule 2).
 * 'suspect': a held all-zero read proven failed by the sample after it (or
 * left undecided at the end of the stream).
 */
export type FailedReadKind = 'error' | 'bogus' | 'suspect';

/** Stats the ENA device itself reports (customer metrics, SRD), as opposed to driver counters. */
const DEVICE_SOURCED = /_allowance_(exceeded|available)$|^ena_srd_(tx|rx|eligible_tx)_pkts$/;
/** The ENA driver's own reset counter (amzn driver 2.10+). */
const TOTAL_RESETS = 'total_resets';

export interface DeltaReceiver {
  /**
   * A new epoch starts with the next accepted sample: first sample of the
   * device, layout change, or the device reappearing (at `eventMs`).
   * `trackedNames`, `inc` and `isReset` may have been reallocated.
   */
  epochStarted(d: DeviceDeltas): void;
  /**
   * A sample was accepted. `timeMs`, `prevTimeMs` (NaN on the first sample
   * of an epoch), `inc` and `isReset` describe it; `good` already holds its
   * raw values. Valid only during the call.
   */
  accepted(d: DeviceDeltas): void;
  /** A read that yields no data (error record, bogus read, dropped suspect), at `eventMs`. */
  failedRead(d: DeviceDeltas, kind: FailedReadKind): void;
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
  /** Last accepted raw value of every stat of the current layout (u64 lo/hi pairs). */
  good: Uint32Array = EMPTY_U32;
  /** Whether `good` holds a sample of the current epoch. */
  hasGood = false;
  goodTimeMs = Number.NaN;
  /**
   * What the last accepted sample said, names and values together: unlike
   * `names`/`good`, they never change between an epoch's start and its first
   * accepted sample, so a bogus read there cannot show as a zero counter.
   */
  shownNames: readonly string[] = [];
  shownValues: Uint32Array = EMPTY_U32;

  /** Positions in the layout of the tracked stats, and their names. */
  trackedPos: Int32Array = EMPTY_I32;
  trackedNames: string[] = [];
  /** Per tracked stat, for the sample being delivered. */
  inc: Float64Array = EMPTY_F64;
  isReset: Uint8Array = EMPTY_U8;
  timeMs = Number.NaN;
  prevTimeMs = Number.NaN;
  /**
   * Time of what is being reported to the receiver or accepted. Times travel
   * in fields, never as arguments: a double passed to a call the JIT did not
   * inline is boxed on the heap, one allocation per sample.
   */
  eventMs = Number.NaN;
  /** Whether the device's own counters (see devicePos) changed with the sample being delivered. */
  changed = false;
  /** Whether conntrack_allowance_available moved with it: a refresh of the device, whatever the traffic. */
  gaugeChanged = false;

  /** Positions of `*_allowance_exceeded`: the stats a failed ENA admin command zeroes. */
  private allowPos: Int32Array = EMPTY_I32;
  /** Position of conntrack_allowance_available, -1 when the device lacks it. */
  private availablePos = -1;
  private totalResetsPos = -1;
  /**
   * The counters the device itself refreshes: the customer metrics (and SRD
   * counters) where the device has them, else the tracked stats. What moves
   * in them is the evidence of its update period.
   */
  private devicePos: Int32Array = EMPTY_I32;
  /** The held suspect run: its first and its latest sample, and its length. */
  private runFirst: Uint32Array = EMPTY_U32;
  private runLast: Uint32Array = EMPTY_U32;
  private runFirstMs = Number.NaN;
  private runLastMs = Number.NaN;
  private runLength = 0;
  private newEpochPending = true;

  // Counters for diagnostics and tests.
  accepted = 0;
  errors = 0;
  bogusDropped = 0;
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

  process(s: Readonly<Sample>, r: DeltaReceiver): void {
    this.eventMs = s.timeMs;
    if (s.error !== null) {
      this.errors++;
      r.failedRead(this, 'error');
      return;
    }
    const layout = s.layout;
    if (this.newEpochPending || layout.generation !== this.generation || layout.names.length !== this.names.length) {
      // A held run followed by a layout change: the driver re-queries its
      // metric set after a device reset, so the zeros were genuine.
      if (this.runLength > 0) this.releaseRun(r);
      this.startEpoch(layout, s.driver, r);
    }
    const v = s.values;
    if (this.isBogus(v)) {
      this.bogusDropped++;
      r.failedRead(this, 'bogus');
      return;
    }
    if (this.hasGood && this.allowanceZeroAfterNonZero(v)) {
      this.holdSuspect(v);
      // The driver counted a reset of its own: no need to wait for proof.
      if (this.totalResetsRose(v)) this.releaseRun(r);
      return;
    }
    if (this.runLength > 0) {
      if (this.allowanceAtLeastGood(v)) this.dropRun(r);
      else this.releaseRun(r);
    }
    this.accept(v, r);
  }

  /**
   * Ends the device's stream (removal, end of input, shutdown). A held run
   * that nothing can judge any more is discarded and the last good values
   * stay: nothing shows the zeros were real, and a bogus reset would be
   * worse than a missed one.
   */
  discardSuspect(r: DeltaReceiver): void {
    if (this.runLength === 0) return;
    this.suspectsDiscarded += this.runLength;
    this.emitRunFailed(r);
  }

  /** Exact decimal text of the last accepted raw value of `name`, or undefined. Allocates. */
  rawString(name: string): string | undefined {
    if (!this.hasGoodEver) return undefined;
    const i = this.shownNames.indexOf(name);
    if (i < 0) return undefined;
    return u64ToString(this.shownValues[2 * i]!, this.shownValues[2 * i + 1]!);
  }

  /** True once any sample was accepted (the shown values survive epoch changes until the next accept). */
  get hasGoodEver(): boolean {
    return this.accepted > 0;
  }

  private startEpoch(layout: DeviceLayout, driver: string, r: DeltaReceiver): void {
    this.newEpochPending = false;
    this.hasGood = false;
    this.epochs++;
    this.driver = driver;
    if (layout.generation !== this.generation || layout.names.length !== this.names.length || layout.names !== this.names) {
      this.generation = layout.generation;
      this.names = layout.names;
      const n = layout.names.length;
      // Fresh arrays: shownValues may still be the old `good` and must keep
      // the last accepted values until this epoch accepts one.
      this.good = new Uint32Array(2 * n);
      this.runFirst = new Uint32Array(2 * n);
      this.runLast = new Uint32Array(2 * n);
      const tracked: number[] = [];
      const allow: number[] = [];
      for (let i = 0; i < n; i++) {
        const name = layout.names[i]!;
        if (this.isTracked(name)) tracked.push(i);
        if (ALLOWANCE_EXCEEDED.test(name)) allow.push(i);
      }
      this.trackedPos = Int32Array.from(tracked);
      const own = layout.names.flatMap((name, i) => (DEVICE_SOURCED.test(name) ? [i] : []));
      this.devicePos = own.length > 0 ? Int32Array.from(own) : this.trackedPos;
      this.trackedNames = tracked.map((i) => layout.names[i]!);
      this.allowPos = Int32Array.from(allow);
      this.availablePos = layout.names.indexOf(CONNTRACK_AVAILABLE);
      this.totalResetsPos = layout.names.indexOf(TOTAL_RESETS);
      this.inc = new Float64Array(tracked.length);
      this.isReset = new Uint8Array(tracked.length);
    }
    r.epochStarted(this);
  }

  /** Rule 2: the device has conntrack_allowance_available, and it and every allowance counter read 0. */
  private isBogus(v: Uint32Array): boolean {
    const a = this.availablePos;
    if (a < 0 || v[2 * a] !== 0 || v[2 * a + 1] !== 0) return false;
    const pos = this.allowPos;
    for (let j = 0; j < pos.length; j++) {
      const p = 2 * pos[j]!;
      if (v[p] !== 0 || v[p + 1] !== 0) return false;
    }
    return true;
  }

  /** Rule 3: every allowance stat reads 0 while at least one was non-zero in the last accepted sample. */
  private allowanceZeroAfterNonZero(v: Uint32Array): boolean {
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

  private totalResetsRose(v: Uint32Array): boolean {
    const p = 2 * this.totalResetsPos;
    return p >= 0 && u64Less(this.good[p]!, this.good[p + 1]!, v[p]!, v[p + 1]!);
  }

  /**
   * The judgement of a held run: the allowance stats of the sample after it
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

  private holdSuspect(v: Uint32Array): void {
    if (this.runLength === 0) {
      copyValues(v, this.runFirst);
      this.runFirstMs = this.eventMs;
    } else {
      copyValues(v, this.runLast);
      this.runLastMs = this.eventMs;
    }
    this.runLength++;
  }

  /** The run was failed reads: drop it, count every sample of it. */
  private dropRun(r: DeltaReceiver): void {
    this.suspectsDropped += this.runLength;
    this.emitRunFailed(r);
  }

  private emitRunFailed(r: DeltaReceiver): void {
    const n = this.runLength;
    this.runLength = 0;
    // Only the first and latest times are kept (bounded memory for any run
    // length): the samples between are reported at the latest one's time.
    const now = this.eventMs;
    this.eventMs = this.runFirstMs;
    r.failedRead(this, 'suspect');
    this.eventMs = this.runLastMs;
    for (let i = 1; i < n; i++) r.failedRead(this, 'suspect');
    this.eventMs = now;
  }

  /**
   * The device genuinely reset at the run's first sample: accept it (a reset)
   * and, if the run was longer, its latest sample, which carries whatever the
   * stats that are not allowance counters did in between.
   */
  private releaseRun(r: DeltaReceiver): void {
    const n = this.runLength;
    this.runLength = 0;
    this.suspectsGenuine++;
    const now = this.eventMs;
    this.eventMs = this.runFirstMs;
    this.accept(this.runFirst, r);
    if (n > 1) {
      this.eventMs = this.runLastMs;
      this.accept(this.runLast, r);
    }
    this.eventMs = now;
  }

  /** Accepts `v`, read at `eventMs`. */
  private accept(v: Uint32Array, r: DeltaReceiver): void {
    const timeMs = this.eventMs;
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
      this.changed = false;
      this.gaugeChanged = false;
    } else {
      const own = this.devicePos;
      let changed = false;
      for (let j = 0; j < own.length && !changed; j++) {
        const p = 2 * own[j]!;
        changed = v[p] !== g[p] || v[p + 1] !== g[p + 1];
      }
      this.changed = changed;
      const a = 2 * this.availablePos;
      this.gaugeChanged = a >= 0 && (v[a] !== g[a] || v[a + 1] !== g[a + 1]);
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
    this.shownNames = this.names;
    this.shownValues = g;
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
