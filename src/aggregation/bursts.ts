// Burst detection for one (device, stat), with the exact rules:
// increasing samples (d_k > 0) belong to one burst while consecutive ones
// are at most `gapMs` apart; a burst starts at the sample before its first
// increasing sample and ends at its last increasing sample.
//
// Plain numeric fields and a boolean return instead of callbacks: the
// caller reads the finished burst from `done*` right after update()/flush()
// returns true, so nothing is allocated per tick.

export const DEFAULT_BURST_GAP_MS = 2000;

export class BurstDetector {
  gapMs: number;
  /**
   * The device's counter update period when it is measurably longer than the
   * sampling interval (src/aggregation/update-period.ts), else 0. A change seen in one
   * sample then stands for drops anywhere in the period before it, so rates
   * are taken over at least one period and a burst lasts at least one.
   */
  resolutionMs = 0;

  /** The burst in progress, if `open`. */
  open = false;
  startMs = 0;
  endMs = 0;
  increase = 0;
  peakRatePerSecond = 0;
  /** Increasing samples in the open burst. */
  ticks = 0;

  /** The burst finished by the last update()/flush() that returned true. */
  doneStartMs = 0;
  doneEndMs = 0;
  doneIncrease = 0;
  donePeakRatePerSecond = 0;
  doneTicks = 0;

  constructor(gapMs: number = DEFAULT_BURST_GAP_MS) {
    this.gapMs = gapMs;
  }

  /**
   * One accepted sample of the device: time, time of the previous accepted
   * sample in the epoch (NaN at an epoch start, where `increase` is 0), and
   * the stat's increase. Returns true when this sample finalised the burst
   * that was open before it (a sample more than gapMs after its end).
   */
  update(timeMs: number, prevTimeMs: number, increase: number): boolean {
    let finished = false;
    if (this.open && timeMs - this.endMs > this.gapMs) {
      this.finish();
      finished = true;
    }
    if (increase > 0) {
      const dt = Math.max(timeMs - prevTimeMs, this.resolutionMs);
      // d * 1000 / dt rather than d / (dt / 1000): exact for whole-ms ticks.
      const rate = dt > 0 ? (increase * 1000) / dt : 0;
      if (!this.open) {
        this.open = true;
        this.startMs = prevTimeMs;
        this.increase = 0;
        this.peakRatePerSecond = 0;
        this.ticks = 0;
      }
      this.increase += increase;
      this.endMs = timeMs;
      this.ticks++;
      if (rate > this.peakRatePerSecond) this.peakRatePerSecond = rate;
    }
    return finished;
  }

  /** Finalises the open burst (end of input, device gone, shutdown). */
  flush(): boolean {
    if (!this.open) return false;
    this.finish();
    return true;
  }

  private finish(): void {
    this.open = false;
    this.doneStartMs = Math.min(this.startMs, this.endMs - this.resolutionMs);
    this.doneEndMs = this.endMs;
    this.doneIncrease = this.increase;
    this.donePeakRatePerSecond = this.peakRatePerSecond;
    this.doneTicks = this.ticks;
  }
}
