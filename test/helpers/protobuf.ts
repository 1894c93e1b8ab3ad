// Reads the protobuf exposition back with the same metrics.proto the
// exporter encodes with, so tests see what Prometheus' parser sees.

import { decodeFamilies as decode } from '../../src/export/metrics/protobuf.js';

/** What Prometheus 2.42 sends with --enable-feature=native-histograms (scrape/scrape.go, scrapeAcceptHeaderWithProtobuf). */
export const PROMETHEUS_PROTOBUF_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

export interface DecodedHistogram {
  sampleCount: number;
  sampleSum: number;
  bucket?: { cumulativeCount: number; upperBound: number }[];
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  positiveSpan?: { offset?: number; length: number }[];
  positiveDelta?: number[];
}
export interface DecodedMetric {
  label?: { name: string; value: string }[];
  counter?: { value: number };
  gauge?: { value: number };
  untyped?: { value: number };
  histogram?: DecodedHistogram;
}
export interface DecodedFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'SUMMARY' | 'UNTYPED' | 'HISTOGRAM';
  metric: DecodedMetric[];
}

/** Every MetricFamily of a delimited stream, in order. */
export function decodeFamilies(body: Uint8Array): DecodedFamily[] {
  return decode(body) as unknown as DecodedFamily[];
}

/** The metric of a family whose labels include `want`; throws unless exactly one matches. */
export function metricOf(families: readonly DecodedFamily[], name: string, want: Record<string, string>): DecodedMetric {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name}`);
  const hits = f.metric.filter((m) => Object.entries(want).every(([k, v]) => m.label?.some((l) => l.name === k && l.value === v)));
  if (hits.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(want)}, found ${hits.length}`);
  return hits[0]!;
}

/** A native histogram's buckets as [upper bound, count], from its spans and deltas. */
export function nativeBuckets(h: DecodedHistogram): [number, number][] {
  const out: [number, number][] = [];
  const scale = 2 ** (h.schema ?? 0);
  let index = 0;
  let count = 0;
  let d = 0;
  // The first span's offset is the first bucket's index; each later one is the gap after the previous span.
  for (const span of h.positiveSpan ?? []) {
    index += span.offset ?? 0;
    for (let k = 0; k < span.length; k++) {
      count += h.positiveDelta![d++]!;
      if (count !== 0) out.push([2 ** (index / scale), count]);
      index++;
    }
  }
  return out;
}
