// How reading the devices goes: failed reads as the aggregation counts them
// (the same number live and offline), errors by code, and the duration of
// every GSTATS ioctl.

import type { Sample } from '../../sampling/sample.js';
import type { DeviceRecord } from '../../state/device-registry.js';
import { CollectedMetric } from './collected.js';
import { eachDevice, type MetricsContext } from './context.js';
import { FixedHistogram, type HistogramHandle } from './histogram.js';

export const FAILED_READS = 'ethtool_failed_reads_total';
export const IOCTL_DURATION = 'ethburst_ioctl_duration_seconds';
export const SAMPLE_ERRORS = 'ethburst_sample_errors_total';

/** Classic: at most 10 ms, or slower (the sampler backs off); the mean is _sum / _count, the native histogram has the detail. */
export const IOCTL_BUCKETS = [1e-2];
const IOCTL_NATIVE = { schema: 3, min: 1e-7, max: 10 };

export function readMetrics({ registry }: MetricsContext): (CollectedMetric | FixedHistogram)[] {
  const ioctl = new FixedHistogram(IOCTL_DURATION, 'Duration of each ETHTOOL_GSTATS ioctl (taken under rtnl_lock; an ENA admin-queue command)', ['device'], IOCTL_BUCKETS, IOCTL_NATIVE);
  // One handle per device record: a re-appearing device gets a new record and a fresh lookup.
  const handles = new WeakMap<DeviceRecord, HistogramHandle>();
  const seconds = new Float64Array(1);
  registry.addListener({
    onSample(s: Readonly<Sample>, d: DeviceRecord) {
      if (s.ioctlNs !== s.ioctlNs) return;
      let h = handles.get(d);
      if (!h) {
        h = ioctl.child(s.device);
        handles.set(d, h);
      }
      seconds[0] = s.ioctlNs / 1e9;
      h.observeAt(seconds, 0);
    },
    onDeviceRemoved(device: string) {
      ioctl.removeWhere('device', device);
    },
  });
  return [
    new CollectedMetric(
      FAILED_READS,
      'Reads that yielded no data: ioctl errors, all-zero customer metrics (a failed ENA admin command), and all-zero allowance counters the next good sample proved bogus',
      'counter',
      ['device'],
      (emit) => eachDevice(registry, (_d, device) => emit({ device }, registry.aggregator.failedReads(device))),
    ),
    ioctl,
    new CollectedMetric(SAMPLE_ERRORS, 'Failed reads by device and error code (ENODEV, ETIMEDOUT, …)', 'counter', ['device', 'code'], (emit) =>
      eachDevice(registry, (d, device) => {
        for (const [code, n] of d.errors) emit({ device, code }, n);
      }),
    ),
  ];
}
