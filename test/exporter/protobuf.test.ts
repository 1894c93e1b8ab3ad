// The protobuf exposition: what a Prometheus with native histograms on asks
// for, the same numbers as the text formats, and native histograms whose
// buckets hold exactly the observations the aggregation made.

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { exposition } from '../../src/export/metrics/registry.js';
import { FixedHistogram, nativeIndex } from '../../src/export/metrics/histogram.js';
import { PROTOBUF_CONTENT_TYPE, metricsProtoPath } from '../../src/export/metrics/protobuf.js';
import { SimulateSource } from '../../src/sources/simulate.js';
import { testExporter } from '../helpers/exporter.js';
import { parseExposition } from '../helpers/exposition.js';
import { PROMETHEUS_PROTOBUF_ACCEPT, decodeFamilies, metricOf, nativeBuckets, type DecodedFamily } from '../helpers/protobuf.js';

describe('content negotiation', () => {
  it.each([
    [PROMETHEUS_PROTOBUF_ACCEPT, 'protobuf'],
    ['application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1', 'openmetrics'],
    ['text/plain;version=0.0.4;q=1,*/*;q=0.1', 'text'],
    [undefined, 'text'],
    ['*/*', 'text'],
    // Protobuf only as the delimited MetricFamily stream, and never at q=0.
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text', 'text'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0,text/plain', 'text'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.3,text/plain;q=0.5', 'text'],
  ])('%s → %s', (accept, want) => {
    expect(exposition(accept)).toBe(want);
  });
});

describe('native bucket index', () => {
  it('puts v in (2^((i-1)/2^s), 2^(i/2^s)], bounds included, for every schema Prometheus accepts', () => {
    fc.assert(
      fc.property(fc.integer({ min: -4, max: 8 }), fc.double({ min: 1e-9, max: 1e12, noNaN: true }), (schema, v) => {
        const i = nativeIndex(v, schema);
        const scale = 2 ** schema;
        expect(v).toBeGreaterThan(2 ** ((i - 1) / scale));
        expect(v).toBeLessThanOrEqual(2 ** (i / scale));
      }),
      { numRuns: 2000 },
    );
    // Observing uses precomputed bounds instead of powers: the same bucket, bounds included.
    const h = new FixedHistogram('t', 'h', [], [], { schema: 3, min: 1e-7, max: 10 }).child();
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: 2e-7, max: 9, noNaN: true }), fc.integer({ min: -180, max: 20 }).map((k) => 2 ** (k / 8))), (v) => {
        h.native!.fill(0);
        h.observe(v);
        expect(h.native!.findIndex((c) => c > 0) + h.nativeLow).toBe(nativeIndex(v, 3));
      }),
      { numRuns: 2000 },
    );
    // Powers of two are upper bounds: 1 is in bucket 0, 2 in bucket 2^schema.
    expect(nativeIndex(1, 3)).toBe(0);
    expect(nativeIndex(2, 3)).toBe(8);
    expect(nativeIndex(0.5, 0)).toBe(-1);
  });
});

describe('protobuf exposition of a simulated node', async () => {
  const e = testExporter({ defaultMetrics: true });
  const sim = new SimulateSource({ devices: 2, durationMs: 180_000, seed: 11 });
  await sim.run(e.registry);
  e.registry.finish();
  const [type, body] = await e.render(PROMETHEUS_PROTOBUF_ACCEPT);
  const families: DecodedFamily[] = decodeFamilies(body as Buffer);
  const text = parseExposition((await e.renderText(undefined))[1]);

  it('is served as the delimited MetricFamily stream', () => {
    expect(type).toBe(PROTOBUF_CONTENT_TYPE);
    expect(Buffer.isBuffer(body)).toBe(true);
  });

  it('holds every text family with the same values, plus the native-only ones', () => {
    const names = new Set(families.map((f) => f.name));
    // Families with samples (prom-client writes HELP and TYPE of empty ones too; protobuf has no such thing).
    for (const name of text.types.keys()) if (text.samples.some((x) => x.name === name || x.name.startsWith(`${name}_`))) expect(names, name).toContain(name);
    expect(names).toContain('ethtool_burst_size');
    expect(names).toContain('ethtool_second_increase');
    expect(names).toContain('process_cpu_seconds_total');
    for (const s of text.samples.filter((x) => x.name === 'ethtool_pps_allowance_exceeded_total' || x.name === 'ethtool_drop_seconds_total')) {
      expect(metricOf(families, s.name, s.labels).counter?.value).toBe(s.value);
    }
  });

  it('carries burst durations as classic buckets and a native histogram with the same count and sum', () => {
    let bursts = 0;
    for (const s of text.samples.filter((x) => x.name === 'ethtool_burst_duration_seconds_count')) {
      const h = metricOf(families, 'ethtool_burst_duration_seconds', s.labels).histogram!;
      expect(h.sampleCount).toBe(s.value);
      expect(h.schema).toBe(3);
      expect(h.bucket?.map((b) => b.upperBound)).toEqual([1]);
      // The native buckets hold every observation: their counts sum to the count.
      expect(nativeBuckets(h).reduce((n, [, c]) => n + c, 0) + (h.zeroCount ?? 0)).toBe(s.value);
      bursts += s.value;
    }
    expect(bursts).toBeGreaterThan(10);
  });

  it('burst sizes and per-second increases: counts match the burst count and the seconds with drops', () => {
    for (const s of text.samples.filter((x) => x.name === 'ethtool_drop_seconds_total')) {
      const second = metricOf(families, 'ethtool_second_increase', s.labels).histogram!;
      expect(second.sampleCount).toBe(s.value);
      // Only seconds with an increase are observed: nothing in the zero bucket.
      expect(second.zeroCount ?? 0).toBe(0);
      const durationCount = text.samples.find((x) => x.name === 'ethtool_burst_duration_seconds_count' && x.labels['device'] === s.labels['device'] && x.labels['stat'] === s.labels['stat'])!.value;
      const size = metricOf(families, 'ethtool_burst_size', s.labels).histogram!;
      expect(size.sampleCount).toBe(durationCount);
      expect(nativeBuckets(size).reduce((n, [, c]) => n + c, 0)).toBe(durationCount);
    }
  });
});

describe('metrics.proto', () => {
  // Debian's golang-github-prometheus-client-model-dev ships the upstream
  // file; .ci/run installs it so this comparison runs in CI.
  const debian = '/usr/share/gocode/src/github.com/prometheus/client_model/io/prometheus/client/metrics.proto';
  it.skipIf(!existsSync(debian))('is Prometheus client_model’s file, unchanged (Debian’s copy)', () => {
    expect(readFileSync(metricsProtoPath(), 'utf8')).toBe(readFileSync(debian, 'utf8'));
  });
});
