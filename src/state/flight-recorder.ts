// The flight recorder: the last minutes of every device's samples (the
// tracked stats and the conntrack gauge as the device reported them, its
// traffic, its failed reads) and of the node's counters, in rings allocated
// when a device first appears, so recording a tick allocates nothing. When
// a burst finishes, the recorder waits until it holds `postMs` past the
// burst's end and cuts a capture: the samples from `preMs` before the start
// to `postMs` after the end, which render as a trace `ethburst analyze`
// reads like any other.
//
// Values are kept as doubles: exact up to 2^53, which an allowance counter
// never reaches and a byte counter reaches only past 9 PB, where a rate
// cannot tell.

import { CONNTRACK_AVAILABLE, ALLOWANCE_STATS } from '../aggregation/stat-policy.js';
import { TRAFFIC_NAMES, type NodeContext } from '../sampling/context.js';
import { sameNames, type DeviceLayout, type Sample } from '../sampling/sample.js';
import { formatContextLine, formatLinksLine, formatRecordedLine } from '../sources/trace.js';
import type { LinkMoment } from '../talkers/top-talkers.js';

export const DEFAULT_RECORDER_SPAN_MS = 15 * 60_000;
export const DEFAULT_CAPTURE_PRE_MS = 30_000;
export const DEFAULT_CAPTURE_POST_MS = 30_000;

/** Stats every device tape keeps: the allowance counters and the conntrack gauge. */
const ALWAYS_RECORDED: readonly string[] = [...ALLOWANCE_STATS, CONNTRACK_AVAILABLE];
/** At most this many more tracked stats (`--burst-stat`) per device. */
const MAX_EXTRA_STATS = 8;

/**
 * A ring of rows: a time and `width` doubles each, oldest first. Times must
 * increase (the sources guarantee it per device and for the node).
 */
export class Tape {
  readonly times: Float64Array;
  readonly cells: Float64Array;
  private head = 0;
  size = 0;
  /** A row has been overwritten: the ring no longer holds everything since its start. */
  private wrapped = false;

  constructor(
    readonly capacity: number,
    readonly width: number,
  ) {
    this.times = new Float64Array(capacity);
    this.cells = new Float64Array(capacity * width);
    // Committed now, not page by page over the first span: the memory a
    // device costs shows at once, and RSS does not creep up like a leak.
    this.times.fill(0);
    this.cells.fill(0);
  }

  get bytes(): number {
    return this.times.byteLength + this.cells.byteLength;
  }

  /**
   * Appends a row (overwriting the oldest when full) and returns its ring
   * slot; the caller writes times[slot] and the cells from slot * width.
   * No number goes in: a double passed to a call that is not inlined is
   * boxed on the heap, once per tick.
   */
  append(): number {
    const slot = (this.head + this.size) % this.capacity;
    if (this.size < this.capacity) {
      this.size++;
    } else {
      this.head = (this.head + 1) % this.capacity;
      this.wrapped = true;
    }
    return slot;
  }

  /** Ring slot of the i-th oldest row. */
  slot(i: number): number {
    return (this.head + i) % this.capacity;
  }

  timeAt(i: number): number {
    return this.times[this.slot(i)]!;
  }

  /** Whether every row from time t on is still here: nothing at or after t has been overwritten. */
  holdsFrom(t: number): boolean {
    return !this.wrapped || (this.size > 0 && this.timeAt(0) <= t);
  }

  /** The oldest row index with time >= t, or with time > t when `after` (size when none). */
  firstAtOrAfter(t: number, after = false): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const tm = this.timeAt(mid);
      if (tm < t || (after && tm === t)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Copies the rows with fromMs <= t <= toMs out (allocates; once per capture). */
  copy(fromMs: number, toMs: number): { times: Float64Array; cells: Float64Array } {
    const a = this.firstAtOrAfter(fromMs);
    const b = this.firstAtOrAfter(toMs, true);
    const n = Math.max(0, b - a);
    const times = new Float64Array(n);
    const cells = new Float64Array(n * this.width);
    for (let i = 0; i < n; i++) {
      const s = this.slot(a + i);
      times[i] = this.times[s]!;
      cells.set(this.cells.subarray(s * this.width, (s + 1) * this.width), i * this.width);
    }
    return { times, cells };
  }
}

/** One device's tape: columns are its recorded stats, then traffic, then an error index. */
class DeviceTape {
  readonly tape: Tape;
  readonly stats: readonly string[];
  readonly trafficCol: number;
  readonly errorCol: number;
  /** Error codes by index - 1 (0 in the error column: a good read). */
  readonly errorCodes: string[] = [];
  driver: string;
  /** Finished bursts waiting for their post-burst samples. */
  pending: { burst: CaptureBurst; dueMs: number }[] = [];
  /** Earliest due time in `pending` (Infinity when none): what each sample compares against. */
  nextDueMs = Number.POSITIVE_INFINITY;
  /** Captures cut from this tape that may still read it (copied out when the device goes). */
  captures: Capture[] = [];
  /** Length of `captures` at which those no longer available are dropped (doubles with what stays: amortised O(1) per capture). */
  trimAt = 64;
  private layout: DeviceLayout | null = null;
  /** Layout position of each stat column; -1 where the layout has none. */
  private positions: Int32Array;

