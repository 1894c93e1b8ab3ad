// The recording and alerting rules, written once. `ethburst rules` renders
// them as a plain Prometheus rules file, a prometheus-operator
// PrometheusRule and an ACK RuleGroupsNamespace for Amazon Managed Service
// for Prometheus; the copies under deploy/ are generated from here and a
// test fails when they are stale.
//
// Every alert must fire at scrape intervals of 15 s, 30 s and 60 s and at a
// rule-evaluation interval of 60 s (AMP's default). The seed guide's
// `rate(x[30s]) > 0` at a 30 s scrape almost never sees the two samples
// rate() needs, so it stays silent through real bursts. Hence:
//   - counter windows are 5m (at least 4x the slowest scrape interval we
//     support, 60 s), or 10m where an alert wants a sustained condition;
//   - gauges (conntrack available, up, device interval) need one sample;
//   - burst alerts carry keep_firing_for, so one burst gives one stable
//     alert instead of a flap per evaluation.
// Annotations use only $labels, never $value: the text is then exactly
// predictable, which the promtool unit tests rely on.

import { Document, Scalar, isMap, isScalar, visit } from 'yaml';
import { ALLOWANCE_STATS, CONNTRACK_AVAILABLE, type AllowanceStat } from '../aggregation/stat-policy.js';
import { UsageError } from '../errors.js';
import { statMetric } from './metric-names.js';
import { BURST_DURATION, DROP_SECONDS, PEAK_RATE } from './metrics/bursts.js';
import { SAMPLE_ERRORS } from './metrics/reads.js';
import { BACKOFF_EVENTS, DEVICE_INTERVAL, MISSED_TICKS, RING_OVERRUNS, SAMPLER_INTERVAL } from './metrics/sampler.js';

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly keep_firing_for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export type Rule = AlertingRule | RecordingRule;

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly Rule[];
}

