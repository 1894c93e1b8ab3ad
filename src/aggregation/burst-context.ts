// What was going on when a burst's drops began, kept at no cost per tick:
// each device's traffic (and conntrack gauge) in its last samples, the
// node's counters in the last ticks, and per tracked stat the onset of the
// open burst and the onsets learned from the finished ones. The aggregator
// feeds it the same way live and offline (a trace carries the traffic and
// the node's lines), so a burst's onset and diagnosis are the same numbers
// in /api/bursts and in `ethburst analyze`.

import type { NodeContext } from '../sampling/context.js';
import { sameNames, type DeviceLayout, type Sample } from '../sampling/sample.js';
import { CONNTRACK_AVAILABLE } from './stat-policy.js';
import type { Onset } from './diagnosis.js';
import type { LinkMoment } from '../talkers/top-talkers.js';

/** Samples (and node ticks) looked back over: enough for a held suspect read and a failed read or two between. */
const HISTORY = 16;
const TRAFFIC = 4;

/** One device's last samples: time, traffic (TRAFFIC_NAMES order) and the conntrack gauge. */
export class DeviceContext {
  private readonly times = new Float64Array(HISTORY).fill(Number.NaN);
  private readonly traffic = new Float64Array(HISTORY * TRAFFIC);
  private readonly gauge = new Float64Array(HISTORY);
  private next = 0;
  private layout: DeviceLayout | null = null;
  private gaugePos = -1;

  record(s: Readonly<Sample>): void {
    if (s.layout !== this.layout) {
      this.layout = s.layout;
      this.gaugePos = s.layout.index.get(CONNTRACK_AVAILABLE) ?? -1;
    }
    const i = this.next;
    this.next = (i + 1) % HISTORY;
    this.times[i] = s.timeMs;
    for (let k = 0; k < TRAFFIC; k++) this.traffic[i * TRAFFIC + k] = s.traffic[k]!;
    const p = this.gaugePos;
    this.gauge[i] = p < 0 ? Number.NaN : s.values[2 * p + 1]! * 4294967296 + s.values[2 * p]!;
  }

  /** Packets both ways in the newest good sample (NaN: none, or not known). */
  newestPackets(): number {
    const i = (this.next + HISTORY - 1) % HISTORY;
    if (Number.isNaN(this.times[i]!)) return Number.NaN;
    return this.traffic[i * TRAFFIC]! + this.traffic[i * TRAFFIC + 1]!;
  }

  /** The time of the newest good sample (NaN: none). */
  newestTime(): number {
    return this.times[(this.next + HISTORY - 1) % HISTORY]!;
  }

  /** The slot of the sample taken at exactly t, or -1 when it is no longer kept. */
  find(t: number): number {
    for (let i = 0; i < HISTORY; i++) if (this.times[i] === t) return i;
    return -1;
  }

  /**
   * Traffic rates over (prevMs, timeMs] into `out`, and the gauge at prevMs:
   * what the interface carried in the interval the first drops were counted
   * in, and the connections still available just before.
   */
  onset(prevMs: number, timeMs: number, out: OnsetFields): void {
    const a = this.find(prevMs);
    const b = this.find(timeMs);
    const dt = (timeMs - prevMs) / 1000;
    const ok = a >= 0 && b >= 0 && dt > 0;
    const r = (k: number): number => (ok ? (this.traffic[b * TRAFFIC + k]! - this.traffic[a * TRAFFIC + k]!) / dt : Number.NaN);
    out.rxPacketsPerSecond = r(0);
    out.txPacketsPerSecond = r(1);
    out.rxBitsPerSecond = r(2) * 8;
    out.txBitsPerSecond = r(3) * 8;
    out.conntrackAvailable = a >= 0 ? this.gauge[a]! : Number.NaN;
  }
}

/** An Onset that is filled in place. */
export interface OnsetFields extends Onset {
  rxPacketsPerSecond: number;
  txPacketsPerSecond: number;
  rxBitsPerSecond: number;
  txBitsPerSecond: number;
  conntrackAvailable: number;
}

export function unknownOnset(): OnsetFields {
  return { rxPacketsPerSecond: Number.NaN, txPacketsPerSecond: Number.NaN, rxBitsPerSecond: Number.NaN, txBitsPerSecond: Number.NaN, conntrackAvailable: Number.NaN };
}

