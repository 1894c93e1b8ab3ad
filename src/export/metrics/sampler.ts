// The sampler's own health: its cadence, the ticks it ran and skipped, how
// late they started, back-off per device, and samples lost to a full ring.

import type { TickStats } from '../../sampling/sample.js';
import { CollectedMetric } from './collected.js';
import { eachDevice, type MetricsContext } from './context.js';
import { FixedHistogram } from './histogram.js';

export const SAMPLER_INTERVAL = 'ethburst_sampler_interval_seconds';
export const DEVICE_INTERVAL = 'ethburst_device_interval_seconds';
export const BACKOFF_EVENTS = 'ethburst_backoff_events_total';
export const SAMPLER_TICKS = 'ethburst_sampler_ticks_total';
export const MISSED_TICKS = 'ethburst_sampler_missed_ticks_total';
export const TICK_LATENESS = 'ethburst_sampler_tick_lateness_seconds';
export const RING_OVERRUNS = 'ethburst_ring_overruns_total';

export const LATENESS_BUCKETS = [1e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.05, 0.1];

export function samplerMetrics({ registry }: MetricsContext): (CollectedMetric | FixedHistogram)[] {
  const latenessHist = new FixedHistogram(TICK_LATENESS, 'How late each sampler tick started after its deadline', [], LATENESS_BUCKETS);
  const lateness = latenessHist.child();
  registry.addListener({
    onTickStats(t: Readonly<TickStats>) {
      lateness.observe(t.latenessNs / 1e9);
    },
  });
  return [
    new CollectedMetric(SAMPLER_INTERVAL, 'Configured sampling interval', 'gauge', [], (emit) => emit({}, registry.intervalMs / 1000)),
    new CollectedMetric(DEVICE_INTERVAL, 'Effective sampling interval of a device (longer than the configured one while backing off)', 'gauge', ['device'], (emit) =>
      eachDevice(registry, (d, device) => emit({ device }, d.intervalMs / 1000)),
    ),
    new CollectedMetric(BACKOFF_EVENTS, 'Times sampling of a device was slowed down because its ioctl was slow, timing out, or its ENA admin queue reported errors', 'counter', ['device'], (emit) =>
      eachDevice(registry, (d, device) => emit({ device }, d.backoffEvents)),
    ),
    new CollectedMetric(SAMPLER_TICKS, 'Sampler ticks run', 'counter', [], (emit) => emit({}, registry.samplerCounters().ticks)),
    new CollectedMetric(MISSED_TICKS, 'Sampler deadlines skipped because the previous tick overran (never queued)', 'counter', [], (emit) => emit({}, registry.samplerCounters().missedTicks)),
    latenessHist,
    new CollectedMetric(RING_OVERRUNS, 'Samples dropped because JavaScript did not drain the sample ring in time', 'counter', [], (emit) => emit({}, registry.samplerCounters().overruns)),
  ];
}