export interface RuleOptions {
  /** The `job` label ethburst is scraped under (PodMonitor jobLabel, ADOT/Prometheus job_name). */
  readonly job: string;
  /** URL of deploy/RUNBOOK.md; each alert links to `#<alertname lowercased>`. */
  readonly runbookBase: string;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = {
  job: 'ethburst',
  runbookBase: 'https://github.com/OWNER/ethburst/blob/main/deploy/RUNBOOK.md',
};

/** Bursts longer than this many seconds raise EnaLongAllowanceBurst; must be a bucket bound of the burst duration histogram. */
export const LONG_BURST_SECONDS = 1;
/** EnaConntrackAllowanceLow threshold, in connections the instance can still track. */
export const CONNTRACK_LOW = 5000;

interface AllowanceAlert {
  readonly alert: string;
  readonly severity: 'warning' | 'critical';
  readonly summary: string;
  readonly what: string;
}

/** One alert per allowance counter (the type makes a new counter need one), in the order they are written out. */
const ALLOWANCE_ALERTS: Readonly<Record<AllowanceStat, AllowanceAlert>> = {
  linklocal_allowance_exceeded: {
    alert: 'EnaLinkLocalAllowanceExceeded',
    severity: 'warning',
    summary: 'Link-local (DNS/IMDS/NTP) packets dropped on {{ $labels.device }} of {{ $labels.instance }}',
    what:
      'exceeded the per-ENI packet-per-second limit for traffic to link-local services (Amazon DNS resolver, instance metadata, Amazon Time Sync; 1024 PPS per ENI for the resolver). Expect DNS timeouts and retries on this node',
  },
  pps_allowance_exceeded: {
    alert: 'EnaPpsAllowanceExceeded',
    severity: 'warning',
    summary: 'Packets dropped or queued for the instance PPS allowance on {{ $labels.device }} of {{ $labels.instance }}',
    what: "exceeded the instance type's packets-per-second allowance (bidirectional, shared by all ENIs of the instance)",
  },
  bw_in_allowance_exceeded: {
    alert: 'EnaBwInAllowanceExceeded',
    severity: 'warning',
    summary: 'Inbound packets dropped or queued for the bandwidth allowance on {{ $labels.device }} of {{ $labels.instance }}',
    what: "exceeded the instance type's inbound aggregate bandwidth allowance (often in bursts far shorter than the scrape interval)",
  },
  bw_out_allowance_exceeded: {
    alert: 'EnaBwOutAllowanceExceeded',
    severity: 'warning',
    summary: 'Outbound packets dropped or queued for the bandwidth allowance on {{ $labels.device }} of {{ $labels.instance }}',
    what: "exceeded the instance type's outbound aggregate bandwidth allowance (often in bursts far shorter than the scrape interval)",
  },
  conntrack_allowance_exceeded: {
    alert: 'EnaConntrackAllowanceExceeded',
    severity: 'critical',
    summary: 'New connections dropped: connection-tracking allowance exhausted on {{ $labels.instance }} ({{ $labels.device }})',
    what: 'hit the maximum number of tracked connections of the instance type, so packets of new connections were dropped',
  },
};

function q(s: string): string {
  // PromQL string literals accept Go-style escapes; JSON's are a subset.
  return JSON.stringify(s);
}

function runbook(opts: RuleOptions, alert: string): string {
  return `${opts.runbookBase}#${alert.toLowerCase()}`;
}

/**
 * Bursts longer than LONG_BURST_SECONDS since the exporter started, from
 * the classic buckets or, where Prometheus stores the native histogram
 * instead (native histograms on: it then drops the classic series), from
 * the native one. 1 s is a native bucket bound (2^0), so the fraction is
 * exact and round() only removes floating-point dust.
 */
export function longBurstCount(offset = '', indent = ''): string {
  const at = offset === '' ? '' : ` ${offset}`;
  const h = `${BURST_DURATION}${at}`;
  const le = q(String(LONG_BURST_SECONDS));
  return [
    `${BURST_DURATION}_count${at} - ignoring (le) ${BURST_DURATION}_bucket{le=${le}}${at}`,
    'or',
    `round(histogram_count(${h}) * (1 - histogram_fraction(0, ${LONG_BURST_SECONDS}, ${h})))`,
  ].join(`\n${indent}`);
}

/** The rule groups, in the order they are written out. */
export function ruleGroups(opts: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup[] {
  const job = `job=${q(opts.job)}`;
  const alerts: AlertingRule[] = [];

  for (const [stat, a] of Object.entries(ALLOWANCE_ALERTS) as [AllowanceStat, AllowanceAlert][]) {
    alerts.push({
      alert: a.alert,
      // A single counter's increase() is > 0 exactly when the counter rose
      // between two samples in the window (a drop to 0 on a driver reset
      // counts as a reset, not as drops); 5m holds >= 4 scrapes at 60 s.
      expr: `increase(${statMetric(stat).metric}[5m]) > 0`,
      keep_firing_for: '10m',
      labels: { severity: a.severity },
      annotations: {
        summary: a.summary,
        description: `ENA interface {{ $labels.device }} on {{ $labels.instance }} counted ${stat} in the last 5 minutes: the interface ${a.what}. ethburst samples every 100 ms; see the ethburst dashboard for seconds with drops and burst durations.`,
        runbook_url: runbook(opts, a.alert),
      },
    });
  }

  alerts.push({
    alert: 'EnaConntrackAllowanceLow',
    // A gauge: one sample is enough at any scrape interval. The value is
    // instance-wide; secondary ENIs may report it late (amzn-drivers#291).
    expr: `${statMetric(CONNTRACK_AVAILABLE).metric} < ${CONNTRACK_LOW}`,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Fewer than ' + String(CONNTRACK_LOW) + ' trackable connections left on {{ $labels.instance }} ({{ $labels.device }})',
      description:
        `ENA interface {{ $labels.device }} on {{ $labels.instance }} has reported ${CONNTRACK_AVAILABLE} below ` +
        String(CONNTRACK_LOW) +
        ' for 5 minutes. When it reaches 0, packets of new connections are dropped (conntrack_allowance_exceeded).',
      runbook_url: runbook(opts, 'EnaConntrackAllowanceLow'),
    },
  });

  // Bursts longer than LONG_BURST_SECONDS (longBurstCount), compared with
  // their count 5m ago rather than as a difference of
  // two increase() calls: increase() extrapolates each series on its own
  // and, on a young histogram, _count and one bucket extrapolate
  // differently, which can invent a "long burst" out of short ones.
  alerts.push({
    alert: 'EnaLongAllowanceBurst',
    expr: `(\n  (\n    ${longBurstCount('', '    ')}\n  )\n  -\n  (\n    ${longBurstCount('offset 5m', '    ')}\n  )\n) > 0`,
    keep_firing_for: '10m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'ENA drop burst longer than ' + String(LONG_BURST_SECONDS) + ' s ({{ $labels.stat }}) on {{ $labels.device }} of {{ $labels.instance }}',
      description:
        'ethburst saw {{ $labels.stat }} rise on consecutive 100 ms samples for more than ' +
        String(LONG_BURST_SECONDS) +
        ' s on {{ $labels.device }} of {{ $labels.instance }} in the last 5 minutes. Sustained shaping, not a micro-burst: the workload needs less traffic or a larger instance.',
      runbook_url: runbook(opts, 'EnaLongAllowanceBurst'),
    },
  });

