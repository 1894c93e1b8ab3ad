// The protobuf exposition (`application/vnd.google.protobuf;
// proto=io.prometheus.client.MetricFamily; encoding=delimited`): the one
// format that carries Prometheus native histograms to a Prometheus 2.x
// scraper. Messages are built from Prometheus' own metrics.proto (vendored
// verbatim next to this file from prometheus/client_model; test/exporter/
// protobuf.test.ts checks it against Debian's copy) and encoded by
// protobufjs: no hand-written wire format.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type protobufjs from 'protobufjs';
import type { MetricSnapshot } from './registry.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

export interface NativeBuckets {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  spans: { offset: number; length: number }[];
  deltas: number[];
}

/** A histogram family as the protobuf exposition needs it: classic buckets without +Inf (implied by the count), native buckets when kept. */
export interface HistogramFamily {
  name: string;
  help: string;
  metrics: { labels: Readonly<Record<string, string>>; count: number; sum: number; buckets: { upperBound: number; cumulativeCount: number }[]; native: NativeBuckets | null }[];
}

// metrics.proto's MetricType.
const TYPE = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 } as const;

interface ProtoMetric {
  label: { name: string; value: string }[];
  counter?: { value: number };
  gauge?: { value: number };
  untyped?: { value: number };
  summary?: { sampleCount: number; sampleSum: number; quantile: { quantile: number; value: number }[] };
  histogram?: Record<string, unknown>;
}
interface ProtoFamily {
  name: string;
  help: string;
  type: number;
  metric: ProtoMetric[];
}

/** metrics.proto in the source tree, whether this module runs from src/ or from build/dist/src/. */
export function metricsProtoPath(from: string = dirname(fileURLToPath(import.meta.url))): string {
  const here = join(from, 'metrics.proto');
  try {
    readFileSync(here);
    return here;
  } catch {
    // build/dist/src/export/metrics → the package root's src/export/metrics.
    return join(from, '..', '..', '..', '..', '..', 'src', 'export', 'metrics', 'metrics.proto');
  }
}

let protobuf: typeof protobufjs | undefined;
let familyType: protobufjs.Type | undefined;

/**
 * protobufjs, loaded on the first protobuf scrape: a serve whose scrapers
 * ask for text never pays for it (about 8 MB of RSS when loaded).
 */
function lib(): typeof protobufjs {
  protobuf ??= createRequire(import.meta.url)('protobufjs') as typeof protobufjs;
  return protobuf;
}

/** The MetricFamily message type, parsed once on the first protobuf scrape. */
function metricFamilyType(): protobufjs.Type {
  if (!familyType) {
    const root = new (lib().Root)();
    // google/protobuf/timestamp.proto, which it imports, is one of protobufjs' bundled common types.
    root.loadSync(metricsProtoPath());
    familyType = root.lookupType('io.prometheus.client.MetricFamily');
  }
  return familyType;
}

const labelPairs = (labels: Readonly<Record<string, string | number>>): { name: string; value: string }[] => {
  const out: { name: string; value: string }[] = [];
  for (const k in labels) out.push({ name: k, value: String(labels[k]) });
  return out;
};

/** A family from the snapshot prom-client's Registry reads (counters, gauges, and prom-client's own histograms and summaries). */
export function snapshotFamily(snap: MetricSnapshot): ProtoFamily {
  const type = snap.type in TYPE ? TYPE[snap.type as keyof typeof TYPE] : TYPE.untyped;
  const metric: ProtoMetric[] = [];
  if (snap.type === 'histogram' || snap.type === 'summary') {
    // Regroup the _bucket/_sum/_count (or quantile) samples by their labels less le/quantile.
    const byKey = new Map<string, { labels: Record<string, string | number>; sum: number; count: number; points: [number, number][] }>();
    for (const v of snap.values) {
      const { le, quantile, ...rest } = v.labels;
      const key = JSON.stringify(rest);
      let g = byKey.get(key);
      if (!g) byKey.set(key, (g = { labels: rest, sum: 0, count: 0, points: [] }));
      const suffix = (v.metricName ?? snap.name).slice(snap.name.length);
      if (suffix === '_sum') g.sum = v.value;
      else if (suffix === '_count') g.count = v.value;
      else if (le !== undefined && le !== '+Inf') g.points.push([Number(le), v.value]);
      else if (quantile !== undefined) g.points.push([Number(quantile), v.value]);
    }
    for (const g of byKey.values()) {
      if (snap.type === 'histogram') {
        metric.push({ label: labelPairs(g.labels), histogram: { sampleCount: g.count, sampleSum: g.sum, bucket: g.points.map(([upperBound, cumulativeCount]) => ({ upperBound, cumulativeCount })) } });
      } else {
        metric.push({ label: labelPairs(g.labels), summary: { sampleCount: g.count, sampleSum: g.sum, quantile: g.points.map(([quantile, value]) => ({ quantile, value })) } });
      }
    }
  } else {
    const field = snap.type === 'counter' ? 'counter' : snap.type === 'gauge' ? 'gauge' : 'untyped';
    for (const v of snap.values) metric.push({ label: labelPairs(v.labels), [field]: { value: v.value } });
  }
  return { name: snap.name, help: snap.help, type, metric };
}

/** A family of ethburst's own histograms, native buckets included. */
export function histogramFamily(f: HistogramFamily): ProtoFamily {
  return {
    name: f.name,
    help: f.help,
    type: TYPE.histogram,
    metric: f.metrics.map((m) => ({
      label: labelPairs(m.labels),
      histogram: {
        sampleCount: m.count,
        sampleSum: m.sum,
        bucket: m.buckets,
        ...(m.native
          ? {
              schema: m.native.schema,
              zeroThreshold: m.native.zeroThreshold,
              zeroCount: m.native.zeroCount,
              positiveSpan: m.native.spans,
              positiveDelta: m.native.deltas,
            }
          : {}),
      },
    })),
  };
}

/**
 * The MetricFamily messages of a delimited stream, as plain objects (enums
 * as names, 64-bit numbers as numbers, unset fields absent): what a
 * Prometheus parser reads, for the bench and the tests.
 */
export function decodeFamilies(body: Uint8Array): Record<string, unknown>[] {
  const type = metricFamilyType();
  const reader = lib().Reader.create(body);
  const out: Record<string, unknown>[] = [];
  while (reader.pos < reader.len) out.push(type.toObject(type.decodeDelimited(reader), { enums: String, longs: Number, defaults: false }));
  return out;
}

/** The length-delimited MetricFamily messages, one after another, as the format wants them. */
export function encodeFamilies(families: readonly ProtoFamily[]): Buffer {
  const type = metricFamilyType();
  const writer = lib().Writer.create();
  for (const f of families) type.encodeDelimited(type.fromObject(f), writer);
  return Buffer.from(writer.finish());
}

export type { ProtoFamily };
