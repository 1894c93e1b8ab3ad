// Replays a trace file (src/sources/trace.ts format) as a StatsSource, streaming line
// by line so a multi-gigabyte incident trace never sits in memory. Any
// defect in the file rejects run() with InputError("FILE:LINE: reason").

import { createReadStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, errnoCode } from '../errors.js';
import type { NodeContext } from '../sampling/context.js';
import { makeLayout, sameNames, unknownTraffic, type DeviceLayout, type Sample, type SampleSink, type StatsSource } from '../sampling/sample.js';
import { parseTraceLine, TraceSyntaxError, type TraceRecord } from './trace.js';

export interface ReplayOptions {
  /** 'fast' (default): as fast as the sink takes it. 'recorded': keep the trace's own pacing. */
  speed?: 'fast' | 'recorded';
  /** Longest accepted line in bytes. Default 1 MiB. */
  maxLineBytes?: number;
  /** Name used in error messages; default the path. */
  displayName?: string;
  /** Read this stream (stdin) instead of opening the path. */
  input?: NodeJS.ReadableStream;
  /**
   * Called instead of failing when the file does not end with a newline and
   * its last line is not JSON (or not UTF-8): a recorder killed mid-write
   * leaves exactly that, and the complete lines before it are still good.
   * Without it such a line is an error like any other.
   */
  onCutOffLastLine?: (line: number) => void;
}

export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

interface ReplayDevice {
  layout: DeviceLayout;
  driver: string;
  lastTimeMs: number;
}

const EMPTY_LAYOUT = makeLayout(0, []);

export class ReplaySource implements StatsSource {
  readonly path: string;
  /** Lines read so far (1-based number of the last line). */
  lineNumber = 0;
  /** Last sample time delivered, NaN before the first. */
  lastTimeMs = Number.NaN;
  private readonly speed: 'fast' | 'recorded';
  private readonly maxLineBytes: number;
  private readonly name: string;
  private readonly input: NodeJS.ReadableStream | undefined;
  private readonly onCutOffLastLine: ((line: number) => void) | undefined;
  private readonly devices = new Map<string, ReplayDevice>();
  private readonly abort = new AbortController();
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly view: Sample = {
    device: '',
    driver: '',
    timeMs: 0,
    monoNs: Number.NaN,
    ioctlNs: Number.NaN,
    error: null,
    errno: 0,
    layout: EMPTY_LAYOUT,
    values: new Uint32Array(0),
    traffic: unknownTraffic(),
  };
  private readonly contextView: NodeContext = { timeMs: 0, names: [], values: new Float64Array(0) };
  /** Time of the last node line, NaN before the first. */
  private lastContextMs = Number.NaN;
  private readonly noTraffic = unknownTraffic();
  private wallStart = 0;
  private traceStart = Number.NaN;

  constructor(path: string, options: ReplayOptions = {}) {
    this.path = path;
    this.speed = options.speed ?? 'fast';
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.name = options.displayName ?? path;
    this.input = options.input;
    this.onCutOffLastLine = options.onCutOffLastLine;
  }

  /** Device names in order of first appearance. */
  deviceNames(): string[] {
    return [...this.devices.keys()];
  }

  stop(): void {
    this.abort.abort();
  }

