// Reader side of the sample ring that the native thread writes (layout in
// native/ring.h; change both together). JavaScript owns the memory: a
// SharedArrayBuffer viewed as u32 words, read without allocation: u64
// fields are read as (lo, hi) halves, never through BigUint64Array.

import { endianness } from 'node:os';

export const RING_MAGIC = 0x31524245;
export const HEADER_U32 = 16;
const H_CAPACITY = 1;
const H_WRITE = 2;
const H_READ = 3;
const H_OVERRUNS = 4;
const H_TICKS = 5;
const H_MISSED = 6;
const H_STATE = 7;

export const KIND_PAD = 1;
export const KIND_SAMPLE = 2;
export const KIND_TICK = 3;
export const KIND_INTERVAL = 4;

/** Why the native sampler changed a device's interval (native/ring.h IntervalReason). */
export const INTERVAL_REASONS: Readonly<Record<number, string>> = { 1: 'slow', 2: 'error', 3: 'admin_queue', 4: 'recovered' };
export const SAMPLE_HEADER_WORDS = 6;
export const TICK_WORDS = 5;

const TWO_32 = 4294967296;

if (endianness() !== 'LE') throw new Error('ethburst reads the sample ring as little-endian u32 halves');

/** Allocates ring memory for `capacityWords` u64 words (rounded up to a power of two). */
export function createRing(capacityWords: number): Uint32Array {
  let cap = 64;
  while (cap < capacityWords) cap *= 2;
  const ring = new Uint32Array(new SharedArrayBuffer((HEADER_U32 + 2 * cap) * 4));
  // Touch every page now: otherwise RSS creeps up for minutes as the sampler
  // writes its way through fresh pages, which looks like a leak.
  for (let i = 0; i < ring.length; i += 1024) ring[i] = 0;
  ring[0] = RING_MAGIC;
  ring[H_CAPACITY] = cap;
  return ring;
}

export interface RingHandler {
  /**
   * A sample record. `valuesAt` is the u32 index in `ring` of value 0's low
   * half (value i: ring[valuesAt + 2i], ring[valuesAt + 2i + 1]).
   */
  sample(id: number, generation: number, monoNs: number, wallNs: number, ioctlNs: number, errno: number, n: number, ring: Uint32Array, valuesAt: number): void;
  tick(seq: number, deadlineNs: number, latenessNs: number, missed: number, devices: number): void;
  /** The native back-off changed a device's interval; `evidenceNs` is the p99 or the call that triggered it. */
  interval(id: number, reason: number, monoNs: number, intervalNs: number, evidenceNs: number): void;
}

/** Cumulative counters kept by the native thread, widened past u32 here. */
export interface RingCounters {
  overruns: number;
  ticks: number;
  missedTicks: number;
}

export class RingReader {
  readonly ring: Uint32Array;
  private readonly capacity: number;
  private readonly counters: RingCounters = { overruns: 0, ticks: 0, missedTicks: 0 };
  private lastOverruns = 0;
  private lastTicks = 0;
  private lastMissed = 0;

  constructor(ring: Uint32Array) {
    if (ring[0] !== RING_MAGIC) throw new Error('ring header is not initialised');
    this.ring = ring;
    this.capacity = ring[H_CAPACITY]!;
  }

  /** Words waiting to be read. */
  pending(): number {
    return (Atomics.load(this.ring, H_WRITE) - Atomics.load(this.ring, H_READ)) >>> 0;
  }

  get threadState(): number {
    return Atomics.load(this.ring, H_STATE);
  }

  /** Counters as of the last drain (u32 native counters accumulated without wrap). */
  get totals(): Readonly<RingCounters> {
    return this.counters;
  }

  /** Delivers every complete record to `h` and frees their space. Returns the number of records. */
  drain(h: RingHandler): number {
    const ring = this.ring;
    const mask = this.capacity - 1;
    const write = Atomics.load(ring, H_WRITE);
    let read = Atomics.load(ring, H_READ);
    let records = 0;
    while (read !== write) {
      const at = HEADER_U32 + 2 * (read & mask);
      const words = ring[at]!;
      const kind = ring[at + 1]!;
      if (kind === KIND_SAMPLE) {
        h.sample(
          ring[at + 2]!,
          ring[at + 3]!,
          ring[at + 5]! * TWO_32 + ring[at + 4]!,
          ring[at + 7]! * TWO_32 + ring[at + 6]!,
          ring[at + 9]! * TWO_32 + ring[at + 8]!,
          ring[at + 10]!,
          ring[at + 11]!,
          ring,
          at + 2 * SAMPLE_HEADER_WORDS,
        );
        records++;
      } else if (kind === KIND_TICK) {
        h.tick(ring[at + 3]! * TWO_32 + ring[at + 2]!, ring[at + 5]! * TWO_32 + ring[at + 4]!, ring[at + 7]! * TWO_32 + ring[at + 6]!, ring[at + 8]!, ring[at + 9]!);
        records++;
      } else if (kind === KIND_INTERVAL) {
        h.interval(ring[at + 2]!, ring[at + 3]!, ring[at + 5]! * TWO_32 + ring[at + 4]!, ring[at + 7]! * TWO_32 + ring[at + 6]!, ring[at + 9]! * TWO_32 + ring[at + 8]!);
        records++;
      } else if (kind !== KIND_PAD || words === 0) {
        throw new Error(`corrupt sample ring: kind ${kind}, length ${words} at ${read}`);
      }
      read = (read + words) >>> 0;
      // Free each record as soon as it is consumed so a slow handler does
      // not make the producer drop records it could have kept.
      Atomics.store(ring, H_READ, read);
    }
    this.updateCounters();
    return records;
  }

  private updateCounters(): void {
    const ring = this.ring;
    const o = Atomics.load(ring, H_OVERRUNS);
    const t = Atomics.load(ring, H_TICKS);
    const m = Atomics.load(ring, H_MISSED);
    this.counters.overruns += (o - this.lastOverruns) >>> 0;
    this.counters.ticks += (t - this.lastTicks) >>> 0;
    this.counters.missedTicks += (m - this.lastMissed) >>> 0;
    this.lastOverruns = o;
    this.lastTicks = t;
    this.lastMissed = m;
  }
}
