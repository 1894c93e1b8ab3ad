// Captures of the recent bursts, for /api/bursts/{id}/trace and the page:
// the last 1000, as many as /api/bursts lists. A capture reads the flight
// recorder's rings and costs nothing of its own while they hold it; only
// the captures of a device that went away are copied out, and those are
// kept within a byte budget, oldest dropped first. A capture written to
// --capture-dir outlives both.

import type { Capture } from './flight-recorder.js';

export const DEFAULT_CAPTURE_MEMORY_BYTES = 32 * 1024 * 1024;
export const CAPTURES_KEPT = 1000;

export class CaptureStore {
  private readonly byId = new Map<number, Capture>();
  /** Bytes the copied-out captures hold. */
  bytes = 0;
  /** Captures cut since start, and those dropped to stay within the count or the budget. */
  added = 0;
  evicted = 0;

  constructor(
    readonly maxBytes: number = DEFAULT_CAPTURE_MEMORY_BYTES,
    readonly maxCount: number = CAPTURES_KEPT,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  add(c: Capture): void {
    this.byId.set(c.burst.id, c);
    this.added++;
    this.trim(c);
  }

  /** A capture was copied out of the rings: its bytes count now. */
  copied(c: Capture): void {
    if (this.byId.get(c.burst.id) !== c) return;
    this.bytes += c.bytes;
    this.trim(c);
  }

  get(id: number): Capture | undefined {
    return this.byId.get(id);
  }

  private trim(newest: Capture): void {
    // Maps iterate in insertion order: the first key is the oldest capture.
    for (const [id, old] of this.byId) {
      if ((this.byId.size <= this.maxCount && this.bytes <= this.maxBytes) || old === newest) break;
      this.byId.delete(id);
      this.bytes -= old.bytes;
      this.evicted++;
    }
  }
}
