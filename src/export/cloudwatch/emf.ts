// CloudWatch Embedded Metric Format: the records `serve --emf` writes, and
// the one definition of their namespace, metric names, units and dimension
// sets, which the CloudFormation alarms and dashboard (template.ts) are
// generated from. Format: CloudWatch_Embedded_Metric_Format_Specification
// (a JSON object per line with an `_aws` member; metric values are numbers
// or arrays of at most 100 numbers; every other member is a property that
// CloudWatch Logs Insights can search).
//
// Two kinds of record:
//   - burst: one per finished burst. Three high-resolution metrics (size,
//     duration, peak rate) under [NodeName, Device, Stat] and [Stat], and the
//     whole burst as /api/bursts serves it (id, times, diagnosis, top pods)
//     as properties.
//   - minute: one per device per minute. For each allowance stat that rose
//     in the minute, the increase of every second in which it rose, as a
//     value array: CloudWatch's SampleCount is then the seconds with drops,
//     Sum the drops and Maximum the worst second, and percentiles see each
//     second, as ethtool_second_increase does in Prometheus. Stats without
//     drops add no values, so a quiet device costs a log line a minute and
//     no metric. The conntrack gauge goes with it, per node (every ENI of
//     an instance reports the instance's gauge: Minimum is its statistic).

import type { BurstRecord } from '../../aggregation/burst-record.js';
import { ALLOWANCE_STATS, CONNTRACK_AVAILABLE, type AllowanceStat } from '../../aggregation/stat-policy.js';

export const DEFAULT_NAMESPACE = 'ethburst';
/** The log group the CloudWatch agent writes the records to (`_aws.LogGroupName`). */
export const DEFAULT_LOG_GROUP = '/ethburst/emf';
/** The CloudWatch agent's EMF listener (TCP and UDP). */
export const AGENT_PORT = 25888;

// PutMetricData's namespace characters. Also what keeps a namespace safe
// inside the dashboard's JSON and the Metrics Insights "quoted" identifiers.
export const NAMESPACE = /^[0-9A-Za-z._/#: -]{1,255}$/;
export const NAMESPACE_PATTERN = NAMESPACE.source;
// CloudWatch Logs' log group names; none needs quoting in SOURCE '...'.
export const LOG_GROUP = /^[.\-_/#A-Za-z0-9]{1,512}$/;
export const LOG_GROUP_PATTERN = LOG_GROUP.source;

/** Why a namespace is unusable, or null. */
export function namespaceProblem(ns: string): string | null {
  if (!NAMESPACE.test(ns) || ns.trim() === '') return `"${ns}" is not a CloudWatch namespace (1-255 of A-Z a-z 0-9 . - _ / # : and space)`;
  if (ns.startsWith('AWS/')) return `"${ns}" is reserved for AWS (AWS/...)`;
  return null;
}

/** Why a log group name is unusable, or null. */
export function logGroupProblem(name: string): string | null {
  return LOG_GROUP.test(name) ? null : `"${name}" is not a log group name (1-512 of a-z A-Z 0-9 _ - . / #)`;
}

/** Dimension keys: target members on every record. */
export const DIM_NODE = 'NodeName';
export const DIM_DEVICE = 'Device';
export const DIM_STAT = 'Stat';

/** Units CloudWatch knows (MetricDatum). */
export type EmfUnit = 'Count' | 'Seconds' | 'Count/Second';

export interface EmfMetricDefinition {
  readonly name: string;
  readonly unit: EmfUnit;
  /** 1: high resolution (per-second statistics); 60 otherwise. */
  readonly storageResolution: 1 | 60;
  /** What it is and which statistic answers what, for the README and the template's descriptions. */
  readonly help: string;
}

export const BURST_SIZE: EmfMetricDefinition = { name: 'burst_size', unit: 'Count', storageResolution: 1, help: 'packets the burst dropped (SampleCount: bursts)' };
export const BURST_DURATION: EmfMetricDefinition = { name: 'burst_duration', unit: 'Seconds', storageResolution: 1, help: 'from the sample before the first drop to the last sample with drops' };
export const BURST_PEAK_RATE: EmfMetricDefinition = { name: 'burst_peak_rate', unit: 'Count/Second', storageResolution: 1, help: 'highest drop rate between two 100 ms samples' };
export const BURST_METRICS: readonly EmfMetricDefinition[] = [BURST_SIZE, BURST_DURATION, BURST_PEAK_RATE];
export const BURST_DIMENSIONS: readonly (readonly string[])[] = [[DIM_NODE, DIM_DEVICE, DIM_STAT], [DIM_STAT]];

/** The per-second metric of an allowance stat in the minute record: its values are the seconds with drops. */
export function secondsMetric(stat: AllowanceStat): EmfMetricDefinition {
  return { name: stat, unit: 'Count', storageResolution: 60, help: `${stat} counted in each second of the minute in which it rose (SampleCount: seconds with drops, Sum: drops, Maximum: the worst second)` };
}
export const SECONDS_METRICS: readonly EmfMetricDefinition[] = ALLOWANCE_STATS.map(secondsMetric);
export const SECONDS_DIMENSIONS: readonly (readonly string[])[] = [[DIM_NODE, DIM_DEVICE], []];

export const CONNTRACK_METRIC: EmfMetricDefinition = {
  name: CONNTRACK_AVAILABLE,
  unit: 'Count',
  storageResolution: 60,
  help: 'connections the instance can still track, at the end of the minute (instance-wide: one per node; Minimum across nodes without dimensions)',
};
export const CONNTRACK_DIMENSIONS: readonly (readonly string[])[] = [[DIM_NODE], []];

/** Where records go and who wrote them. */
export interface EmfIdentity {
  readonly namespace: string;
  readonly logGroup: string;
  readonly nodeName: string;
  /** Extra properties on every record (e.g. InstanceId where the machine says). */
  readonly properties?: Readonly<Record<string, string>>;
}

/** One MetricDirective of a record, as the specification spells it. */
interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit: EmfUnit; StorageResolution?: 1 }[];
}