  constructor(
    readonly device: string,
    driver: string,
    stats: readonly string[],
    capacity: number,
  ) {
    this.driver = driver;
    this.stats = stats;
    this.trafficCol = stats.length;
    this.errorCol = stats.length + TRAFFIC_NAMES.length;
    this.tape = new Tape(capacity, this.errorCol + 1);
    this.positions = new Int32Array(stats.length).fill(-1);
  }

  record(s: Readonly<Sample>): void {
    const slot = this.tape.append();
    this.tape.times[slot] = s.timeMs;
    const at = slot * this.tape.width;
    const cells = this.tape.cells;
    const nStats = this.stats.length;
    if (s.error !== null) {
      for (let c = 0; c < this.errorCol; c++) cells[at + c] = Number.NaN;
      cells[at + this.errorCol] = this.errorIndex(s.error);
      return;
    }
    if (s.layout !== this.layout) this.remap(s.layout);
    const pos = this.positions;
    const values = s.values;
    for (let c = 0; c < nStats; c++) {
      const p = pos[c]!;
      // u64ToNumber inlined by hand, for the reason append() gives.
      cells[at + c] = p < 0 ? Number.NaN : values[2 * p + 1]! * 4294967296 + values[2 * p]!;
    }
    const traffic = s.traffic;
    for (let k = 0; k < TRAFFIC_NAMES.length; k++) cells[at + this.trafficCol + k] = traffic[k]!;
    cells[at + this.errorCol] = 0;
  }

  private remap(layout: DeviceLayout): void {
    this.layout = layout;
    this.positions = Int32Array.from(this.stats, (name) => layout.index.get(name) ?? -1);
  }

  private errorIndex(code: string): number {
    let i = this.errorCodes.indexOf(code);
    if (i < 0) i = this.errorCodes.push(code) - 1;
    return i + 1;
  }
}

/** The burst a capture is cut for. */
export interface CaptureBurst {
  readonly id: number;
  readonly device: string;
  readonly stat: string;
  readonly startMs: number;
  readonly endMs: number;
  /** The pod-veth snapshots its top pods came from: the capture carries them (at the samples they were taken after). */
  readonly links?: readonly LinkMoment[] | null;
}

/** Rows copied out of a tape. */
interface Rows {
  times: Float64Array;
  cells: Float64Array;
}

/**
 * A burst's samples and the node's counters around it; renders as a trace.
 * It reads the recorder's rings, which hold them for the recorder's span,
 * and copies nothing while they do: a burst costs no memory of its own.
 * Only when its device goes away are its rows copied out (the ring goes
 * with the device). Past the span, its start has been overwritten and it is
 * no longer available.
 */
export class Capture {
  private copied: { device: Rows; node: Rows } | null = null;

  constructor(
    readonly burst: CaptureBurst,
    readonly fromMs: number,
    readonly toMs: number,
    private readonly tape: DeviceTape,
    private readonly nodeTape: Tape | null,
    private readonly nodeNames: readonly string[],
  ) {}

  /** Whether its samples are still on record: in the rings from its start on, or copied out. */
  get available(): boolean {
    return this.copied !== null || (this.tape.tape.holdsFrom(this.fromMs) && (this.nodeTape === null || this.nodeTape.holdsFrom(this.fromMs)));
  }

  /** Memory of its own (only once copied out), bytes. */
  get bytes(): number {
    const c = this.copied;
    return c === null ? 0 : c.device.times.byteLength + c.device.cells.byteLength + c.node.times.byteLength + c.node.cells.byteLength;
  }

