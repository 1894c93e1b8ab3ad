// What the aggregation finds in the tracked stats: finished bursts (duration
// and size histograms, when the last one ended), per-second increases, the
// peak per-tick rate of the last minute (read from the 1 min window), and
// resets. Histograms follow the events through handles resolved once per
// (device, stat), so an observation allocates nothing.

import type { BurstEvent, EpochEvent, SecondEvent } from '../../aggregation/aggregator.js';
import type { RegistryListener } from '../../state/device-registry.js';
import { CollectedMetric } from './collected.js';
import { eachStat, type MetricsContext } from './context.js';
import { FixedHistogram } from './histogram.js';

/** Buckets sized for ENA reality, and for a budget of ~200 series per device. */
export const BURST_DURATION_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300];
export const BURST_SIZE_BUCKETS = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];
export const SECOND_INCREASE_BUCKETS = [0, 10, 100, 1e3, 1e4, 1e5, 1e6];

export const BURST_DURATION = 'ethtool_burst_duration_seconds';
export const BURST_SIZE = 'ethtool_burst_size';
export const SECOND_INCREASE = 'ethtool_second_increase';
export const PEAK_RATE = 'ethtool_peak_rate_per_second';
export const LAST_BURST_END = 'ethtool_last_burst_end_timestamp_seconds';
export const RESETS = 'ethtool_resets_total';

/** The window ethtool_peak_rate_per_second reads (one of the aggregation's windows). */
export const PEAK_WINDOW_MS = 60_000;

export function burstMetrics({ registry, opts }: MetricsContext): (CollectedMetric | FixedHistogram)[] {
  const duration = new FixedHistogram(BURST_DURATION, 'Duration of finished bursts of a tracked stat: from the sample before the first increase to the last increasing sample', ['device', 'stat'], BURST_DURATION_BUCKETS);
  const size = new FixedHistogram(BURST_SIZE, 'Packets counted in each finished burst of a tracked stat (sum of its per-tick increases)', ['device', 'stat'], BURST_SIZE_BUCKETS);
  const second = new FixedHistogram(SECOND_INCREASE, 'Increase of a tracked stat in each unix second, zeros included: count minus the le="0" bucket is seconds with drops', ['device', 'stat'], SECOND_INCREASE_BUCKETS);
  const follow: RegistryListener = {
    // Every tracked stat shows its histograms from the start, empty until something happens.
    onEpoch(e: Readonly<EpochEvent>) {
      if (!registry.get(e.device)) return;
      for (const stat of e.trackedStats) for (const h of [duration, size, second]) h.child2(e.device, stat);
    },
    onSecond(e: Readonly<SecondEvent>) {
      if (registry.get(e.device)) second.child2(e.device, e.stat).observe(e.increase);
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
    new CollectedMetric(RESETS, 'Times a tracked stat went backwards (driver or device reset); the increase is then taken from zero', 'counter', ['device', 'stat'], (emit) => {
      for (const t of agg.totals()) if (registry.get(t.device)) emit({ device: t.device, stat: t.stat }, t.resets);
    }),
  ];
}
