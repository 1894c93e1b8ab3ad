// Reader side of the sample ring that the native thread writes. The layout
// is defined once, in native/ring.h, and comes here as data from the addon
// (`ringLayout`), so nothing in JavaScript repeats an offset. JavaScript owns
// the memory: a SharedArrayBuffer viewed as u32 words, read without
// allocation: u64 fields are read as (lo, hi) halves, never through
// BigUint64Array.

import { endianness } from 'node:os';

/** native/ring.h as the addon exports it. */
export interface RingLayout {
  readonly magic: number;
  readonly headerU32: number;
  readonly header: {
    readonly magic: number;
    readonly capacity: number;
    readonly writePos: number;
    readonly readPos: number;
    readonly overruns: number;
    readonly ticks: number;
    readonly missedTicks: number;
    readonly threadState: number;
  };
  readonly kinds: { readonly pad: number; readonly sample: number; readonly tick: number; readonly interval: number; readonly layout: number; readonly context: number };
  /** Why the native sampler changed a device's interval, by reason code. */
  readonly intervalReasons: Readonly<Record<number, string>>;
  readonly sampleHeaderWords: number;
  /** Word of a sample record where its traffic values start. */
  readonly trafficWord: number;
  /** How many traffic values a sample record holds. */
  readonly trafficValues: number;
  readonly contextHeaderWords: number;
  readonly tickWords: number;
  readonly intervalWords: number;
  readonly layoutHeaderWords: number;
  /** Bytes per stat name in a layout record (ETH_GSTRING_LEN). */
  readonly nameBytes: number;
}

const TWO_32 = 4294967296;
const NAME_DECODER = new TextDecoder();

if (endianness() !== 'LE') throw new Error('ethburst reads the sample ring as little-endian u32 halves');

/** A u64 counter at u32 index `at` of the ring as a number; NaN for 2^64 - 1, the native "not known". */
export function counterAt(ring: Uint32Array, at: number): number {
  const lo = ring[at]!;
  const hi = ring[at + 1]!;
  return lo === 0xffffffff && hi === 0xffffffff ? Number.NaN : hi * TWO_32 + lo;
}

/** Allocates ring memory for `capacityWords` u64 words (rounded up to a power of two). */
export function createRing(layout: RingLayout, capacityWords: number): Uint32Array {
  let cap = 64;
  while (cap < capacityWords) cap *= 2;
  const ring = new Uint32Array(new SharedArrayBuffer((layout.headerU32 + 2 * cap) * 4));
  // Touch every page now: otherwise RSS creeps up for minutes as the sampler
  // writes its way through fresh pages, which looks like a leak.
  for (let i = 0; i < ring.length; i += 1024) ring[i] = 0;
  ring[layout.header.magic] = layout.magic;
  ring[layout.header.capacity] = cap;
  return ring;
}

export interface RingHandler {
  /**
   * The stat names of a device's layout generation: always before the first
   * sample of that generation. Allocates (rare: start-up and layout changes).
   */
  layout(id: number, generation: number, names: string[]): void;
  /**
   * A sample record. `valuesAt` is the u32 index in `ring` of value 0's low
   * half (value i: ring[valuesAt + 2i], ring[valuesAt + 2i + 1]); the
   * traffic values sit the same way at `trafficAt` (2^64 - 1: not known).
   */
  sample(id: number, generation: number, monoNs: number, wallNs: number, ioctlNs: number, errno: number, n: number, ring: Uint32Array, valuesAt: number, trafficAt: number): void;
  /** The node's counters for one tick: `n` values at `valuesAt` (2^64 - 1: not known). */
  context(monoNs: number, wallNs: number, readNs: number, n: number, ring: Uint32Array, valuesAt: number): void;
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
  private readonly layoutDef: RingLayout;
  private readonly capacity: number;
  private readonly counters: RingCounters = { overruns: 0, ticks: 0, missedTicks: 0 };
  private lastOverruns = 0;
  private lastTicks = 0;
  private lastMissed = 0;

  constructor(ring: Uint32Array, layout: RingLayout) {
    if (ring[layout.header.magic] !== layout.magic) throw new Error('ring header is not initialised');
    this.ring = ring;
    this.layoutDef = layout;
    this.capacity = ring[layout.header.capacity]!;
  }