export function copyOnset(from: Onset, to: OnsetFields): void {
  to.rxPacketsPerSecond = from.rxPacketsPerSecond;
  to.txPacketsPerSecond = from.txPacketsPerSecond;
  to.rxBitsPerSecond = from.rxBitsPerSecond;
  to.txBitsPerSecond = from.txBitsPerSecond;
  to.conntrackAvailable = from.conntrackAvailable;
}

/** The node's counters in its last ticks. */
export class NodeHistory {
  names: readonly string[] = [];
  private times = new Float64Array(HISTORY).fill(Number.NaN);
  private values = new Float64Array(0);
  private next = 0;

  record(c: Readonly<NodeContext>): void {
    if (c.names !== this.names) {
      if (!sameNames(c.names, this.names)) {
        // New names (a trace from another version): what was kept means something else.
        this.values = new Float64Array(HISTORY * c.names.length);
        this.times.fill(Number.NaN);
      }
      this.names = c.names;
    }
    const n = this.names.length;
    const i = this.next;
    this.next = (i + 1) % HISTORY;
    this.times[i] = c.timeMs;
    for (let k = 0; k < n; k++) this.values[i * n + k] = k < c.values.length ? c.values[k]! : Number.NaN;
  }

  /** Copies the newest node reading taken at or before t into `out` (NaN when none is kept). */
  at(t: number, out: Float64Array): void {
    // Nearly always the newest reading: a tick's samples follow its node read.
    const last = (this.next + HISTORY - 1) % HISTORY;
    let best = this.times[last]! <= t ? last : -1;
    if (best < 0) {
      for (let i = 0; i < HISTORY; i++) {
        const ti = this.times[i]!;
        if (ti <= t && (best < 0 || ti > this.times[best]!)) best = i;
      }
    }
    const n = this.names.length;
    for (let k = 0; k < out.length; k++) out[k] = best >= 0 && k < n ? this.values[best * n + k]! : Number.NaN;
  }
}

/** How many onsets a learned onset is the median of. */
export const LEARNED_ONSETS = 16;
/** Onsets needed before one is called learned. */
export const MIN_LEARNED_ONSETS = 3;

/** Per tracked stat: the open burst's onset and node readings, and the onsets of the last finished bursts. */
export class OnsetTrack {
  readonly onset = unknownOnset();
  /** The pods' veths at or before the open burst's start (null: none known). */
  links: LinkMoment | null = null;
  /**
   * The first snapshot at or after the open burst's end so far (null: none
   * yet, or the burst went on past it). Kept here, not looked up when the
   * burst is finished: a long --burst-gap polled fast outlasts the few
   * snapshots the aggregator keeps.
   */
  linksAfter: LinkMoment | null = null;
  /** Node counters before the first drop and at the last one (sized to the node's names). */
  startNode = new Float64Array(0);
  endNode = new Float64Array(0);
  private readonly recent = new Float64Array(LEARNED_ONSETS);
  private readonly sorted = new Float64Array(LEARNED_ONSETS);
  private recentCount = 0;
  private recentNext = 0;

  /** Sizes the node arrays to the node's names (allocates only when they change). */
  fit(n: number): void {
    if (this.startNode.length !== n) {
      this.startNode = new Float64Array(n);
      this.endNode = new Float64Array(n);
    }
  }

  /** Median of the last onsets, or NaN before MIN_LEARNED_ONSETS of them. */
  learned(): number {
    const n = this.recentCount;
    if (n < MIN_LEARNED_ONSETS) return Number.NaN;
    const v = this.sorted;
    // Insertion sort of at most 16 values, in place: no array per burst.
    for (let i = 0; i < n; i++) {
      const x = this.recent[i]!;
      let j = i;
      for (; j > 0 && v[j - 1]! > x; j--) v[j] = v[j - 1]!;
      v[j] = x;
    }
    const m = n >> 1;
    return n % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  }

  /** Onsets learned from so far. */
  get count(): number {
    return this.recentCount;
  }

  learn(value: number): void {
    if (!Number.isFinite(value)) return;
    this.recent[this.recentNext] = value;
    this.recentNext = (this.recentNext + 1) % LEARNED_ONSETS;
    if (this.recentCount < LEARNED_ONSETS) this.recentCount++;
  }
}

