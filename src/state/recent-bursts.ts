// The most recent finished bursts, for /api/bursts: a bounded ring in the
// same shape `ethburst analyze --format json` prints, plus each one's id.

import type { BurstEvent } from '../aggregation/aggregator.js';
import { burstRecord, type BurstRecord } from '../aggregation/burst-record.js';
import { compareCodeUnits } from '../order.js';

export type { BurstRecord } from '../aggregation/burst-record.js';

export class RecentBursts {
  private readonly ring: (BurstRecord | undefined)[];
  private next = 0;
  private count = 0;
  /** Id of the last burst added (0 before the first). */
  lastId = 0;

  constructor(readonly capacity = 1000) {
    this.ring = new Array<BurstRecord | undefined>(capacity);
  }

  add(e: Readonly<BurstEvent>): BurstRecord {
    const r = burstRecord(e, ++this.lastId);
    this.ring[this.next] = r;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    return r;
  }

  /** The burst with this id, while it is still among the recent ones. */
  byId(id: number): BurstRecord | undefined {
    // Ids are consecutive: the newest is at next - 1.
    const back = this.lastId - id;
    if (!(back >= 0 && back < this.count)) return undefined;
    return this.ring[(this.next - 1 - back + this.capacity) % this.capacity];
  }

  /** Bursts ending at or after sinceMs, filtered, sorted by start then device then stat. */
  query(f: { sinceMs?: number; device?: string; stat?: string }): BurstRecord[] {
    const out: BurstRecord[] = [];
    for (let k = 0; k < this.count; k++) {
      const r = this.ring[(this.next - this.count + k + this.capacity) % this.capacity]!;
      if (f.sinceMs !== undefined && r.end_ms < f.sinceMs) continue;
      if (f.device !== undefined && r.device !== f.device) continue;
      if (f.stat !== undefined && r.stat !== f.stat) continue;
      out.push(r);
    }
    return out.sort((a, b) => a.start_ms - b.start_ms || compareCodeUnits(a.device, b.device) || compareCodeUnits(a.stat, b.stat));
  }
}
