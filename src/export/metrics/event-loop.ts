// Event-loop lag, honestly. prom-client reads Node's monitorEventLoopDelay,
// which at the 100 ms resolution this exporter needs (not to wake 100 times
// a second) reads about 0.100 s at every percentile on an idle loop, and
// measured here it did not see a 400 ms block at all (its largest value
// after one: 104 ms). Same names, same families, measured directly: how late
// the process's periodic timers ran, and each scrape reports the statistics
// of the lateness since the last one.
//
// Lag rides on timers that run anyway (src/lag-hosts.ts: the native
// source's drain every second or 200 ms, the simulator's ticks); only while none runs
// does a timer of its own, every LAG_FALLBACK_MS.

import { CollectedMetric } from './collected.js';
import { addLagMonitor, removeLagMonitor, type LagMonitor } from '../../lag-hosts.js';

/**
 * The own timer's period while no host reports: an exporter with nothing
 * to sample has no periodic work to be late for, and a wake-up a second
 * would be its whole CPU budget (bench: serve with nothing to sample).
 */
export const LAG_FALLBACK_MS = 5000;
/** Readings kept between scrapes (10 minutes of the drain at 200 ms); older ones are dropped first. */
const MAX_READINGS = 3000;

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

/** Lateness readings (from hosts, or its own fallback timer), kept until the next scrape. */
export class EventLoopLag implements LagMonitor {
  private readonly readings = new Float64Array(MAX_READINGS);
  private count = 0;
  private latest = 0;
  private due = 0;
  private timer: NodeJS.Timeout | null = null;
  private started = false;

  start(): void {
    this.started = true;
    addLagMonitor(this);
  }

  stop(): void {
    this.started = false;
    removeLagMonitor(this);
    this.pause();
  }

  /** Stops the own timer (a host reports). */
  pause(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Starts the own timer (no host reports). */
  resume(): void {
    if (!this.started || this.timer) return;
    this.schedule();
  }

  private schedule(): void {
    this.due = performance.now() + LAG_FALLBACK_MS;
    this.timer = setTimeout(this.tick, LAG_FALLBACK_MS);
    // Measuring never keeps the process alive.
    this.timer.unref();
  }

  private readonly tick = (): void => {
    this.record(Math.max(0, performance.now() - this.due));
    this.schedule();
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
      new CollectedMetric(eventLoopLagName(stat), `${WHAT[stat]} lateness of the periodic timers (the sampler's drain, else one every ${LAG_FALLBACK_MS / 1000} s) since the last scrape (event-loop delay)`, 'gauge', [], (emit) => {
        // Between two scrapes closer than a period the last reading stands.
        if (i === 0) snap = lag.take() ?? snap;
        if (snap !== null) emit({}, snap[stat]);
      }),
  );
}