  alerts.push({
    alert: 'EthburstSamplerDegraded',
    // Instance-wide conditions have no device label; label_replace() gives
    // them device="all" so every alert carries one.
    expr: [
      'label_replace(',
      `    increase(${MISSED_TICKS}[10m]) > 60`,
      '  or',
      `    increase(${RING_OVERRUNS}[10m]) > 0`,
      '  or',
      `    sum without (code) (increase(${SAMPLE_ERRORS}[10m])) > 10`,
      '  or',
      `    ${DEVICE_INTERVAL} > ignoring (device) group_left ${SAMPLER_INTERVAL}`,
      '  or',
      `    increase(${BACKOFF_EVENTS}[10m]) > 0`,
      '  , "device", "all", "device", ""',
      ')',
    ].join('\n'),
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'ethburst sampling is degraded on {{ $labels.instance }} ({{ $labels.device }})',
      description:
        'ethburst on {{ $labels.instance }} is missing 100 ms ticks, losing samples (ring overruns), failing reads or has backed off to a longer interval on {{ $labels.device }}. Bursts shorter than the effective interval may go unseen; the raw counters stay exact.',
      runbook_url: runbook(opts, 'EthburstSamplerDegraded'),
    },
  });

  alerts.push({
    alert: 'EthburstDown',
    // up is written on every scrape, so one sample decides; absent() covers
    // a workspace where no ethburst target reports at all.
    expr: [
      'label_replace(',
      '  label_replace(',
      `    up{${job}} == 0 or absent(up{${job}})`,
      '    , "device", "all", "device", ""',
      '  ), "instance", "none", "instance", ""',
      ')',
    ].join('\n'),
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'ethburst is down or not scraped ({{ $labels.instance }})',
      description: `Prometheus has not scraped ethburst (job ${opts.job}) on {{ $labels.instance }} successfully for 5 minutes, or no ethburst target exists at all (instance "none"). ENA allowance drops on the affected nodes are not being watched.`,
      runbook_url: runbook(opts, 'EthburstDown'),
    },
  });

  const rateAll = ALLOWANCE_STATS.map((s) => `label_replace(rate(${statMetric(s).metric}[5m]), "stat", ${q(s)}, "", "")`).join('\nor\n');
  const recording: RecordingRule[] = [
    // One series name for the five allowance counters, told apart by stat,
    // so a dashboard or an ad-hoc query over days needs one selector.
    { record: 'instance_device_stat:ethtool_allowance_exceeded:rate5m', expr: rateAll },
    // The bw/pps/conntrack allowances are per instance; each ENI reports
    // what was shaped on it, so the instance view is the sum over ENIs.
    {
      record: 'instance_stat:ethtool_allowance_exceeded:rate5m',
      expr: 'sum without (device) (instance_device_stat:ethtool_allowance_exceeded:rate5m)',
    },
    {
      record: 'instance_device_stat:ethtool_seconds_with_drops:increase5m',
      expr: `increase(${DROP_SECONDS}[5m])`,
    },
    { record: 'instance_device_stat:ethtool_bursts:increase5m', expr: `increase(${BURST_DURATION}_count[5m])` },
    { record: `instance_device_stat:${PEAK_RATE}:max5m`, expr: `max_over_time(${PEAK_RATE}[5m])` },
  ];

  return [
    { name: 'ethburst.recording', rules: recording },
    { name: 'ethburst.alerts', rules: alerts },
  ];
}

export function alertNames(groups: readonly RuleGroup[] = ruleGroups()): string[] {
  return groups.flatMap((g) => g.rules.flatMap((r) => ('alert' in r ? [r.alert] : [])));
}

// ---------------------------------------------------------------------------
// Output, through the `yaml` package (a runtime dependency, so `ethburst
// rules` works in production images). YAML 1.1 mode quotes what YAML 1.1
// parsers (Prometheus's yaml.v2 lineage, PyYAML) would read as booleans or
// null. Two choices are ours: PromQL is always a literal block (no escaped
// quotes, as in kube-prometheus and the AMP documentation), and annotation
// texts, with their {{ templates }}, are always double-quoted.

type YamlValue = string | number | boolean | readonly YamlValue[] | { readonly [k: string]: YamlValue | undefined };

