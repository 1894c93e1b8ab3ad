// A fake of the native addon that writes the same ring format from a JS
// timer. It lets NativeSource be tested without a sampler thread, and the
// contract suite runs the same cases against it and the real addon. The
// layout is the addon's own export (native/ring.h), never a copy here.

import { loadNative, type NativeAddon, type NativeProbe, type NativeSampler } from '../../src/sampling/native.js';
import type { RingLayout } from '../../src/sampling/ring.js';

const TWO_32 = 4294967296;

export interface FakeDevice {
  driver: string;
  names: string[];
  /** Values for the next read; called once per read. */
  read(): bigint[];
  /** errno for the next read (0 = succeed). */
  errno?(): number;
  /** Traffic counters read with it (TRAFFIC_NAMES order; null: not known). Default: none known. */
  traffic?(): (bigint | null)[];
}

const UNKNOWN = 0xffffffffffffffffn;

/** Writes records into the ring at the places native/ring.h puts them. */
export class JsRingWriter {
  private readonly ring: Uint32Array;
  private readonly L: RingLayout;
  private readonly cap: number;
  private write: number;
  constructor(ring: Uint32Array, layout: RingLayout) {
    this.ring = ring;
    this.L = layout;
    this.cap = ring[layout.header.capacity]!;
    this.write = Atomics.load(ring, layout.header.writePos);
  }
  private setWord(word: number, lo: number, hi: number): void {
    const at = this.L.headerU32 + 2 * (word & (this.cap - 1));
    this.ring[at] = lo;
    this.ring[at + 1] = hi;
  }
  private setU64(word: number, v: bigint | number): void {
    const b = BigInt(v);
    this.setWord(word, Number(b & 0xffffffffn), Number(b >> 32n));
  }
  private reserve(words: number): number | null {
    const read = Atomics.load(this.ring, this.L.header.readPos);
    const free = this.cap - ((this.write - read) >>> 0);
    const off = this.write & (this.cap - 1);
    const tail = this.cap - off;
    const need = words <= tail ? words : tail + words;
    if (words > this.cap / 2 || need > free) {
      Atomics.add(this.ring, this.L.header.overruns, 1);
      return null;
    }
    if (words > tail) {
      this.setWord(this.write, tail, this.L.kinds.pad);
      this.write = (this.write + tail) >>> 0;
    }
    return this.write;
  }
  private commit(words: number): void {
    this.write = (this.write + words) >>> 0;
    Atomics.store(this.ring, this.L.header.writePos, this.write);
  }
  tick(seq: number, deadlineNs: number, latenessNs: number, missed: number, devices: number): void {
    const words = this.L.tickWords;
    const w = this.reserve(words);
    if (w === null) return;
    this.setWord(w, words, this.L.kinds.tick);
    this.setU64(w + 1, seq);
    this.setU64(w + 2, deadlineNs);
    this.setU64(w + 3, latenessNs);
    this.setWord(w + 4, missed, devices);
    this.commit(words);
    Atomics.add(this.ring, this.L.header.ticks, 1);
  }
  layout(id: number, generation: number, names: readonly string[]): boolean {
    const nameWords = this.L.nameBytes / 8;
    const words = this.L.layoutHeaderWords + names.length * nameWords;
    const w = this.reserve(words);
    if (w === null) return false;
    this.setWord(w, words, this.L.kinds.layout);
    this.setWord(w + 1, id, generation);
    this.setU64(w + 2, names.length);
    names.forEach((name, i) => {
      const bytes = new Uint8Array(this.L.nameBytes);
      bytes.set(new TextEncoder().encode(name).subarray(0, this.L.nameBytes));
      const u32 = new Uint32Array(bytes.buffer);
      for (let k = 0; k < nameWords; k++) this.setWord(w + this.L.layoutHeaderWords + i * nameWords + k, u32[2 * k]!, u32[2 * k + 1]!);
    });
    this.commit(words);
    return true;
  }
  sample(id: number, generation: number, monoNs: number, wallNs: number, ioctlNs: number, errno: number, values: bigint[], traffic: (bigint | null)[] = []): void {
    const head = this.L.sampleHeaderWords;
    const words = head + values.length;
    const w = this.reserve(words);
    if (w === null) return;
    this.setWord(w, words, this.L.kinds.sample);
    this.setWord(w + 1, id, generation);
    this.setWord(w + 2, monoNs % TWO_32, Math.floor(monoNs / TWO_32));
    this.setWord(w + 3, wallNs % TWO_32, Math.floor(wallNs / TWO_32));
    this.setU64(w + 4, ioctlNs);
    this.setWord(w + 5, errno, values.length);
    for (let i = 0; i < this.L.trafficValues; i++) this.setU64(w + this.L.trafficWord + i, traffic[i] ?? UNKNOWN);
    values.forEach((v, i) => this.setU64(w + head + i, v));
    this.commit(words);
  }
  context(monoNs: number, wallNs: number, values: (bigint | null)[]): void {
    const head = this.L.contextHeaderWords;
    const words = head + values.length;
    const w = this.reserve(words);
    if (w === null) return;
    this.setWord(w, words, this.L.kinds.context);
    this.setU64(w + 1, monoNs);
    this.setU64(w + 2, wallNs);
    this.setU64(w + 3, 1000);
    this.setU64(w + 4, values.length);
    values.forEach((v, i) => this.setU64(w + head + i, v ?? UNKNOWN));
    this.commit(words);
  }
}

