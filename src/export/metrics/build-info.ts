// Which ethburst is running.

import { CollectedMetric } from './collected.js';
import type { MetricsContext } from './context.js';

export function buildInfoMetric({ opts }: MetricsContext): CollectedMetric {
  return new CollectedMetric('ethburst_build_info', 'ethburst version, value 1', 'gauge', ['version', 'node_version'], (emit) => emit({ version: opts.version, node_version: process.version }, 1));
}