  /** Words waiting to be read. */
  pending(): number {
    const h = this.layoutDef.header;
    return (Atomics.load(this.ring, h.writePos) - Atomics.load(this.ring, h.readPos)) >>> 0;
  }

  get threadState(): number {
    return Atomics.load(this.ring, this.layoutDef.header.threadState);
  }

  /** Counters as of the last drain (u32 native counters accumulated without wrap). */
  get totals(): Readonly<RingCounters> {
    return this.counters;
  }

  /** Delivers every complete record to `h` and frees their space. Returns the number of records. */
  drain(h: RingHandler): number {
    const ring = this.ring;
    const L = this.layoutDef;
    const { writePos, readPos } = L.header;
    const { sample, tick, interval, layout, pad, context } = L.kinds;
    const head = L.headerU32;
    const mask = this.capacity - 1;
    const write = Atomics.load(ring, writePos);
    let read = Atomics.load(ring, readPos);
    let records = 0;
    while (read !== write) {
      const at = head + 2 * (read & mask);
      const words = ring[at]!;
      const kind = ring[at + 1]!;
      if (kind === sample) {
        h.sample(
          ring[at + 2]!,
          ring[at + 3]!,
          ring[at + 5]! * TWO_32 + ring[at + 4]!,
          ring[at + 7]! * TWO_32 + ring[at + 6]!,
          ring[at + 9]! * TWO_32 + ring[at + 8]!,
          ring[at + 10]!,
          ring[at + 11]!,
          ring,
          at + 2 * L.sampleHeaderWords,
          at + 2 * L.trafficWord,
        );
        records++;
      } else if (kind === context) {
        h.context(ring[at + 3]! * TWO_32 + ring[at + 2]!, ring[at + 5]! * TWO_32 + ring[at + 4]!, ring[at + 7]! * TWO_32 + ring[at + 6]!, ring[at + 8]!, ring, at + 2 * L.contextHeaderWords);
        records++;
      } else if (kind === tick) {
        h.tick(ring[at + 3]! * TWO_32 + ring[at + 2]!, ring[at + 5]! * TWO_32 + ring[at + 4]!, ring[at + 7]! * TWO_32 + ring[at + 6]!, ring[at + 8]!, ring[at + 9]!);
        records++;
      } else if (kind === interval) {
        h.interval(ring[at + 2]!, ring[at + 3]!, ring[at + 5]! * TWO_32 + ring[at + 4]!, ring[at + 7]! * TWO_32 + ring[at + 6]!, ring[at + 9]! * TWO_32 + ring[at + 8]!);
        records++;
      } else if (kind === layout) {
        h.layout(ring[at + 2]!, ring[at + 3]!, this.names(at + 2 * L.layoutHeaderWords, ring[at + 4]!));
        records++;
      } else if (kind !== pad || words === 0) {
        throw new Error(`corrupt sample ring: kind ${kind}, length ${words} at ${read}`);
      }
      read = (read + words) >>> 0;
      // Free each record as soon as it is consumed so a slow handler does
      // not make the producer drop records it could have kept.
      Atomics.store(ring, readPos, read);
    }
    this.updateCounters();
    return records;
  }

  /** Decodes `count` NUL-padded UTF-8 names starting at u32 index `at`. */
  private names(at: number, count: number): string[] {
    const size = this.layoutDef.nameBytes;
    const bytes = new Uint8Array(this.ring.buffer, this.ring.byteOffset + at * 4, count * size);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      let end = i * size;
      while (end < (i + 1) * size && bytes[end] !== 0) end++;
      // slice() copies out of the shared buffer, which TextDecoder refuses.
      out.push(NAME_DECODER.decode(bytes.slice(i * size, end)));
    }
    return out;
  }

  private updateCounters(): void {
    const ring = this.ring;
    const h = this.layoutDef.header;
    const o = Atomics.load(ring, h.overruns);
    const t = Atomics.load(ring, h.ticks);
    const m = Atomics.load(ring, h.missedTicks);
    this.counters.overruns += (o - this.lastOverruns) >>> 0;
    this.counters.ticks += (t - this.lastTicks) >>> 0;
    this.counters.missedTicks += (m - this.lastMissed) >>> 0;
    this.lastOverruns = o;
    this.lastTicks = t;
    this.lastMissed = m;
  }
}
