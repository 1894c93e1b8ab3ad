// Per-second attribution for one (device, stat): each increase belongs to
// the unix second containing its sample time, and every second of the
// device's sampled life counts, zeros included. A second is complete once a
// sample from a later second arrives; seconds skipped entirely (no sample
// in them, e.g. during errors) are reported as zeros.

export class SecondCounter {
  /** Unix second being accumulated; NaN outside the device's sampled life. */
  current = Number.NaN;
  acc = 0;

  /** Filled by advance()/flush() when they return true. */
  doneSecond = 0;
  doneIncrease = 0;
  /** Complete empty seconds right after doneSecond. */
  doneZeros = 0;

  /**
   * Moves to the second containing timeMs (call before add() for the same
   * sample). Returns true when earlier seconds completed.
   */
  advance(timeMs: number): boolean {
    const s = Math.floor(timeMs / 1000);
    const cur = this.current;
    if (cur !== cur) {
      this.current = s;
      this.acc = 0;
      return false;
    }
    if (s <= cur) return false;
    this.doneSecond = cur;
    this.doneIncrease = this.acc;
    this.doneZeros = s - cur - 1;
    this.current = s;
    this.acc = 0;
    return true;
  }

  add(increase: number): void {
    this.acc += increase;
  }

  /** Ends the sampled life: the current (partial) second completes. */
  flush(): boolean {
    const cur = this.current;
    if (cur !== cur) return false;
    this.doneSecond = cur;
    this.doneIncrease = this.acc;
    this.doneZeros = 0;
    this.current = Number.NaN;
    this.acc = 0;
    return true;
  }
}
