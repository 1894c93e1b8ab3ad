// An Exporter wired as `serve` wires it (a device registry, the metric
// families over it, the burst log), with test-friendly defaults: 100 ms
// sampling, 2 s burst gap, the default tracked stats, every stat exported,
// no log and no default process metrics. Samples go to `.registry`.

import { trackedStatMatcher } from '../../src/aggregation/stat-policy.js';
import { Exporter, type ExporterOptions } from '../../src/export/exporter.js';
import { silentLogger } from '../../src/log.js';
import { DeviceRegistry, type RegistryOptions } from '../../src/state/device-registry.js';

export type TestExporterOptions = Partial<RegistryOptions> & Partial<ExporterOptions>;

export function testExporter(o: TestExporterOptions = {}): Exporter {
  const registry = new DeviceRegistry({ intervalMs: o.intervalMs ?? 100, burstGapMs: o.burstGapMs ?? 2000, trackedStat: o.trackedStat ?? trackedStatMatcher(), ...(o.windowsMs ? { windowsMs: o.windowsMs } : {}), ...(o.sourceCounters ? { sourceCounters: o.sourceCounters } : {}), ...(o.recorder !== undefined ? { recorder: o.recorder } : {}) });
  return new Exporter(registry, {
    exportStat: o.exportStat ?? (() => true),
    compatShowmax: o.compatShowmax ?? false,
    log: o.log ?? silentLogger,
    version: o.version ?? 't',
    defaultMetrics: o.defaultMetrics ?? false,
    ...(o.now ? { now: o.now } : {}),
  });
}