/** A fake addon over a set of scripted devices (mutable while running), and optionally the node's counters per tick. */
export function fakeAddon(devices: Map<string, FakeDevice>, node?: () => (bigint | null)[]): NativeAddon {
  const ringLayout = loadNative().ringLayout;
  class FakeSampler implements NativeSampler {
    private readonly writer: JsRingWriter;
    private readonly intervalMs: number;
    private timer: NodeJS.Timeout | null = null;
    private readonly active = new Map<number, { name: string; generation: number; names: string[]; published: boolean }>();
    private seq = 0;
    constructor(ring: Uint32Array, intervalNs: number) {
      this.writer = new JsRingWriter(ring, ringLayout);
      this.intervalMs = intervalNs / 1e6;
    }
    get running(): boolean {
      return this.timer !== null;
    }
    start(): number {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      return 0;
    }
    stop(): void {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
    }
    add(id: number, name: string): void {
      this.active.set(id, { name, generation: 0, names: [], published: false });
    }
    remove(id: number): void {
      this.active.delete(id);
    }
    revalidate(): void {}
    setDeviceInterval(): void {}
    private tick(): void {
      const mono = Math.round(performance.now() * 1e6);
      this.writer.tick(++this.seq, mono, 0, 0, this.active.size);
      if (node && this.active.size > 0) this.writer.context(mono, Date.now() * 1e6, node());
      for (const [id, a] of this.active) {
        const d = devices.get(a.name);
        const wall = Date.now() * 1e6;
        if (!d) {
          this.writer.sample(id, a.generation, mono, wall, 1000, 19, []);
          continue;
        }
        const errno = d.errno?.() ?? 0;
        if (errno) {
          this.writer.sample(id, a.generation, mono, wall, 1000, errno, []);
          continue;
        }
        if (a.generation === 0 || a.names.join() !== d.names.join()) {
          // As native does: a changed layout bumps the generation, and its
          // names go into the ring before its first sample.
          a.names = [...d.names];
          a.generation++;
          a.published = false;
        }
        if (!a.published) a.published = this.writer.layout(id, a.generation, a.names);
        if (a.published) this.writer.sample(id, a.generation, mono, wall, 1000, 0, d.read(), d.traffic?.());
      }
    }
  }
  const probe = (name: string): NativeProbe => {
    const d = devices.get(name);
    if (!d) return { errno: 19, op: 'ETHTOOL_GDRVINFO', driver: '', driverVersion: '', firmwareVersion: '', busInfo: '', nStats: 0 };
    return { errno: 0, op: '', driver: d.driver, driverVersion: '1.0', firmwareVersion: '', busInfo: '', nStats: d.names.length };
  };
  return {
    ringLayout,
    Sampler: FakeSampler,
    probe: (name) => Promise.resolve(probe(name)),
    probeSync: probe,
    benchGstats: () => {
      throw new Error('not in the fake');
    },
    linkCounters: () => Promise.reject(new Error('not in the fake')),
  };
}
