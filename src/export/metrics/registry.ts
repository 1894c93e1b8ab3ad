// Exposition for both formats from one set of metrics. prom-client's
// registry renames counters in place when it renders OpenMetrics
// (standardizeCounterName), so the OpenMetrics registry holds thin views
// that strip `_total` on a copy and leave the real metrics untouched.

import { Registry, collectDefaultMetrics, type Metric, type OpenMetricsContentType } from 'prom-client';
import { EVENT_LOOP_LAG_FAMILIES, eventLoopLagMetrics, eventLoopLagName } from './event-loop.js';
import { PROTOBUF_CONTENT_TYPE, encodeFamilies, histogramFamily, snapshotFamily, type HistogramFamily, type ProtoFamily } from './protobuf.js';

export interface MetricSample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** What prom-client's Registry reads from a metric at scrape time. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: string;
  values: MetricSample[];
  aggregator: string;
}

/** Anything the registry can render: prom-client metrics and our own. */
export interface Exposable {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  get(): MetricSnapshot | Promise<MetricSnapshot> | Promise<unknown>;
  reset(): void;
  /** false: only in the protobuf exposition (a native histogram with nothing worth a classic series). */
  readonly text?: boolean;
  /** Its protobuf form when richer than its snapshot (native buckets). */
  family?(): HistogramFamily;
}

const stripTotal = (n: string): string => n.replace(/_total$/, '');

