// How often a device really refreshes the counters it reports. ethburst
// reads every 100 ms, but nobody documents how often an ENA device updates
// its allowance counters (the driver asks the device on every read); if it
// were once a second, every burst would arrive as one step per second and
// "sub-second" would be a claim the data cannot back.
//
// The evidence is in the samples: while the device's own counters move (the
// customer metrics: the allowance counters during drops, and above all the
// `conntrack_allowance_available` gauge, which moves with every connection),
// the time between two consecutive changes is a multiple of the device's
// refresh period, give or take one sampling interval. The period is where
// the shortest intervals cluster: the lowest decile, then the median of the
// intervals within half of it again. Long intervals (quiet stretches, gaps
// between bursts) are not evidence and are ignored.
//
// Per sample: one comparison result and a store into a fixed ring; the
// estimate itself is computed when read (a scrape, a finished burst).

/** Intervals longer than this are quiet stretches, not refresh evidence. */
const MAX_EVIDENCE_MS = 10_000;
/** Intervals kept: the most recent evidence decides. */
const RING = 128;
/** Observations in the lowest cluster before the estimate is trusted for reporting. */
export const SETTLED_OBSERVATIONS = 6;
/** Sample spacings kept to know the sampling interval the estimate is compared with. */
const SPACING_RING = 32;

export interface UpdatePeriod {
  /** The estimated refresh period, ms; NaN before any evidence. */
  periodMs: number;
  /** Intervals observed (all time). */
  observations: number;
  /** Observations in the cluster the estimate rests on (recent ring only). */
  support: number;
  /** Enough support to report bursts at this resolution. */
  settled: boolean;
  /** Typical time between accepted samples, ms (NaN before two samples). */
  samplingMs: number;
  /**
   * The resolution bursts are reported at: the period when it is settled,
   * rests on the connection gauge's moves too, and is clearly longer than the
   * sampling interval, else 0 (the samples' own spacing is the resolution).
   */
  resolutionMs: number;
}

export class UpdatePeriodEstimator {
  private readonly ring = new Float64Array(RING);
  private readonly scratch = new Float64Array(RING);
  private readonly spacing = new Float64Array(SPACING_RING);
  private readonly spacingScratch = new Float64Array(SPACING_RING);
  private spacingNext = 0;
  private spacingFilled = 0;
  private lastSampleMs = Number.NaN;
  private cachedSamplingMs = Number.NaN;
  private cachedResolutionMs = 0;
  private next = 0;
  private filled = 0;
  /** Intervals observed over the device's life here. */
  observations = 0;
  private lastChangeMs = Number.NaN;
  private lastGaugeMs = Number.NaN;
  /**
   * Intervals between moves of conntrack_allowance_available. Drops alone
   * cannot tell a device that refreshes every 200 ms from one that drops
   * packets every 200 ms; the gauge moves with every refresh on a live node
   * whatever the traffic, so only with it are bursts rescaled.
   */
  gaugeObservations = 0;
  /** Cached estimate; recomputed after new evidence. */
  private cachedMs = Number.NaN;
  private cachedSupport = 0;
  private dirty = false;
  private computedAt = 0;

