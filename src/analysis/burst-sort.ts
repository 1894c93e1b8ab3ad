// Bursts in the documented order (start, then device, then stat) with memory
// bounded however many there are: an external merge sort. A finished burst
// can come out of the aggregator long after later-starting ones (a quiet
// device's burst closes only at the end of the trace; devices interleave
// freely), so no reorder window of fixed size is correct for every trace.
// Up to `runLength` entries are sorted in memory; beyond that, sorted runs go
// to compact JSON lines in a private directory under os.tmpdir() and are
// merged at the end. The directory is removed by dispose(), and at exit if
// the process ends without it.

import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { compareCodeUnits } from '../order.js';

interface Entry<T> {
  startMs: number;
  device: string;
  stat: string;
  payload: T;
}

/** Entries per sorted run held in memory; the peak memory of the sort. */
export const DEFAULT_RUN_LENGTH = 32_768;
/** Runs read at once while merging (an open file and a read buffer each). */
const FAN_IN = 64;
const READ_BYTES = 64 * 1024;
const WRITE_BYTES = 1 << 20;

function compare<T>(a: Entry<T>, b: Entry<T>): number {
  return a.startMs - b.startMs || compareCodeUnits(a.device, b.device) || compareCodeUnits(a.stat, b.stat);
}

/**
 * Collects bursts with a JSON-serialisable payload each and gives the
 * payloads back sorted; equal keys keep the order they were added in, as
 * Array.prototype.sort would.
 */
export class BurstSorter<T> {
  /** Entries added so far. */
  count = 0;
  private readonly runLength: number;
  private buffer: Entry<T>[] = [];
  private runs: string[] = [];
  private dir: string | null = null;
  private runSeq = 0;
  private readonly open = new Set<number>();
  private readonly onExit = (): void => this.dispose();

  constructor(options: { runLength?: number } = {}) {
    this.runLength = Math.max(1, options.runLength ?? DEFAULT_RUN_LENGTH);
  }

  add(startMs: number, device: string, stat: string, payload: T): void {
    this.buffer.push({ startMs, device, stat, payload });
    this.count++;
    if (this.buffer.length >= this.runLength) this.spill();
  }

  /** Spilled runs so far (0 while everything fits in memory). */
  get spilledRuns(): number {
    return this.runs.length;
  }

  /** The payloads in order. Call once, after the last add(). */
  *sorted(): Generator<T> {
    this.buffer.sort(compare);
    if (this.runs.length === 0) {
      for (const e of this.buffer) yield e.payload;
      return;
    }
    if (this.buffer.length > 0) this.spill();
    // Merging the oldest runs into one that takes their place keeps equal
    // keys in the order they were added.
    while (this.runs.length > FAN_IN) {
      const group = this.runs.slice(0, FAN_IN);
      const merged = this.writeRun(this.merge(group));
      for (const path of group) rmSync(path, { force: true });
      this.runs = [merged, ...this.runs.slice(FAN_IN)];
    }
    for (const e of this.merge(this.runs)) yield e.payload;
  }

  /** Removes the spill directory; safe to call more than once. */
  dispose(): void {
    for (const fd of this.open) closeSync(fd);
    this.open.clear();
    if (this.dir !== null) {
      rmSync(this.dir, { recursive: true, force: true });
      this.dir = null;
      process.removeListener('exit', this.onExit);
    }
    this.buffer = [];
    this.runs = [];
  }

  private spill(): void {
    this.buffer.sort(compare);
    this.runs.push(this.writeRun(this.buffer));
    this.buffer = [];
  }

  private writeRun(entries: Iterable<Entry<T>>): string {
    if (this.dir === null) {
      this.dir = mkdtempSync(join(tmpdir(), 'ethburst-analyze-'));
      process.on('exit', this.onExit);
    }
    const path = join(this.dir, `run-${this.runSeq++}`);
    const fd = openSync(path, 'wx', 0o600);
    this.open.add(fd);
    try {
      let chunk = '';
      for (const e of entries) {
        chunk += `${JSON.stringify([e.startMs, e.device, e.stat, e.payload])}\n`;
        if (chunk.length >= WRITE_BYTES) {
          writeAll(fd, chunk);
          chunk = '';
        }
      }
      writeAll(fd, chunk);
    } finally {
      this.open.delete(fd);
      closeSync(fd);
    }
    return path;
  }

  /** k-way merge; a tie goes to the earlier run, which keeps the sort stable. */
  private *merge(paths: readonly string[]): Generator<Entry<T>> {
    const readers: RunReader<T>[] = [];
    try {
      for (const path of paths) {
        const fd = openSync(path, 'r');
        this.open.add(fd);
        const r = new RunReader<T>(fd, readers.length);
        if (r.next()) readers.push(r);
        else this.close(r);
      }
      const before = (a: RunReader<T>, b: RunReader<T>): boolean => {
        const c = compare(a.head!, b.head!);
        return c < 0 || (c === 0 && a.index < b.index);
      };
      const heap = readers.slice();
      for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i, before);
      while (heap.length > 0) {
        const top = heap[0]!;
        yield top.head!;
        if (!top.next()) {
          this.close(top);
          const last = heap.pop()!;
          if (heap.length === 0) break;
          heap[0] = last;
        }
        siftDown(heap, 0, before);
      }
    } finally {
      for (const r of readers) this.close(r);
    }
  }

  private close(r: RunReader<T>): void {
    if (this.open.delete(r.fd)) closeSync(r.fd);
  }
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off);
}

function siftDown<R>(heap: R[], i: number, before: (a: R, b: R) => boolean): void {
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) return;
    const r = l + 1;
    const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
    if (!before(heap[c]!, heap[i]!)) return;
    [heap[c], heap[i]] = [heap[i]!, heap[c]!];
    i = c;
  }
}

/** Entries of one run file, read a block at a time. */
class RunReader<T> {
  head: Entry<T> | null = null;
  private readonly buf = Buffer.allocUnsafe(READ_BYTES);
  private readonly decoder = new StringDecoder('utf8');
  private lines: string[] = [];
  private at = 0;
  private rest = '';
  private eof = false;

  constructor(
    readonly fd: number,
    readonly index: number,
  ) {}

  /** Advances to the next entry; false at the end of the run. */
  next(): boolean {
    while (this.at >= this.lines.length) {
      if (this.eof) {
        this.head = null;
        return false;
      }
      const n = readSync(this.fd, this.buf, 0, READ_BYTES, null);
      if (n === 0) {
        this.eof = true;
        this.lines = this.rest === '' ? [] : [this.rest];
      } else {
        this.lines = (this.rest + this.decoder.write(this.buf.subarray(0, n))).split('\n');
        this.rest = this.lines.pop()!;
      }
      this.at = 0;
    }
    const [startMs, device, stat, payload] = JSON.parse(this.lines[this.at++]!) as [number, string, string, T];
    this.head = { startMs, device, stat, payload };
    return true;
  }
}
