// Per-tick increases at full resolution for the last few minutes, per
// (device, stat): what /api/series and the live page draw. Fixed-size rings
// of Float64Array, so recording a tick allocates nothing.

export class SeriesRing {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private size = 0;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  push(timeMs: number, value: number): void {
    const cap = this.times.length;
    this.times[this.head] = timeMs;
    this.values[this.head] = value;
    this.head = (this.head + 1) % cap;
    if (this.size < cap) this.size++;
  }

  /** [time ms, value] pairs with time >= sinceMs, oldest first. */
  since(sinceMs: number): [number, number][] {
    const cap = this.times.length;
    const out: [number, number][] = [];
    for (let k = 0; k < this.size; k++) {
      const i = (this.head - this.size + k + cap) % cap;
      const t = this.times[i]!;
      if (t >= sinceMs) out.push([t, this.values[i]!]);
    }
    return out;
  }
}

export class SeriesStore {
  private readonly rings = new Map<string, Map<string, SeriesRing>>();

  constructor(private readonly capacity: number) {}

  /** The ring for (device, stat), created on first use. Keep it for the tick path. */
  ring(device: string, stat: string): SeriesRing {
    let byStat = this.rings.get(device);
    if (!byStat) {
      byStat = new Map();
      this.rings.set(device, byStat);
    }
    let r = byStat.get(stat);
    if (!r) {
      r = new SeriesRing(this.capacity);
      byStat.set(stat, r);
    }
    return r;
  }

  get(device: string, stat: string): SeriesRing | undefined {
    return this.rings.get(device)?.get(stat);
  }

  keys(): { device: string; stat: string }[] {
    const out: { device: string; stat: string }[] = [];
    for (const [device, byStat] of this.rings) for (const stat of byStat.keys()) out.push({ device, stat });
    return out;
  }

  removeDevice(device: string): void {
    this.rings.delete(device);
  }
}
