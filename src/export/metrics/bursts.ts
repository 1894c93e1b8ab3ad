// What the aggregation finds in the tracked stats: finished bursts (duration
// and size histograms, when the last one ended), per-second increases, the
// peak per-tick rate of the last minute (read from the 1 min window), and
// resets. Histograms follow the events through handles resolved once per
// (device, stat), so an observation allocates nothing.

import type { BurstEvent, EpochEvent, SecondEvent } from '../../aggregation/aggregator.js';
import type { RegistryListener } from '../../state/device-registry.js';
import { CollectedMetric } from './collected.js';
import { eachStat, type MetricsContext } from './context.js';
import { FixedHistogram, type NativeOptions } from './histogram.js';

/**
 * Classic buckets only where a question needs them, for a budget of ≤ 60
 * series per ENA device (every allowance with bursts, onsets learned, an
 * error code seen): a burst of at most a second (one or a few ticks: a
 * micro-burst) or a longer one, which the long-burst alert counts.
 * Everything finer (seconds vs minutes) is in the native histogram of the
 * protobuf exposition (schema 3, ~9 % wide buckets), one series each.
 */
export const BURST_DURATION_BUCKETS = [1];

/** Native bucket ranges: from a 10 ms tick to a day; from one packet to 10^10; a second's increase alike. */
const DURATION_NATIVE: NativeOptions = { schema: 3, min: 0.01, max: 86_400 };
const COUNT_NATIVE: NativeOptions = { schema: 3, min: 1, max: 1e10 };

export const BURST_DURATION = 'ethtool_burst_duration_seconds';
export const BURST_SIZE = 'ethtool_burst_size';
export const SECOND_INCREASE = 'ethtool_second_increase';
export const DROP_SECONDS = 'ethtool_drop_seconds_total';
export const PEAK_RATE = 'ethtool_peak_rate_per_second';
export const LAST_BURST_END = 'ethtool_last_burst_end_timestamp_seconds';
export const RESETS = 'ethtool_resets_total';

/** The window ethtool_peak_rate_per_second reads (one of the aggregation's windows). */
export const PEAK_WINDOW_MS = 60_000;

export function burstMetrics({ registry, opts }: MetricsContext): (CollectedMetric | FixedHistogram)[] {
  const duration = new FixedHistogram(BURST_DURATION, 'Duration of finished bursts of a tracked stat: from the sample before the first increase to the last increasing sample', ['device', 'stat'], BURST_DURATION_BUCKETS, DURATION_NATIVE);
  // Native only: their classic forms would cost series and repeat the raw counter (sum) and the burst count.
  const size = new FixedHistogram(BURST_SIZE, 'Packets counted in each finished burst of a tracked stat (sum of its per-tick increases)', ['device', 'stat'], [], COUNT_NATIVE, false);
  const second = new FixedHistogram(SECOND_INCREASE, 'Increase of a tracked stat in each unix second in which it rose (seconds without an increase are not observed: the count is ethtool_drop_seconds_total)', ['device', 'stat'], [], COUNT_NATIVE, false);
  const follow: RegistryListener = {
    // Every tracked stat shows its histograms from the start, empty until something happens.
    onEpoch(e: Readonly<EpochEvent>) {
      if (!registry.get(e.device)) return;
      for (const stat of e.trackedStats) for (const h of [duration, size, second]) h.child2(e.device, stat);
    },
    onSecond(e: Readonly<SecondEvent>) {
      if (e.increase > 0 && registry.get(e.device)) second.child2(e.device, e.stat).observe(e.increase);
    },
    onBurst(e: Readonly<BurstEvent>) {
      if (!registry.get(e.device)) return;
      duration.child2(e.device, e.stat).observe(e.durationMs / 1000);
      size.child2(e.device, e.stat).observe(e.increase);
    },
    onDeviceRemoved(device: string) {
      for (const h of [duration, size, second]) h.removeWhere('device', device);
    },
  };
  registry.addListener(follow);
  const agg = registry.aggregator;
  return [
    new CollectedMetric(DROP_SECONDS, 'Unix seconds in which a tracked stat rose (seconds with drops): a 2 s storm reads 2 at any scrape interval', 'counter', ['device', 'stat'], (emit) =>
      eachStat(registry, (labels, d, stat) => emit(labels, second.child2(d.info.name, stat).count)),
    ),
    duration,
    size,
    second,
    new CollectedMetric(
      PEAK_RATE,
      'Highest per-tick rate (increase per second between consecutive samples) of a tracked stat in the 1 min window (the last 60 to 70 s)',
      'gauge',
      ['device', 'stat'],
      (emit) => {
        // The windows run on the samples' clock; before any sample, on the wall clock.
        const now = agg.clockMs === agg.clockMs ? agg.clockMs : (opts.now ?? Date.now)();
        eachStat(registry, (labels, d, stat) => {
          const peak = agg.peakTickRate(d.info.name, stat, PEAK_WINDOW_MS, now);
          emit(labels, peak === peak ? peak : 0);
        });
      },
    ),
    new CollectedMetric(LAST_BURST_END, 'Unix time the last finished burst of a tracked stat ended (absent until one has)', 'gauge', ['device', 'stat'], (emit) =>
      eachStat(registry, (labels, d, stat) => {
        const end = d.stats.get(stat)!.lastBurstEndMs;
        if (end === end) emit(labels, end / 1000);
      }),
    ),
    new CollectedMetric(RESETS, 'Times the device’s counters went backwards (a driver or device reset: the most any tracked stat saw); increases are then taken from zero', 'counter', ['device'], (emit) => {
      const most = new Map<string, number>();
      for (const t of agg.totals()) if (registry.get(t.device)) most.set(t.device, Math.max(most.get(t.device) ?? 0, t.resets));
      for (const [device, n] of most) emit({ device }, n);
    }),
  ];
}
