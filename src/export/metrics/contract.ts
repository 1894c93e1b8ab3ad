// The metric contract deploy/ builds on (rules, dashboard, ADOT config), as
// written to deploy/metric-names.json: generated from the families
// themselves, so a renamed or relabelled metric cannot leave the file
// behind (test/deploy/generated.test.ts checks it is current).

import { ENA_CUSTOMER_METRICS } from '../../aggregation/ena-stats.js';
import { DeviceRegistry } from '../../state/device-registry.js';
import { statMetric } from '../metric-names.js';
import { BURST_DURATION_BUCKETS } from './bursts.js';
import { FixedHistogram } from './histogram.js';
import { fixedFamilies } from './index.js';

export const CONTRACT_FILE = 'deploy/metric-names.json';

/** Bucket bounds that rules or dashboards select with le="…", spelled as the exposition spells them. */
const BUCKETS_USED: Record<string, { bounds: readonly number[]; used: readonly number[] }> = {
  ethtool_burst_duration_seconds: { bounds: BURST_DURATION_BUCKETS, used: [1] },
};

export interface MetricContract {
  /** native: a Prometheus native histogram in the protobuf exposition; text: false when only there. */
  families: { name: string; type: string; labels: string[]; native?: true; text?: false }[];
  histogramBucketsUsed: Record<string, string[]>;
  prefixesFromDefaults: string[];
}

export function metricContract(): MetricContract {
  const registry = new DeviceRegistry({ intervalMs: 100, burstGapMs: 2000, windowsMs: [] });
  const raw = ENA_CUSTOMER_METRICS.map((stat) => {
    const m = statMetric(stat);
    return { name: m.metric, type: m.type, labels: ['device'] };
  });
  const fixed = fixedFamilies({ registry, opts: { exportStat: () => true, compatShowmax: false, version: '' } }).map((f) => ({
    name: f.name,
    type: f.type,
    labels: [...f.labelNames],
    ...(f instanceof FixedHistogram && f.native ? { native: true as const } : {}),
    ...(f instanceof FixedHistogram && !f.text ? { text: false as const } : {}),
  }));
  const histogramBucketsUsed: Record<string, string[]> = {};
  for (const [family, { bounds, used }] of Object.entries(BUCKETS_USED)) {
    for (const le of used) if (!bounds.includes(le)) throw new Error(`${family}: le="${le}" is not a bucket bound`);
    histogramBucketsUsed[family] = used.map(String);
  }
  // prom-client's default process and Node.js metrics, which the dashboard may use.
  return { families: [...raw, ...fixed], histogramBucketsUsed, prefixesFromDefaults: ['process_', 'nodejs_'] };
}

/** The file's text: one family per line, so a diff shows what changed. */
export function renderContract(c: MetricContract = metricContract()): string {
  const comment =
    'The metric contract of `ethburst serve` that deploy/ builds on (rules, dashboard, ADOT), generated from src/export/metrics/ (do not edit: run ETHBURST_UPDATE_GENERATED=1 npx vitest run test/deploy/generated.test.ts). Tests check every rule and dashboard expression against this list, and the exporter’s end-to-end test checks it against a live /metrics. Families marked native are Prometheus native histograms in the protobuf exposition (text: false: only there). histogramBucketsUsed lists the le values that rules or dashboards select, which must be bucket bounds as the exporter formats them.';
  const fam = c.families.map((f) => `    ${JSON.stringify(f).replace(/,"/g, ', "').replace(/^\{/, '{ ').replace(/\}$/, ' }').replace(/":/g, '": ').replace(/","/g, '", "')}`);
  return `{\n  "$comment": ${JSON.stringify(comment)},\n  "families": [\n${fam.join(',\n')}\n  ],\n  "histogramBucketsUsed": {\n${Object.entries(c.histogramBucketsUsed).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v).replace(/,/g, ', ')}`).join(',\n')}\n  },\n  "prefixesFromDefaults": ${JSON.stringify(c.prefixesFromDefaults).replace(/,/g, ', ')}\n}\n`;
}
