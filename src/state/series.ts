// Per-tick increases at full resolution for the last few minutes of one
// (device, stat): what /api/series, the live page and watch draw. A
// fixed-size ring of Float64Array, so recording a tick allocates nothing.

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