  /** Copies its rows out of the rings (its device is going away). */
  keep(): void {
    if (this.copied === null && this.available) this.copied = this.rows();
  }

  private rows(): { device: Rows; node: Rows } {
    if (this.copied !== null) return this.copied;
    return {
      device: this.tape.tape.copy(this.fromMs, this.toMs),
      node: this.nodeTape?.copy(this.fromMs, this.toMs) ?? { times: new Float64Array(0), cells: new Float64Array(0) },
    };
  }

  /** The capture as trace lines (node lines before the device samples they precede), each ending in a newline. */
  *lines(): Generator<string> {
    const { device, node } = this.rows();
    const stats = this.tape.stats;
    const width = stats.length + TRAFFIC_NAMES.length + 1;
    const nodeWidth = this.nodeNames.length;
    const ctx: NodeContext = { timeMs: 0, names: this.nodeNames, values: new Float64Array(nodeWidth) };
    // Each snapshot goes right after the device sample whose packets it was
    // paired with live (before them all when there was none yet), so a
    // replay pairs it the same way and ranks the same top pods.
    const links = (this.burst.links ?? [])
      .map((m) => ({ at: m.deviceTimes.get(this.burst.device) ?? Number.NaN, line: `${formatLinksLine(m.snap)}\n` }))
      .map((l) => ({ at: Number.isNaN(l.at) ? Number.NEGATIVE_INFINITY : l.at, line: l.line }))
      .sort((a, b) => a.at - b.at);
    let k = 0;
    let j = 0;
    for (let i = 0; i < device.times.length; i++) {
      const t = device.times[i]!;
      for (; k < links.length && links[k]!.at < t; k++) yield links[k]!.line;
      for (; j < node.times.length && node.times[j]! <= t; j++) {
        ctx.timeMs = node.times[j]!;
        ctx.values.set(node.cells.subarray(j * nodeWidth, (j + 1) * nodeWidth));
        const line = formatContextLine(ctx);
        if (line !== null) yield `${line}\n`;
      }
      const row = device.cells.subarray(i * width, (i + 1) * width);
      const err = row[width - 1]!;
      const error = err > 0 ? this.tape.errorCodes[err - 1]! : null;
      yield `${formatRecordedLine(t, this.burst.device, this.tape.driver, error, stats, row.subarray(0, stats.length), row.subarray(stats.length, width - 1))}\n`;
      for (; k < links.length && links[k]!.at === t; k++) yield links[k]!.line;
    }
    for (; k < links.length; k++) yield links[k]!.line;
  }

  /** The whole trace text (allocates the string). */
  text(): string {
    let out = '';
    for (const l of this.lines()) out += l;
    return out;
  }
}

export interface FlightRecorderOptions {
  /** Sampling interval, ms: sizes the rings. */
  readonly intervalMs: number;
  /** How much history each ring holds. Default 15 min. */
  readonly spanMs?: number;
  /** A capture starts this long before its burst. Default 30 s. */
  readonly preMs?: number;
  /** ... and ends this long after it. Default 30 s. */
  readonly postMs?: number;
  /** Which stats are tracked (recorded besides the allowance counters and the gauge). */
  readonly isTracked: (stat: string) => boolean;
  /** Called with each capture once its post-burst samples are in (or the device or the run ended first). */
  readonly onCapture: (c: Capture) => void;
  /** Called when a capture's rows were copied out of a ring that goes away (its memory is its own now). */
  readonly onKept?: (c: Capture) => void;
}

export class FlightRecorder {
  readonly spanMs: number;
  readonly preMs: number;
  readonly postMs: number;
  /** Rows each ring holds. */
  readonly capacity: number;
  private readonly tapes = new Map<string, DeviceTape>();
  private nodeTape: Tape | null = null;
  private nodeNames: readonly string[] = [];

  constructor(private readonly opts: FlightRecorderOptions) {
    this.spanMs = opts.spanMs ?? DEFAULT_RECORDER_SPAN_MS;
    this.preMs = opts.preMs ?? DEFAULT_CAPTURE_PRE_MS;
    this.postMs = opts.postMs ?? DEFAULT_CAPTURE_POST_MS;
    // One row per tick over the span, and a few for clocks that drift.
    this.capacity = Math.ceil(this.spanMs / opts.intervalMs) + 16;
  }

  /** Memory the rings hold, bytes (captures not included). */
  get bytes(): number {
    let n = this.nodeTape?.bytes ?? 0;
    for (const t of this.tapes.values()) n += t.tape.bytes;
    return n;
  }

