// One log line per finished burst: what an operator greps for, with the
// resolution of the numbers when the device refreshes its counters slower
// than it is sampled.

import type { BurstEvent } from '../aggregation/aggregator.js';
import { onsetMeasure, onsetValue } from '../aggregation/diagnosis.js';
import type { UpdatePeriod } from '../aggregation/update-period.js';
import type { Logger } from '../log.js';
import { topPodText } from '../talkers/top-talkers.js';
import type { DeviceRegistry, RegistryListener } from '../state/device-registry.js';

export function burstLog(registry: DeviceRegistry, log: Logger): RegistryListener {
  return {
    onBurst(e: Readonly<BurstEvent>) {
      log.log('info', 'burst', {
        // The registry numbered it before this listener runs: /api/bursts/{id}/trace.
        id: registry.bursts.lastId,
        device: e.device,
        stat: e.stat,
        start: new Date(e.startMs).toISOString(),
        end: new Date(e.endMs).toISOString(),
        duration_s: +(e.durationMs / 1000).toFixed(3),
        increase: e.increase,
        peak_rate_per_second: +e.peakRatePerSecond.toFixed(1),
        // Where the drops began and what it most likely was (diagnosis.ts; /api/bursts has the remedy).
        ...onsetField(e),
        cause: e.diagnosis.cause,
        diagnosis: e.diagnosis.summary,
        // Who moved the packets (the top three pods, their address, their share of the device's packets).
        ...topPodsField(e),
        // Only for a device slower than its sampling: the resolution the numbers above have.
        ...resolutionField(registry.aggregator.updatePeriod(e.device)),
      });
    },
  };
}

function onsetField(e: Readonly<BurstEvent>): Record<string, number> {
  const v = onsetValue(e.stat, e.onset);
  return Number.isFinite(v) ? { [`onset_${onsetMeasure(e.stat)}`]: Math.round(v) } : {};
}

function topPodsField(e: Readonly<BurstEvent>): { top_pods?: string } {
  if (e.topPods === null || e.topPods.length === 0) return {};
  return { top_pods: e.topPods.slice(0, 3).map(topPodText).join(', ') };
}

function resolutionField(p: UpdatePeriod | undefined): { resolution_s?: number } {
  return p && p.resolutionMs > 0 ? { resolution_s: p.resolutionMs / 1000 } : {};
}