/** prom-client's escaping of names, help and label values, checked for first (it is rarely needed). */
const escapeText = (s: string): string => (s.includes('\\') || s.includes('\n') ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : s);
const escapeLabel = (v: string | number): string | number => (typeof v !== 'string' ? v : v.includes('"') || v.includes('\\') || v.includes('\n') ? escapeText(v).replace(/"/g, '\\"') : v);
const valueText = (v: number): string => (Number.isNaN(v) ? 'Nan' : !Number.isFinite(v) ? (v < 0 ? '-Inf' : '+Inf') : `${v}`);

/**
 * One family as prom-client's Registry#getMetricsAsString writes it, line
 * for line (test/exporter/exposition.test.ts compares the two), for
 * ethburst's own families: without its per-sample label arrays, filters and
 * regular expressions, which were most of a scrape's time (about half of
 * 8 devices' 5.7-7.9 ms render).
 */
export function formatFamily(snap: MetricSnapshot, openMetrics: boolean): string {
  const name = escapeText(snap.name);
  let out = `# HELP ${name} ${escapeText(snap.help)}\n# TYPE ${name} ${snap.type}`;
  const counter = openMetrics && snap.type === 'counter';
  for (const v of snap.values) {
    const metricName = counter ? `${v.metricName ?? name}_total` : (v.metricName ?? name);
    let labels = '';
    for (const k in v.labels) labels += `${labels === '' ? '' : ','}${k}="${escapeLabel(v.labels[k]!)}"`;
    out += `\n${metricName}${labels === '' ? '' : `{${labels}}`} ${valueText(v.value)}`;
  }
  return out;
}

type FamilyWriter = (m: unknown) => Promise<string>;

export class Exposition {
  readonly prometheus = new Registry();
  readonly openMetrics = new Registry<OpenMetricsContentType>();
  /** ethburst's own families and their OpenMetrics views: formatted by formatFamily. */
  private readonly own = new Set<unknown>();
  /** Every family in exposition order, for the protobuf format. */
  private readonly all: Exposable[] = [];
  /** prom-client's formatter, for its default metrics (exported for the comparison test). */
  readonly promClientFormat: { prometheus: FamilyWriter; openMetrics: FamilyWriter };

  constructor(opts: { defaultMetrics: boolean }) {
    this.openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    this.promClientFormat = { prometheus: this.formatWith(this.prometheus, false), openMetrics: this.formatWith(this.openMetrics, true) };
    if (opts.defaultMetrics) {
      // prom-client's event-loop monitor wakes every `precision` ms and its
      // statistics are replaced below (event-loop.ts, at 100 ms): it may
      // sleep 10 s instead of costing a second monitor's wake-ups.
      collectDefaultMetrics({ register: this.prometheus, eventLoopMonitoringPrecision: 10_000 });
      // nodejs_active_{handles,requests,resources}_total are gauges with a
      // counter's suffix; promtool rejects them and they say little here.
      for (const m of this.prometheus.getMetricsAsArray()) {
        if (String(m.type) !== 'counter' && m.name.endsWith('_total')) this.prometheus.removeSingleMetric(m.name);
      }
      // Per-V8-space heap sizes: 3 families × 9 spaces = 27 series on every
      // node, a third of a one-ENI node's series (bench section 8), for a
      // detail nodejs_heap_size_{total,used}_bytes already sums up.
      for (const name of ['nodejs_heap_space_size_total_bytes', 'nodejs_heap_space_size_used_bytes', 'nodejs_heap_space_size_available_bytes']) this.prometheus.removeSingleMetric(name);
      // Its event-loop delay statistics read the monitor's interval, not the lag (event-loop.ts): ours instead.
      for (const stat of EVENT_LOOP_LAG_FAMILIES) this.prometheus.removeSingleMetric(eventLoopLagName(stat));
      for (const m of this.prometheus.getMetricsAsArray()) {
        this.all.push(m as unknown as Exposable);
        this.addOpenMetricsView(m as unknown as Exposable);
      }
      for (const m of eventLoopLagMetrics()) this.register(m);
    }
  }

  register(m: Exposable): void {
    this.all.push(m);
    if (m.text === false) return;
    this.own.add(m);
    this.prometheus.registerMetric(m as unknown as Metric);
    this.own.add(this.addOpenMetricsView(m));
  }

  /** Routes the registry's per-family formatting of our own families to formatFamily; returns prom-client's. */
  private formatWith(reg: Registry<OpenMetricsContentType> | Registry, openMetrics: boolean): FamilyWriter {
    // metrics() calls this per family; an own property shadows the prototype's.
    const r = reg as unknown as { getMetricsAsString: FamilyWriter };
    const promClient = r.getMetricsAsString.bind(reg);
    r.getMetricsAsString = async (m) => (this.own.has(m) ? formatFamily((await (m as Exposable).get()) as MetricSnapshot, openMetrics) : promClient(m));
    return promClient;
  }

  private addOpenMetricsView(m: Exposable): Exposable {
    const view = {
      name: m.type === 'counter' ? stripTotal(m.name) : m.name,
      help: m.help,
      type: m.type,
      aggregator: 'sum',
      reset: () => {},
      async get() {
        const snap = (await m.get()) as MetricSnapshot;
        return m.type === 'counter' ? { ...snap, name: stripTotal(snap.name) } : snap;
      },
    };
    this.openMetrics.registerMetric(view as unknown as Metric);
    return view;
  }

  /** Renders in the format the Accept header prefers; returns [content type, body]. */
  async render(accept: string | undefined): Promise<[string, string | Buffer]> {
    if (exposition(accept) === 'protobuf') return [PROTOBUF_CONTENT_TYPE, await this.protobuf()];
    return this.renderText(accept);
  }

  /** The text formats only: OpenMetrics when Accept prefers it, else Prometheus text 0.0.4. */
  async renderText(accept: string | undefined): Promise<[string, string]> {
    if (exposition(accept) === 'openmetrics') return [Registry.OPENMETRICS_CONTENT_TYPE, await this.openMetrics.metrics()];
    return [Registry.PROMETHEUS_CONTENT_TYPE, await this.prometheus.metrics()];
  }

  /** Every family, native histograms included, as delimited MetricFamily messages. */
  async protobuf(): Promise<Buffer> {
    const families: ProtoFamily[] = [];
    for (const m of this.all) {
      if (m.family) {
        const f = m.family();
        if (f.metrics.length > 0) families.push(histogramFamily(f));
      } else {
        const snap = (await m.get()) as MetricSnapshot;
        if (snap.values.length > 0) families.push(snapshotFamily(snap));
      }
    }
    return encodeFamilies(families);
  }
}

type Format = 'protobuf' | 'openmetrics' | 'text';

/**
 * The format with the highest q-value in Accept; on a tie the richer one
 * (protobuf, then OpenMetrics), as a scraper listing several means it can
 * parse each. Protobuf only as the delimited MetricFamily stream.
 */
export function exposition(accept: string | undefined): Format {
  if (!accept) return 'text';
  const best: Record<Format, number> = { protobuf: -1, openmetrics: -1, text: -1 };
  for (const part of accept.split(',')) {
    const [type, ...rawParams] = part.trim().split(';');
    const params = new Map(rawParams.map((p) => p.trim().split('=', 2) as [string, string | undefined]).map(([k, v]) => [k.toLowerCase(), (v ?? '').replace(/^"|"$/g, '')]));
    const qText = params.get('q');
    const q = qText === undefined ? 1 : Number.isFinite(Number(qText)) ? Number(qText) : 0;
    const t = type!.trim().toLowerCase();
    let format: Format | null = null;
    if (t === 'application/vnd.google.protobuf') {
      if (params.get('proto') === 'io.prometheus.client.MetricFamily' && params.get('encoding') === 'delimited') format = 'protobuf';
    } else if (t === 'application/openmetrics-text') format = 'openmetrics';
    else if (t === 'text/plain' || t === '*/*') format = 'text';
    if (format) best[format] = Math.max(best[format], q);
  }
  if (best.protobuf > 0 && best.protobuf >= best.openmetrics && best.protobuf >= best.text) return 'protobuf';
  if (best.openmetrics > 0 && best.openmetrics >= best.text) return 'openmetrics';
  return 'text';
}
