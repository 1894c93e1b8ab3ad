// How often each device refreshes the counters it reports, as estimated by
// the aggregation from the samples themselves.

import { CollectedMetric } from './collected.js';
import { eachDevice, type MetricsContext } from './context.js';

export function refreshMetrics({ registry }: MetricsContext): CollectedMetric[] {
  const agg = registry.aggregator;
  return [
    new CollectedMetric(
      'ethburst_device_refresh_interval_seconds',
      'How often the device refreshes the counters it reports, estimated from the intervals between their changes (absent until they changed twice); bursts are reported at this resolution when it is clearly longer than the sampling interval',
      'gauge',
      ['device'],
      (emit) =>
        eachDevice(registry, (_d, device) => {
          const p = agg.updatePeriod(device);
          if (p && p.periodMs === p.periodMs) emit({ device }, p.periodMs / 1000);
        }),
    ),
  ];
}
