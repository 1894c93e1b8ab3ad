// Every metric family `serve` exposes, registered in the order a reader of
// /metrics meets them: devices, bursts, learned onsets, reads, the sampler, the flight
// recorder, the Kubernetes API, the EMF output, refresh estimates, build info, then the raw counters as they
// appear. Each family
// is defined once, in the file for its concept; deploy/metric-names.json is
// generated from here (contract.ts).

import { buildInfoMetric } from './build-info.js';
import { burstMetrics } from './bursts.js';
import type { MetricsContext } from './context.js';
import { deviceMetrics } from './device.js';
import { RawStatFamilies } from './raw-stats.js';
import { readMetrics } from './reads.js';
import { refreshMetrics } from './refresh.js';
import type { CollectedMetric } from './collected.js';
import type { FixedHistogram } from './histogram.js';
import type { Exposition } from './registry.js';
import { onsetMetrics } from './onsets.js';
import { recorderMetrics } from './recorder.js';
import { kubernetesMetrics } from './kubernetes.js';
import { samplerMetrics } from './sampler.js';
import { emfMetrics } from './emf.js';

export type { MetricsContext, MetricsOptions } from './context.js';

/** The fixed families (everything but the raw counters), in exposition order. */
export function fixedFamilies(ctx: MetricsContext): (CollectedMetric | FixedHistogram)[] {
  return [...deviceMetrics(ctx), ...burstMetrics(ctx), ...onsetMetrics(ctx), ...readMetrics(ctx), ...samplerMetrics(ctx), ...recorderMetrics(ctx), ...kubernetesMetrics(ctx), ...emfMetrics(ctx), ...refreshMetrics(ctx), buildInfoMetric(ctx)];
}

/** Registers every family; call `prepare()` before each render so the raw counters are current. */
export function registerMetrics(ctx: MetricsContext, exposition: Exposition): { prepare(): void } {
  for (const m of fixedFamilies(ctx)) exposition.register(m);
  return new RawStatFamilies(ctx, exposition);
}
