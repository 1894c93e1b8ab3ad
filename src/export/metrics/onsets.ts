// Learned limits: for each device and allowance, the traffic at which its
// drops began, the median over its last bursts (src/aggregation/
// burst-context.ts). AWS publishes bandwidth per instance type but not the
// pps or connection-tracking allowances; this is the measured answer. A
// series appears once a (device, stat) has had three bursts.

import { CollectedMetric } from './collected.js';
import type { MetricsContext } from './context.js';

export const ONSET_PACKETS = 'ethtool_allowance_onset_packets_per_second';
export const ONSET_BITS = 'ethtool_allowance_onset_bits_per_second';
export const ONSET_CONNTRACK = 'ethtool_allowance_onset_conntrack_available';

export function onsetMetrics({ registry }: MetricsContext): CollectedMetric[] {
  const each = (measures: readonly string[], labels: (device: string, stat: string) => Record<string, string>) => (emit: (l: Record<string, string>, v: number) => void) => {
    for (const o of registry.aggregator.learnedOnsets()) if (measures.includes(o.measure) && registry.get(o.device)) emit(labels(o.device, o.stat), o.value);
  };
  return [
    new CollectedMetric(ONSET_PACKETS, 'Packets per second (received + sent) on the interface when drops of this stat began: median of its last bursts', 'gauge', ['device', 'stat'], each(['packets_per_second'], (device, stat) => ({ device, stat }))),
    new CollectedMetric(ONSET_BITS, 'Bits per second on the interface (received for bw_in, sent for bw_out) when bandwidth drops began: median of the last bursts', 'gauge', ['device', 'stat'], each(['rx_bits_per_second', 'tx_bits_per_second'], (device, stat) => ({ device, stat }))),
    new CollectedMetric(ONSET_CONNTRACK, 'conntrack_allowance_available just before connection-tracking drops began: median of the last bursts', 'gauge', ['device'], each(['conntrack_available'], (device) => ({ device }))),
  ];
}