const BLOCK_KEYS = new Set(['expr']);
const QUOTED_MAPS = new Set(['annotations']);

/** `doc` as YAML, with `comment` (lines without their `#`) above it. */
export function toYaml(doc: YamlValue, comment?: string): string {
  const d = new Document(doc, { version: '1.1' });
  visit(d, {
    Pair(_, pair) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const v = pair.value;
      if (isScalar(v) && typeof v.value === 'string' && (BLOCK_KEYS.has(key) || v.value.includes('\n'))) v.type = Scalar.BLOCK_LITERAL;
      if (QUOTED_MAPS.has(key) && isMap(v)) for (const item of v.items) if (isScalar(item.value) && typeof item.value.value === 'string') item.value.type = Scalar.QUOTE_DOUBLE;
    },
  });
  if (comment !== undefined && d.contents) d.contents.commentBefore = comment.replace(/^/gm, ' ');
  return d.toString({ lineWidth: 0, blockQuote: 'literal' });
}

function groupsDoc(groups: readonly RuleGroup[]): YamlValue {
  return { groups: groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r })) })) };
}

export type RulesFormat = 'prometheus' | 'operator' | 'ack';
export const RULES_FORMATS: readonly RulesFormat[] = ['prometheus', 'operator', 'ack'];

export interface RenderOptions extends RuleOptions {
  readonly format: RulesFormat;
  /** metadata.namespace of the PrometheusRule / RuleGroupsNamespace. */
  readonly namespace: string;
  /** spec.workspaceID of the RuleGroupsNamespace. */
  readonly workspaceId: string;
}

export const DEFAULT_RENDER_OPTIONS: Omit<RenderOptions, 'format'> = {
  ...DEFAULT_RULE_OPTIONS,
  namespace: 'ethburst',
  workspaceId: 'ws-EXAMPLE',
};

/** Where each format's committed copy lives, relative to the repository root. */
export const GENERATED_FILES: Readonly<Record<RulesFormat, string>> = {
  prometheus: 'deploy/prometheus/rules.yaml',
  operator: 'deploy/kubernetes/prometheusrule.yaml',
  ack: 'deploy/amp/rulegroupsnamespace.yaml',
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// AMP workspace IDs are "ws-" plus a UUID; the placeholder must pass too.
const WORKSPACE_ID = /^ws-[0-9A-Za-z][-0-9A-Za-z]*$/;

export function checkRenderOptions(o: RenderOptions): void {
  if (!DNS_LABEL.test(o.namespace)) throw new UsageError(`--namespace ${o.namespace}: not a Kubernetes namespace name`);
  if (!WORKSPACE_ID.test(o.workspaceId)) throw new UsageError(`--workspace-id ${o.workspaceId}: not an AMP workspace ID (ws-…)`);
  if (!/^[A-Za-z0-9_.:/-]+$/.test(o.job)) throw new UsageError(`--job ${o.job}: use letters, digits and _.:/- only`);
  let url: URL;
  try {
    url = new URL(o.runbookBase);
  } catch {
    throw new UsageError(`--runbook-base ${o.runbookBase}: not a URL`);
  }
  if (url.hash !== '') throw new UsageError(`--runbook-base ${o.runbookBase}: must not contain a #fragment (each alert adds its own)`);
}

export function renderRules(o: RenderOptions): string {
  checkRenderOptions(o);
  const groups = ruleGroups(o);
  const header = `Generated by \`ethburst rules --format ${o.format}\` from src/export/rules.ts; do not edit.`;
  const meta = { name: 'ethburst', namespace: o.namespace, labels: { 'app.kubernetes.io/name': 'ethburst', 'app.kubernetes.io/part-of': 'ethburst' } };
  switch (o.format) {
    case 'prometheus':
      return toYaml(groupsDoc(groups), header);
    case 'operator':
      return toYaml(
        {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'PrometheusRule',
          metadata: meta,
          spec: groupsDoc(groups),
        },
        header,
      );
    case 'ack':
      return toYaml(
        {
          apiVersion: 'prometheusservice.services.k8s.aws/v1alpha1',
          kind: 'RuleGroupsNamespace',
          metadata: meta,
          spec: {
            // spec.name is immutable in the ACK CRD: renaming means a new namespace in AMP.
            name: 'ethburst',
            workspaceID: o.workspaceId,
            // The string is exactly the rules file AMP receives.
            configuration: toYaml(groupsDoc(groups)),
          },
        },
        header,
      );
  }
}
