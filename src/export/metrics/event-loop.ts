// Event-loop lag, honestly. prom-client reads Node's monitorEventLoopDelay,
// which at the 100 ms resolution this exporter needs (not to wake 100 times
// a second) reads about 0.100 s at every percentile on an idle loop, and
// measured here it did not see a 400 ms block at all (its largest value
// after one: 104 ms). Same names, same families, measured directly: a timer
// due every LAG_PERIOD_MS records how late it ran, and each scrape reports
// the statistics of the lateness since the last one.

import { CollectedMetric } from './collected.js';

/**
 * How often the timer is due, ms. Every wake-up costs: on the development
 * VM 100 µs of CPU each (`perf stat` of a bare Node timer loop, 100 vs 1000
 * ms), and an idle `serve` measured 0.37 % of a core more at 100 ms than at
 * 1 s. At 500 ms a stall of half a second or more is always seen, shorter
 * ones in proportion to their length.
 */
export const LAG_PERIOD_MS = 500;
/** Readings kept between scrapes (10 minutes of them); older ones are dropped first. */
const MAX_READINGS = 1200;

/**
 * prom-client's names for the delay statistics, and its
 * nodejs_eventloop_lag_seconds ('last'), whose collect computed every
 * statistic of its monitor on each scrape (Node's histogram stddev alone
 * was 3 % of a serve's CPU under back-to-back scrapes, --cpu-prof).
 */
export const EVENT_LOOP_LAG_FAMILIES = ['last', 'min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;
type Stat = (typeof EVENT_LOOP_LAG_FAMILIES)[number];
export const eventLoopLagName = (stat: Stat): string => (stat === 'last' ? 'nodejs_eventloop_lag_seconds' : `nodejs_eventloop_lag_${stat}_seconds`);

const WHAT: Record<Stat, string> = {
  last: 'The latest',
  min: 'The least',
  max: 'The greatest',
  mean: 'The mean',
  stddev: 'The standard deviation of the',
  p50: 'The median',
  p90: 'The 90th percentile of the',
  p99: 'The 99th percentile of the',
};

/** Lateness of a timer due every LAG_PERIOD_MS, kept until the next scrape. */
export class EventLoopLag {
  private readonly readings = new Float64Array(MAX_READINGS);
  private count = 0;
  private latest = 0;
  private due = 0;
  private timer: NodeJS.Timeout | null = null;

  start(): void {
    this.due = performance.now() + LAG_PERIOD_MS;
    this.timer = setTimeout(this.tick, LAG_PERIOD_MS);
    // Measuring never keeps the process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly tick = (): void => {
    const now = performance.now();
    this.record(Math.max(0, now - this.due));
    this.due = now + LAG_PERIOD_MS;
    this.timer = setTimeout(this.tick, LAG_PERIOD_MS);
    this.timer.unref();
  };

  /** One lateness, ms (exported for tests). */
  record(ms: number): void {
    if (this.count === MAX_READINGS) {
      this.readings.copyWithin(0, 1);
      this.count--;
    }
    this.readings[this.count++] = ms;
    this.latest = ms;
  }

  /** The statistics since the last call, in seconds; null when there was no reading. */
  take(): Record<Stat, number> | null {
    const n = this.count;
    if (n === 0) return null;
    const v = this.readings.subarray(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += v[i]!;
    const mean = sum / n;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (v[i]! - mean) ** 2;
    // Nearest rank.
    const q = (p: number): number => v[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]!;
    this.count = 0;
    return { last: this.latest / 1000, min: v[0]! / 1000, max: v[n - 1]! / 1000, mean: mean / 1000, stddev: Math.sqrt(sq / n) / 1000, p50: q(50) / 1000, p90: q(90) / 1000, p99: q(99) / 1000 };
  }
}

/** The seven families; one set of statistics per scrape (the first family's collect takes it). */
export function eventLoopLagMetrics(lag: EventLoopLag = new EventLoopLag()): CollectedMetric[] {
  lag.start();
  let snap: Record<Stat, number> | null = null;
  return EVENT_LOOP_LAG_FAMILIES.map(
    (stat, i) =>
      new CollectedMetric(eventLoopLagName(stat), `${WHAT[stat]} lateness of a timer due every ${LAG_PERIOD_MS} ms since the last scrape (event-loop delay)`, 'gauge', [], (emit) => {
        // Between two scrapes closer than a period the last reading stands.
        if (i === 0) snap = lag.take() ?? snap;
        if (snap !== null) emit({}, snap[stat]);
      }),
  );
}