  /**
   * One accepted sample: whether the device's counters changed since the
   * previous accepted one, and whether its connection gauge did.
   * `continuous` is false at an epoch start, where there is no previous
   * sample to compare with.
   */
  observe(timeMs: number, changed: boolean, gaugeChanged: boolean, continuous: boolean): void {
    if (!continuous) {
      this.lastChangeMs = Number.NaN;
      this.lastGaugeMs = Number.NaN;
      this.lastSampleMs = timeMs;
      return;
    }
    if (gaugeChanged) {
      const last = this.lastGaugeMs;
      this.lastGaugeMs = timeMs;
      if (last === last && timeMs - last <= MAX_EVIDENCE_MS) this.gaugeObservations++;
    }
    const gap = timeMs - this.lastSampleMs;
    this.lastSampleMs = timeMs;
    if (gap > 0) {
      this.spacing[this.spacingNext] = gap;
      this.spacingNext = (this.spacingNext + 1) % SPACING_RING;
      if (this.spacingFilled < SPACING_RING) this.spacingFilled++;
    }
    if (!changed) return;
    const last = this.lastChangeMs;
    this.lastChangeMs = timeMs;
    if (last !== last) return;
    const dt = timeMs - last;
    if (!(dt > 0) || dt > MAX_EVIDENCE_MS) return;
    this.ring[this.next] = dt;
    this.next = (this.next + 1) % RING;
    if (this.filled < RING) this.filled++;
    this.observations++;
    // A fresh look every 16 observations is plenty (a device that keeps up
    // observes every tick); the per-sample path stays a comparison and a store.
    if (this.observations <= 16 || this.observations - this.computedAt >= 16) this.dirty = true;
  }

  /** The current estimate, from all the evidence kept. */
  estimate(): UpdatePeriod {
    this.compute();
    return {
      periodMs: this.cachedMs,
      observations: this.observations,
      support: this.cachedSupport,
      settled: this.cachedSupport >= SETTLED_OBSERVATIONS,
      samplingMs: this.cachedSamplingMs,
      resolutionMs: this.cachedResolutionMs,
    };
  }

  /** UpdatePeriod.resolutionMs, allocation-free for the per-sample path. */
  resolutionMs(): number {
    if (this.dirty) this.compute();
    return this.cachedResolutionMs;
  }

  private compute(): void {
    this.dirty = false;
    this.computedAt = this.observations;
    const n = this.filled;
    const s = this.scratch;
    sortInto(this.ring, n, s);
    const low = n > 0 ? s[Math.floor((n - 1) / 10)]! : Number.NaN;
    // The lowest cluster: intervals within half a period of the low decile.
    let m = 0;
    while (m < n && s[m]! <= low * 1.5) m++;
    this.cachedSupport = m;
    this.cachedMs = m > 0 ? s[Math.floor((m - 1) / 2)]! : Number.NaN;
    this.cachedSamplingMs = median(this.spacing, this.spacingFilled, this.spacingScratch);
    // Half again the sampling interval: a device that keeps up with the
    // sampler shows intervals of one spacing, and jitter must not count.
    const settled = this.cachedSupport >= SETTLED_OBSERVATIONS && this.gaugeObservations >= SETTLED_OBSERVATIONS;
    this.cachedResolutionMs = settled && this.cachedMs > 1.5 * this.cachedSamplingMs ? this.cachedMs : 0;
  }
}

/** Median of the first n values of `ring`, sorted into `scratch` (no allocation). */
function median(ring: Float64Array, n: number, scratch: Float64Array): number {
  if (n === 0) return Number.NaN;
  sortInto(ring, n, scratch);
  return scratch[Math.floor((n - 1) / 2)]!;
}

/** Insertion sort of the first n values of `from` into `to`: at most 128 values. */
function sortInto(from: Float64Array, n: number, to: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const v = from[i]!;
    let j = i - 1;
    while (j >= 0 && to[j]! > v) {
      to[j + 1] = to[j]!;
      j--;
    }
    to[j + 1] = v;
  }
}

/**
 * What a user should know about a device that refreshes more slowly than it
 * is sampled (null when its samples are its resolution): one sentence for
 * the page, `watch` and the log.
 */
export function resolutionNote(device: string, p: Pick<UpdatePeriod, 'resolutionMs'>): string | null {
  const ms = p.resolutionMs;
  if (!(ms > 0)) return null;
  const r = Math.round(ms);
  const every = r >= 1000 ? `${+(r / 1000).toFixed(1)} s` : `${r} ms`;
  return `${device} updates its counters about every ${every}: bursts shorter than that cannot be resolved`;
}