  /** Bytes one device's ring holds. */
  deviceBytes(device: string): number {
    return this.tapes.get(device)?.tape.bytes ?? 0;
  }

  sample(s: Readonly<Sample>): void {
    let tape = this.tapes.get(s.device);
    if (tape === undefined) {
      // Tracked stats beyond the defaults are those of the first layout seen.
      const extra = s.layout.names.filter((n) => this.opts.isTracked(n) && !ALWAYS_RECORDED.includes(n)).slice(0, MAX_EXTRA_STATS);
      tape = new DeviceTape(s.device, s.driver, [...ALWAYS_RECORDED, ...extra], this.capacity);
      this.tapes.set(s.device, tape);
    }
    if (s.error === null) tape.driver = s.driver;
    tape.record(s);
    // No closure here: one capturing `s` would allocate its context on every call.
    if (s.timeMs >= tape.nextDueMs) this.cut(tape, s.timeMs);
  }

  context(c: Readonly<NodeContext>): void {
    if (this.nodeTape === null || c.names !== this.nodeNames) {
      // First node record, or a trace whose node lines changed their names: a new ring.
      if (this.nodeTape === null || !sameNames(this.nodeNames, c.names)) this.nodeTape = new Tape(this.capacity, c.names.length);
      this.nodeNames = c.names;
    }
    const tape = this.nodeTape;
    const slot = tape.append();
    tape.times[slot] = c.timeMs;
    const at = slot * tape.width;
    const values = c.values;
    for (let i = 0; i < tape.width; i++) tape.cells[at + i] = i < values.length ? values[i]! : Number.NaN;
  }

  /** A finished burst: its capture is cut once the device's samples reach `postMs` past its end. */
  burstFinished(burst: CaptureBurst): void {
    const tape = this.tapes.get(burst.device);
    if (tape === undefined) return;
    const dueMs = burst.endMs + this.postMs;
    tape.pending.push({ burst, dueMs });
    if (dueMs < tape.nextDueMs) tape.nextDueMs = dueMs;
  }

  /** The device is gone: its pending captures are cut with what there is, its captures copied out of its ring, and the ring freed. */
  deviceRemoved(device: string): void {
    const tape = this.tapes.get(device);
    if (tape === undefined) return;
    this.cut(tape, Number.POSITIVE_INFINITY);
    for (const c of tape.captures) {
      c.keep();
      this.opts.onKept?.(c);
    }
    tape.captures = [];
    this.tapes.delete(device);
  }

  /** End of the run: every pending capture is cut with what there is. */
  finish(): void {
    for (const tape of this.tapes.values()) this.cut(tape, Number.POSITIVE_INFINITY);
  }

  /** Whether a burst's capture is still waiting for its post-burst samples. */
  isPending(id: number): boolean {
    for (const t of this.tapes.values()) for (const p of t.pending) if (p.burst.id === id) return true;
    return false;
  }

  /** A capture of a burst now, from what the rings hold (for bursts still in progress or not yet due). */
  capture(burst: CaptureBurst): Capture | null {
    const tape = this.tapes.get(burst.device);
    if (tape === undefined) return null;
    // A finished burst still recording: as it was handed over (with its veth snapshots).
    burst = tape.pending.find((p) => p.burst.id === burst.id)?.burst ?? burst;
    const fromMs = burst.startMs - this.preMs;
    const toMs = burst.endMs + this.postMs;
    if (tape.tape.size === 0) return null;
    return new Capture(burst, fromMs, toMs, tape, this.nodeTape, this.nodeNames);
  }

  /** Cuts the device's captures due at nowMs (all of them for Infinity). */
  private cut(tape: DeviceTape, nowMs: number): void {
    const ready = tape.pending.filter((p) => p.dueMs <= nowMs);
    tape.pending = tape.pending.filter((p) => p.dueMs > nowMs);
    tape.nextDueMs = tape.pending.reduce((m, p) => Math.min(m, p.dueMs), Number.POSITIVE_INFINITY);
    for (const p of ready) {
      const c = this.capture(p.burst);
      if (c === null) continue;
      // Those whose rows are overwritten no longer need copying out: the list stays short.
      if (tape.captures.length >= tape.trimAt) {
        tape.captures = tape.captures.filter((x) => x.available);
        tape.trimAt = Math.max(64, 2 * tape.captures.length);
      }
      tape.captures.push(c);
      this.opts.onCapture(c);
    }
  }
}