  async run(sink: SampleSink): Promise<void> {
    const stream = this.input ?? createReadStream(this.path, { highWaterMark: 64 * 1024 });
    // Bytes of the line in progress that arrived in earlier chunks.
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let start = 0;
        for (;;) {
          const nl = chunk.indexOf(0x0a, start);
          if (nl === -1) {
            const rest = chunk.length - start;
            if (pendingBytes + rest > this.maxLineBytes) this.fail(this.lineNumber + 1, `line longer than ${this.maxLineBytes} bytes`);
            if (rest > 0) {
              pending.push(chunk.subarray(start));
              pendingBytes += rest;
            }
            break;
          }
          let bytes = chunk.subarray(start, nl);
          if (pendingBytes > 0) {
            pending.push(bytes);
            bytes = Buffer.concat(pending, pendingBytes + bytes.length);
            pending.length = 0;
            pendingBytes = 0;
          }
          start = nl + 1;
          const rec = this.parse(bytes);
          if (rec === null) continue;
          if (this.speed === 'recorded') await this.pace(rec.timeMs);
          if (this.abort.signal.aborted) return;
          this.deliver(rec, sink);
        }
        if (this.abort.signal.aborted) return;
      }
      if (pendingBytes > 0) {
        const rec = this.parse(Buffer.concat(pending, pendingBytes), true);
        if (rec !== null) {
          if (this.speed === 'recorded') await this.pace(rec.timeMs);
          if (!this.abort.signal.aborted) this.deliver(rec, sink);
        }
      }
    } catch (err) {
      if (err instanceof InputError) throw err;
      const code = (err as NodeJS.ErrnoException)?.code;
      if (typeof code === 'string') throw new InputError(`${this.name}: cannot read: ${code === 'ENOENT' ? 'no such file' : code}`);
      throw err;
    } finally {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    }
  }

  private fail(line: number, reason: string): never {
    throw new InputError(`${this.name}:${line}: ${reason}`);
  }

  /**
   * Decodes and validates one line; null for a blank one, and for a cut-off
   * last line (`unterminated`: no newline follows it) when the caller
   * accepts those.
   */
  private parse(bytes: Buffer, unterminated = false): TraceRecord | null {
    const lineNo = ++this.lineNumber;
    if (bytes.length > this.maxLineBytes) this.fail(lineNo, `line longer than ${this.maxLineBytes} bytes`);
    const cutOff = unterminated ? this.onCutOffLastLine : undefined;
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      // A kill can land inside a multi-byte character too.
      if (cutOff) {
        cutOff(lineNo);
        return null;
      }
      this.fail(lineNo, 'not valid UTF-8');
    }
    let rec: TraceRecord | null;
    try {
      rec = parseTraceLine(text);
    } catch (err) {
      if (err instanceof TraceSyntaxError) {
        if (cutOff && err.notJson) {
          cutOff(lineNo);
          return null;
        }
        this.fail(lineNo, err.message);
      }
      throw err;
    }
    if (rec === null) return null;
    if (rec.kind === 'links') return rec;
    if (rec.kind === 'context') {
      if (this.lastContextMs === this.lastContextMs && !(rec.timeMs > this.lastContextMs)) {
        this.fail(lineNo, `"t" ${rec.timeMs} is not after the previous node record (${this.lastContextMs})`);
      }
      this.lastContextMs = rec.timeMs;
      return rec;
    }
    const dev = this.devices.get(rec.device);
    if (dev !== undefined && !(rec.timeMs > dev.lastTimeMs)) {
      this.fail(lineNo, `"t" ${rec.timeMs} is not after the previous record of ${rec.device} (${dev.lastTimeMs})`);
    }
    return rec;
  }

  private deliver(rec: TraceRecord, sink: SampleSink): void {
    if (rec.kind === 'links') {
      sink.links?.(rec);
      return;
    }
    if (rec.kind === 'context') {
      const c = this.contextView;
      c.timeMs = rec.timeMs;
      c.names = rec.names;
      c.values = rec.values;
      sink.context?.(c);
      return;
    }
    let dev = this.devices.get(rec.device);
    const v = this.view;
    v.device = rec.device;
    v.timeMs = rec.timeMs;
    if (rec.kind === 'sample') {
      if (dev === undefined) {
        dev = { layout: makeLayout(1, rec.names), driver: rec.driver, lastTimeMs: rec.timeMs };
        this.devices.set(rec.device, dev);
        sink.deviceAdded?.({ name: rec.device, driver: rec.driver, driverVersion: '', firmwareVersion: '', busInfo: '' }, rec.timeMs);
      } else if (!sameNames(dev.layout.names, rec.names)) {
        dev.layout = makeLayout(dev.layout.generation + 1, rec.names);
      }
      dev.driver = rec.driver;
      v.driver = rec.driver;
      v.error = null;
      v.errno = 0;
      v.layout = dev.layout;
      v.values = rec.values;
      v.traffic = rec.traffic;
    } else {
      if (dev === undefined) {
        dev = { layout: EMPTY_LAYOUT, driver: '', lastTimeMs: rec.timeMs };
        this.devices.set(rec.device, dev);
        sink.deviceAdded?.({ name: rec.device, driver: '', driverVersion: '', firmwareVersion: '', busInfo: '' }, rec.timeMs);
      }
      v.driver = dev.driver;
      v.error = rec.error;
      v.errno = errnoNumber(rec.error);
      v.layout = dev.layout;
      v.traffic = this.noTraffic;
    }
    dev.lastTimeMs = rec.timeMs;
    this.lastTimeMs = rec.timeMs;
    sink.sample(v);
  }

  private async pace(timeMs: number): Promise<void> {
    if (this.traceStart !== this.traceStart) {
      this.traceStart = timeMs;
      this.wallStart = performance.now();
      return;
    }
    const due = this.wallStart + (timeMs - this.traceStart);
    const wait = due - performance.now();
    if (wait > 1) {
      try {
        await sleep(wait, undefined, { signal: this.abort.signal });
      } catch {
        // Aborted by stop(): the caller checks the signal.
      }
    }
  }
}


let codeToErrno: Map<string, number> | undefined;

/** Positive errno for a libuv code name, 0 when unknown. */
function errnoNumber(code: string): number {
  if (!codeToErrno) {
    codeToErrno = new Map();
    for (let e = 1; e < 200; e++) {
      const name = errnoCode(e);
      if (!codeToErrno.has(name)) codeToErrno.set(name, e);
    }
  }
  return codeToErrno.get(code) ?? 0;
}
