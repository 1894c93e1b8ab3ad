// A fake of the native addon that writes the same ring format from a JS
// timer. It lets the ring reader and NativeSource be tested without the
// .node file, and the contract suite runs the same cases against it and the
// real addon.

import type { NativeAddon, NativeProbe, NativeSampler } from '../../src/native.js';
import { HEADER_U32, KIND_PAD, KIND_SAMPLE, KIND_TICK, SAMPLE_HEADER_WORDS } from '../../src/ring.js';

const TWO_32 = 4294967296;

export interface FakeDevice {
  driver: string;
  names: string[];
  /** Values for the next read; called once per read. */
  read(): bigint[];
  /** errno for the next read (0 = succeed). */
  errno?(): number;
}

/** Writes records into the ring exactly as native/ring.h does. */
export class JsRingWriter {
  private readonly ring: Uint32Array;
  private readonly cap: number;
  private write: number;
  constructor(ring: Uint32Array) {
    this.ring = ring;
    this.cap = ring[1]!;
    this.write = Atomics.load(ring, 2);
  }
  private setWord(word: number, lo: number, hi: number): void {
    const at = HEADER_U32 + 2 * (word & (this.cap - 1));
    this.ring[at] = lo;
    this.ring[at + 1] = hi;
  }
  private setU64(word: number, v: bigint | number): void {
    const b = BigInt(v);
    this.setWord(word, Number(b & 0xffffffffn), Number(b >> 32n));
  }
  private reserve(words: number): number | null {
    const read = Atomics.load(this.ring, 3);
    const free = this.cap - ((this.write - read) >>> 0);
    const off = this.write & (this.cap - 1);
    const tail = this.cap - off;
    const need = words <= tail ? words : tail + words;
    if (words > this.cap / 2 || need > free) {
      Atomics.add(this.ring, 4, 1);
      return null;
    }
    if (words > tail) {
      this.setWord(this.write, tail, KIND_PAD);
      this.write = (this.write + tail) >>> 0;
    }
    return this.write;
  }
  private commit(words: number): void {
    this.write = (this.write + words) >>> 0;
    Atomics.store(this.ring, 2, this.write);
  }
  tick(seq: number, deadlineNs: number, latenessNs: number, missed: number, devices: number): void {
    const w = this.reserve(5);
    if (w === null) return;
    this.setWord(w, 5, KIND_TICK);
    this.setU64(w + 1, seq);
    this.setU64(w + 2, deadlineNs);
    this.setU64(w + 3, latenessNs);
    this.setWord(w + 4, missed, devices);
    this.commit(5);
    Atomics.add(this.ring, 5, 1);
  }
  sample(id: number, generation: number, monoNs: number, wallNs: number, ioctlNs: number, errno: number, values: bigint[]): void {
    const words = SAMPLE_HEADER_WORDS + values.length;
    const w = this.reserve(words);
    if (w === null) return;
    this.setWord(w, words, KIND_SAMPLE);
    this.setWord(w + 1, id, generation);
    this.setWord(w + 2, monoNs % TWO_32, Math.floor(monoNs / TWO_32));
    this.setWord(w + 3, wallNs % TWO_32, Math.floor(wallNs / TWO_32));
    this.setU64(w + 4, ioctlNs);
    this.setWord(w + 5, errno, values.length);
    values.forEach((v, i) => this.setU64(w + SAMPLE_HEADER_WORDS + i, v));
    this.commit(words);
  }
}

/** A fake addon over a set of scripted devices (mutable while running). */
export function fakeAddon(devices: Map<string, FakeDevice>): NativeAddon {
  class FakeSampler implements NativeSampler {
    private readonly writer: JsRingWriter;
    private readonly intervalMs: number;
    private timer: NodeJS.Timeout | null = null;
    private readonly active = new Map<number, { name: string; generation: number; names: string[] }>();
    private seq = 0;
    constructor(ring: Uint32Array, intervalNs: number) {
      this.writer = new JsRingWriter(ring);
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
      this.active.set(id, { name, generation: 0, names: [] });
    }
    remove(id: number): void {
      this.active.delete(id);
    }
    revalidate(): void {}
    setDeviceInterval(): void {}
    names(id: number): { generation: number; names: string[] } | null {
      const a = this.active.get(id);
      return a && a.generation > 0 ? { generation: a.generation, names: [...a.names] } : null;
    }
    private tick(): void {
      const mono = Math.round(performance.now() * 1e6);
      this.writer.tick(++this.seq, mono, 0, 0, this.active.size);
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
          // As native does: a changed layout bumps the generation.
          a.names = [...d.names];
          a.generation++;
        }
        const values = d.read();
        this.writer.sample(id, a.generation, mono, wall, 1000, 0, values);
      }
    }
  }
  const probe = (name: string): NativeProbe => {
    const d = devices.get(name);
    if (!d) return { errno: 19, op: 'ETHTOOL_GDRVINFO', driver: '', driverVersion: '', firmwareVersion: '', busInfo: '', nStats: 0 };
    return { errno: 0, op: '', driver: d.driver, driverVersion: '1.0', firmwareVersion: '', busInfo: '', nStats: d.names.length };
  };
  return {
    Sampler: FakeSampler,
    probe: async (name) => probe(name),
    probeSync: probe,
    benchGstats: () => {
      throw new Error('not in the fake');
    },
  };
}