export interface EmfRecord {
  _aws: { Timestamp: number; LogGroupName: string; CloudWatchMetrics: Directive[] };
  [member: string]: unknown;
}

function directive(ns: string, dims: readonly (readonly string[])[], metrics: readonly EmfMetricDefinition[]): Directive {
  return {
    Namespace: ns,
    Dimensions: dims.map((d) => [...d]),
    // StorageResolution 60 is the default: left out, as the specification's own examples do.
    Metrics: metrics.map((m) => (m.storageResolution === 1 ? { Name: m.name, Unit: m.unit, StorageResolution: 1 as const } : { Name: m.name, Unit: m.unit })),
  };
}

/** A finished burst as an EMF record, timestamped at its end. */
export function burstEmfRecord(r: Readonly<BurstRecord>, id: EmfIdentity): EmfRecord {
  const { device, stat, ...rest } = r;
  return {
    _aws: { Timestamp: Math.round(r.end_ms), LogGroupName: id.logGroup, CloudWatchMetrics: [directive(id.namespace, BURST_DIMENSIONS, BURST_METRICS)] },
    [DIM_NODE]: id.nodeName,
    [DIM_DEVICE]: device,
    [DIM_STAT]: stat,
    ...id.properties,
    record: 'burst',
    [BURST_SIZE.name]: r.increase,
    [BURST_DURATION.name]: r.duration_ms / 1000,
    [BURST_PEAK_RATE.name]: r.peak_rate_per_second,
    start: new Date(r.start_ms).toISOString(),
    end: new Date(r.end_ms).toISOString(),
    ...rest,
  };
}

/** One allowance stat's minute: the increase of each second in which it rose. */
export interface StatMinute {
  readonly stat: AllowanceStat;
  /** At most 60 values (a minute's seconds), so one record holds them (the format allows 100). */
  readonly seconds: readonly number[];
}

export interface DeviceMinute {
  readonly device: string;
  /** Unix ms of the minute's first second. */
  readonly startMs: number;
  /** Seconds of the minute the device was sampled in. */
  readonly sampledSeconds: number;
  readonly stats: readonly StatMinute[];
  /** conntrack_allowance_available at the end of the minute; null when the device has none. */
  readonly conntrackAvailable: number | null;
}

/** A device's minute as an EMF record, timestamped at the minute's start. */
export function minuteEmfRecord(m: Readonly<DeviceMinute>, id: EmfIdentity): EmfRecord {
  const dropping = m.stats.filter((s) => s.seconds.length > 0);
  // No directive without metrics: the specification allows an empty Metrics
  // array, but nothing says CloudWatch extracts the rest of a record with one.
  const directives: Directive[] = [];
  if (dropping.length > 0) directives.push(directive(id.namespace, SECONDS_DIMENSIONS, dropping.map((s) => secondsMetric(s.stat))));
  if (m.conntrackAvailable !== null) directives.push(directive(id.namespace, CONNTRACK_DIMENSIONS, [CONNTRACK_METRIC]));
  const rec: EmfRecord = {
    _aws: { Timestamp: m.startMs, LogGroupName: id.logGroup, CloudWatchMetrics: directives },
    [DIM_NODE]: id.nodeName,
    [DIM_DEVICE]: m.device,
    ...id.properties,
    record: 'minute',
    start: new Date(m.startMs).toISOString(),
    sampled_seconds: m.sampledSeconds,
  };
  // Summaries as properties too: Logs Insights reads them without unpacking the arrays.
  for (const s of dropping) {
    rec[s.stat] = [...s.seconds];
    let total = 0;
    let max = 0;
    for (const v of s.seconds) {
      total += v;
      if (v > max) max = v;
    }
    rec[`${s.stat}_seconds`] = s.seconds.length;
    rec[`${s.stat}_drops`] = total;
    rec[`${s.stat}_max_per_second`] = max;
  }
  if (m.conntrackAvailable !== null) rec[CONNTRACK_METRIC.name] = m.conntrackAvailable;
  return rec;
}
