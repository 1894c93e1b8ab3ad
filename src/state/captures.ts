// Captures kept in memory for /api/bursts/{id}/trace and the page: the
// newest first, within a byte budget. The oldest go first when a new one
// does not fit; a capture written to --capture-dir outlives its copy here.

import type { Capture } from './flight-recorder.js';

export const DEFAULT_CAPTURE_MEMORY_BYTES = 32 * 1024 * 1024;

export class CaptureStore {
  private readonly byId = new Map<number, Capture>();
  /** Bytes the kept captures hold. */
  bytes = 0;
  /** Captures cut since start, and those dropped to stay within the budget. */
  added = 0;
  evicted = 0;

  constructor(readonly maxBytes: number = DEFAULT_CAPTURE_MEMORY_BYTES) {}

  get size(): number {
    return this.byId.size;
  }

  add(c: Capture): void {
    this.byId.set(c.burst.id, c);
    this.bytes += c.bytes;
    this.added++;
    // Maps iterate in insertion order: the first key is the oldest capture.
    for (const [id, old] of this.byId) {
      if (this.bytes <= this.maxBytes || old === c) break;
      this.byId.delete(id);
      this.bytes -= old.bytes;
      this.evicted++;
    }
  }

  get(id: number): Capture | undefined {
    return this.byId.get(id);
  }
}
