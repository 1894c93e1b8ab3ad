// The CloudWatch side of `serve --emf`, generated from the one definition of
// the records (emf.ts) and of the Prometheus alerts (rules.ts):
//   - a CloudFormation template: the log group the agent writes the records
//     to, alarms asking the questions the Prometheus alerts ask, and a
//     dashboard;
//   - the CloudWatch agent's configuration receiving the records, on EC2
//     and in the Container Insights DaemonSet on EKS.
// `ethburst cloudwatch` prints them; the copies under deploy/cloudwatch/ are
// its output with the defaults, and a test fails when they are stale.
//
// Nothing here spells a metric name, dimension key or namespace: they come
// from emf.ts, and a dimension set an alarm or a query needs is looked up in
// the sets emf.ts declares, so a change there fails generation instead of
// leaving an alarm on a metric that no longer exists.

import { ALLOWANCE_STATS, CONNTRACK_AVAILABLE, type AllowanceStat } from '../../aggregation/stat-policy.js';
import { UsageError } from '../../errors.js';
import { statMetric } from '../metric-names.js';
import { CONNTRACK_LOW, DEFAULT_RULE_OPTIONS, ruleGroups, toYaml, type AlertingRule } from '../rules.js';
import {
  AGENT_PORT,
  BURST_DIMENSIONS,
  BURST_SIZE,
  CONNTRACK_DIMENSIONS,
  CONNTRACK_METRIC,
  DEFAULT_LOG_GROUP,
  DEFAULT_NAMESPACE,
  DIM_DEVICE,
  DIM_NODE,
  DIM_STAT,
  LOG_GROUP_PATTERN,
  NAMESPACE_PATTERN,
  SECONDS_DIMENSIONS,
  logGroupProblem,
  namespaceProblem,
  secondsMetric,
} from './emf.js';

type YamlValue = Parameters<typeof toYaml>[0];
type YamlMap = { readonly [k: string]: YamlValue | undefined };

export type CloudWatchFormat = 'template' | 'agent-ec2' | 'agent-eks';
export const CLOUDWATCH_FORMATS: readonly CloudWatchFormat[] = ['template', 'agent-ec2', 'agent-eks'];

export interface CloudWatchOptions {
  /** Default of the template's Namespace parameter (serve --emf-namespace). */
  readonly namespace: string;
  /** Default of the template's LogGroupName parameter (serve --emf-log-group). */
  readonly logGroup: string;
}

export const DEFAULT_CLOUDWATCH_OPTIONS: CloudWatchOptions = { namespace: DEFAULT_NAMESPACE, logGroup: DEFAULT_LOG_GROUP };

/**
 * The agent's Service on EKS: agent-eks.yaml adds it for the manifest
 * install, and the EKS add-on's operator creates one of the same name
 * (internalTrafficPolicy Local, the emf ports) when its configuration has
 * the emf section. ethburst runs in the host network with
 * ClusterFirstWithHostNet, so it resolves the name and kube-proxy takes the
 * connection to the agent of its own node.
 */
export const EKS_AGENT_SERVICE = { name: 'cloudwatch-agent', namespace: 'amazon-cloudwatch' } as const;
export const EKS_EMF_DESTINATION = `tcp://${EKS_AGENT_SERVICE.name}.${EKS_AGENT_SERVICE.namespace}.svc.cluster.local:${AGENT_PORT}`;
/** On EC2 the agent listens on loopback only (agent-ec2.json): nothing else in the VPC can put records into the account. */
export const EC2_EMF_DESTINATION = `tcp://127.0.0.1:${AGENT_PORT}`;

/** Where each format's committed copy lives, relative to the repository root. */
export const CLOUDWATCH_FILES: Readonly<Record<CloudWatchFormat, string>> = {
  template: 'deploy/cloudwatch/ethburst.cfn.yaml',
  'agent-ec2': 'deploy/cloudwatch/agent-ec2.json',
  'agent-eks': 'deploy/cloudwatch/agent-eks.yaml',
};

// ---------------------------------------------------------------------------
// Options

export function checkCloudWatchOptions(o: CloudWatchOptions): void {
  const ns = namespaceProblem(o.namespace);
  if (ns !== null) throw new UsageError(`--namespace ${ns}`);
  const lg = logGroupProblem(o.logGroup);
  if (lg !== null) throw new UsageError(`--log-group ${lg}`);
}

// ---------------------------------------------------------------------------
// CloudFormation

const P_NAMESPACE = 'Namespace';
const P_LOG_GROUP = 'LogGroupName';
const P_TOPIC = 'AlarmTopicArn';
const P_CONNTRACK = 'ConntrackLowThreshold';
const P_RETENTION = 'LogRetentionDays';
const C_TOPIC = 'HasAlarmTopic';
const PARAMETERS = [P_NAMESPACE, P_LOG_GROUP, P_TOPIC, P_CONNTRACK, P_RETENTION];
/** What a Fn::Sub in this template may name. */
const SUB_NAMES = new Set([...PARAMETERS, 'AWS::StackName', 'AWS::Region']);

/** The values AWS::Logs::LogGroup accepts for RetentionInDays. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const ref = (name: string): YamlMap => ({ Ref: name });

/** Fn::Sub in its long form (a plain-YAML map, unlike the !Sub tag); every ${...} must name something this template has. */
function sub(text: string): YamlMap {
  for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
    if (!m[1]!.startsWith('!') && !SUB_NAMES.has(m[1]!)) throw new Error(`Fn::Sub names \${${m[1]}}, which the template does not have`);
  }
  return { 'Fn::Sub': text };
}

/** The placeholder Fn::Sub fills with a parameter's value. */
const param = (name: string): string => `\${${name}}`;

/** `keys`, when emf.ts declares exactly that dimension set for the metric; generation fails otherwise. */
function declared(sets: readonly (readonly string[])[], keys: readonly string[], metric: string): readonly string[] {
  const same = (s: readonly string[]): boolean => s.length === keys.length && keys.every((k) => s.includes(k));
  if (!sets.some(same)) throw new Error(`emf.ts declares no dimension set [${keys.join(', ')}] for ${metric}`);
  return keys;
}

/** The Prometheus alert whose expression reads `metric` (exactly one). */
function prometheusAlert(metric: string): AlertingRule {
  const hits = ruleGroups(DEFAULT_RULE_OPTIONS)
    .flatMap((g) => g.rules)
    .filter((r): r is AlertingRule => 'alert' in r && r.expr.includes(metric));
  if (hits.length !== 1) throw new Error(`expected one Prometheus alert on ${metric}, found ${hits.length}`);
  return hits[0]!;
}

const WHO = 'ENA interface {{ $labels.device }} on {{ $labels.instance }}';

/**
 * A Prometheus description for an alarm that watches the fleet: the
 * metrics an alarm can watch carry no node, so the text cannot name one.
 */
function fleetWording(alert: AlertingRule): string {
  const text = (alert.annotations['description'] ?? '').replaceAll(WHO, 'An ENA interface of a node');
  if (text === '' || text.includes('{{')) throw new Error(`${alert.alert}: its description has templates an alarm cannot fill`);
  return text;
}

interface AlarmSpec {
  /** Logical ID, and the alarm name after the stack name. */
  readonly id: string;
  /** May name parameters as ${Name} (it goes through Fn::Sub). */
  readonly description: string;
  readonly metric: string;
  readonly dimensions: readonly { readonly Name: string; readonly Value: string }[];
  readonly statistic: 'SampleCount' | 'Minimum';
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number | YamlMap;
  readonly comparison: 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold';
  readonly treatMissingData: 'notBreaching' | 'missing';
}

/** Dashboard widget titles the alarm descriptions point to. */
const BURSTS_TITLE = 'Recent bursts';
const perNodeTitle = (stat: AllowanceStat): string => `Seconds with ${stat}, by node (top 10)`;
/** Stats whose minute metric has an alarm of its own ("a drop second anywhere in the fleet"), besides the burst alarms. */
const SECONDS_ALARM_STATS: readonly AllowanceStat[] = ['pps_allowance_exceeded'];

function descriptionOf(parts: readonly string[]): string {
  const text = parts.join(' ');
  // AlarmDescription's limit.
  if (text.length > 1024) throw new Error(`alarm description over 1024 characters: ${text}`);
  return text;
}

/** The drop alarms' evaluation: a datapoint of at least 1 in any of the last five minutes (why: alarmSpecs). */
const ANY_IN_FIVE_MINUTES = {
  statistic: 'SampleCount',
  evaluationPeriods: 5,
  datapointsToAlarm: 1,
  threshold: 1,
  comparison: 'GreaterThanOrEqualToThreshold',
  treatMissingData: 'notBreaching',
} as const;

function alarmSpecs(): AlarmSpec[] {
  const out: AlarmSpec[] = [];
  // Every alarm looks at 60 s periods. Datapoints arrive late: a burst's
  // record when it ends, a minute's when the minute is over (timestamped at
  // its start) plus the agent's flush. So the drop alarms take 1 datapoint
  // of the last 5, which also sees a minute delivered after its period was
  // first evaluated, and stays in ALARM for 5 quiet minutes, as
  // keep_firing_for does in Prometheus. No datapoint means no drops: the
  // records only carry metrics that rose.
  const burstDims = declared(BURST_DIMENSIONS, [DIM_STAT], BURST_SIZE.name);
  for (const stat of ALLOWANCE_STATS) {
    const alert = prometheusAlert(statMetric(stat).metric);
    out.push({
      id: alert.alert,
      description: descriptionOf([
        fleetWording(alert),
        `Alarm: ${BURST_SIZE.name} SampleCount (finished bursts) with ${DIM_STAT}=${stat} at least 1 in a minute of the last 5.`,
        `Which node and device, with each burst's diagnosis and remedy: the "${BURSTS_TITLE}" table of the dashboard.`,
        `Runbook: ${alert.annotations['runbook_url'] ?? ''}`,
      ]),
      metric: BURST_SIZE.name,
      dimensions: burstDims.map((k) => ({ Name: k, Value: stat })),
      ...ANY_IN_FIVE_MINUTES,
    });
  }

  // A burst reaches CloudWatch when it ends; the minute metric also shows
  // shaping that is still going on.
  declared(SECONDS_DIMENSIONS, [], 'the minute metrics');
  for (const stat of SECONDS_ALARM_STATS) {
    const alert = prometheusAlert(statMetric(stat).metric);
    out.push({
      id: `${alert.alert}Seconds`,
      description: descriptionOf([
        fleetWording(alert),
        `Alarm: ${secondsMetric(stat).name} SampleCount (seconds with drops) over all nodes at least 1 in a minute of the last 5; unlike the burst alarm it fires while the drops go on, before the burst ends.`,
        `Which nodes: "${perNodeTitle(stat)}" on the dashboard.`,
        `Runbook: ${alert.annotations['runbook_url'] ?? ''}`,
      ]),
      metric: secondsMetric(stat).name,
      dimensions: [],
      ...ANY_IN_FIVE_MINUTES,
    });
  }

  // A gauge every node reports every minute: a gap is a minute not yet
  // delivered, or nothing reporting at all, not headroom. 'missing' lets
  // CloudWatch evaluate the 5 newest datapoints it has (notBreaching would
  // count the newest minute, often not delivered yet, as fine, and 5 of 5
  // would rarely complete), and shows INSUFFICIENT_DATA when no node reports.
  const low = prometheusAlert(statMetric(CONNTRACK_AVAILABLE).metric);
  declared(CONNTRACK_DIMENSIONS, [], CONNTRACK_METRIC.name);
  out.push({
    id: low.alert,
    description: descriptionOf([
      fleetWording(low).replaceAll(String(CONNTRACK_LOW), param(P_CONNTRACK)),
      `Alarm: the Minimum of ${CONNTRACK_METRIC.name} over all nodes below ${param(P_CONNTRACK)} in each of 5 minutes; the dashboard shows the nodes with the least headroom.`,
      `Runbook: ${low.annotations['runbook_url'] ?? ''}`,
    ]),
    metric: CONNTRACK_METRIC.name,
    dimensions: [],
    statistic: 'Minimum',
    evaluationPeriods: 5,
    datapointsToAlarm: 5,
    threshold: ref(P_CONNTRACK),
    comparison: 'LessThanThreshold',
    treatMissingData: 'missing',
  });
  return out;
}

function alarmResource(a: AlarmSpec): YamlMap {
  // A new object each time: the YAML writer turns a shared one into an anchor and alias.
  const actions = (): YamlMap => ({ 'Fn::If': [C_TOPIC, [ref(P_TOPIC)], ref('AWS::NoValue')] });
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: sub(`\${AWS::StackName}-${a.id}`),
      AlarmDescription: a.description.includes('${') ? sub(a.description) : a.description,
      Namespace: ref(P_NAMESPACE),
      MetricName: a.metric,
      Dimensions: a.dimensions.length > 0 ? a.dimensions.map((d) => ({ ...d })) : undefined,
      Statistic: a.statistic,
      Period: 60,
      EvaluationPeriods: a.evaluationPeriods,
      DatapointsToAlarm: a.datapointsToAlarm,
      Threshold: a.threshold,
      ComparisonOperator: a.comparison,
      TreatMissingData: a.treatMissingData,
      AlarmActions: actions(),
      OKActions: actions(),
    },
  };
}

// The dashboard body is JSON inside Fn::Sub: parameters appear as
// ${Name}, and a number-valued one is written as a string first and
// unquoted afterwards.
const quotedNumber = (name: string): string => `\u0000${name}\u0000`;

/** A Metrics Insights identifier: always double-quoted (reserved words, the namespace's "/"). */
const mi = (id: string): string => `"${id}"`;

function insights(fn: 'COUNT' | 'MIN', metric: string, schema: readonly string[], groupBy: string, order: 'ASC' | 'DESC', limit: number): string {
  return `SELECT ${fn}(${mi(metric)}) FROM SCHEMA(${[mi(param(P_NAMESPACE)), ...schema.map(mi)].join(', ')}) GROUP BY ${mi(groupBy)} ORDER BY ${fn}() ${order} LIMIT ${limit}`;
}

function dashboardBody(): string {
  const ns = param(P_NAMESPACE);
  const region = param('AWS::Region');
  const burstStatDims = declared(BURST_DIMENSIONS, [DIM_STAT], BURST_SIZE.name);
  const fleetDims = declared(SECONDS_DIMENSIONS, [], 'the minute metrics');
  const perNode = declared(SECONDS_DIMENSIONS, [DIM_NODE, DIM_DEVICE], 'the minute metrics');
  const conntrackPerNode = declared(CONNTRACK_DIMENSIONS, [DIM_NODE], CONNTRACK_METRIC.name);
  declared(CONNTRACK_DIMENSIONS, [], CONNTRACK_METRIC.name);

  const graph = (x: number, y: number, w: number, title: string, metrics: unknown[], extra: Record<string, unknown> = {}): unknown => ({
    type: 'metric',
    x,
    y,
    width: w,
    height: 6,
    properties: { title, region, view: 'timeSeries', stacked: false, period: 60, metrics, yAxis: { left: { min: 0 } }, ...extra },
  });
  const widgets: unknown[] = [
    {
      type: 'text',
      x: 0,
      y: 0,
      width: 24,
      height: 2,
      properties: {
        markdown:
          `**ethburst**: ENA allowance drops from the EMF records of \`ethburst serve --emf\` (namespace \`${ns}\`, log group \`${param(P_LOG_GROUP)}\`). ` +
          'A stat without drops sends no datapoints: empty graphs mean no drops.',
      },
    },
    graph(
      0,
      2,
      12,
      'Bursts per minute, by allowance stat',
      // One stat per line: explicit metrics, the [Stat] dimension set.
      ALLOWANCE_STATS.map((s) => [ns, BURST_SIZE.name, ...burstStatDims.flatMap((k) => [k, s]), { stat: 'SampleCount', label: s }]),
    ),
    graph(
      12,
      2,
      12,
      'Seconds with drops per minute, all nodes, by stat',
      ALLOWANCE_STATS.map((s) => [ns, secondsMetric(s).name, ...fleetDims, { stat: 'SampleCount', label: s }]),
    ),
  ];
  // COUNT of the per-second values: the seconds with drops, summed over a node's interfaces.
  ALLOWANCE_STATS.forEach((s, i) => {
    widgets.push(
      graph((i % 3) * 8, 8 + Math.floor(i / 3) * 6, 8, perNodeTitle(s), [
        [{ expression: insights('COUNT', secondsMetric(s).name, perNode, DIM_NODE, 'DESC', 10), id: `q${i}`, period: 60 }],
      ]),
    );
  });
  const slot = ALLOWANCE_STATS.length;
  widgets.push(
    graph(
      (slot % 3) * 8,
      8 + Math.floor(slot / 3) * 6,
      24 - (slot % 3) * 8,
      `${CONNTRACK_METRIC.name}: lowest nodes and the fleet minimum`,
      [
        [ns, CONNTRACK_METRIC.name, { stat: 'Minimum', label: 'all nodes (Minimum)' }],
        [{ expression: insights('MIN', CONNTRACK_METRIC.name, conntrackPerNode, DIM_NODE, 'ASC', 5), id: 'conntrack', period: 60 }],
      ],
      { annotations: { horizontal: [{ label: P_CONNTRACK, value: quotedNumber(P_CONNTRACK) }] } },
    ),
  );
  const bottom = 8 + Math.ceil((slot + 1) / 3) * 6;
  widgets.push({
    type: 'log',
    x: 0,
    y: bottom,
    width: 24,
    height: 9,
    properties: {
      title: BURSTS_TITLE,
      region,
      view: 'table',
      query: [
        `SOURCE '${param(P_LOG_GROUP)}'`,
        'filter record = "burst"',
        'sort @timestamp desc',
        `fields start, ${DIM_NODE}, ${DIM_DEVICE}, ${DIM_STAT}, increase, duration_ms, peak_rate_per_second, diagnosis.cause, diagnosis.remedy, top_pods.0.pod, id`,
        'limit 50',
      ].join(' | '),
    },
  });

  const body = { start: '-PT3H', periodOverride: 'inherit', widgets };
  return JSON.stringify(body, null, 2).replace(/"\\u0000([A-Za-z]+)\\u0000"/g, (_, name: string) => param(name));
}

function templateDoc(o: CloudWatchOptions): YamlValue {
  const alarms = alarmSpecs();
  const resources: Record<string, YamlMap> = {
    LogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: ref(P_LOG_GROUP), RetentionInDays: ref(P_RETENTION) },
    },
  };
  for (const a of alarms) resources[`${a.id}Alarm`] = alarmResource(a);
  resources['Dashboard'] = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: { DashboardName: ref('AWS::StackName'), DashboardBody: sub(dashboardBody()) },
  };
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'ethburst: log group, alarms and dashboard for the CloudWatch Embedded Metric Format records of `ethburst serve --emf`',
    Parameters: {
      [P_NAMESPACE]: {
        Type: 'String',
        Default: o.namespace,
        AllowedPattern: NAMESPACE_PATTERN,
        Description: 'CloudWatch namespace of the metrics: serve --emf-namespace',
      },
      [P_LOG_GROUP]: {
        Type: 'String',
        Default: o.logGroup,
        AllowedPattern: LOG_GROUP_PATTERN,
        Description: 'Log group the agent writes the records to: serve --emf-log-group',
      },
      [P_TOPIC]: {
        Type: 'String',
        Default: '',
        Description: 'SNS topic ARN for ALARM and OK notifications (empty: alarms without actions)',
      },
      [P_CONNTRACK]: {
        Type: 'Number',
        Default: CONNTRACK_LOW,
        MinValue: 0,
        Description: `Alarm when fewer connections than this can still be tracked (the Prometheus alert's threshold)`,
      },
      [P_RETENTION]: {
        Type: 'Number',
        Default: 30,
        AllowedValues: RETENTION_DAYS,
        Description: 'Days CloudWatch Logs keeps the records (the metrics are kept independently of it)',
      },
    },
    Conditions: { [C_TOPIC]: { 'Fn::Not': [{ 'Fn::Equals': [ref(P_TOPIC), ''] }] } },
    Resources: resources,
    Outputs: {
      DashboardUrl: { Value: sub(`https://\${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=\${AWS::Region}#dashboards:name=\${AWS::StackName}`) },
      LogGroup: { Value: ref('LogGroup') },
    },
  };
}

const TEMPLATE_HEADER = [
  'Generated by `ethburst cloudwatch --format template` from src/export/cloudwatch/template.ts; do not edit.',
  'CloudWatch for `ethburst serve --emf`: the log group of the records, alarms asking what the',
  'Prometheus alerts ask, and a dashboard. Create the stack before the agents send: an agent that',
  'finds no log group creates it, and then this stack cannot.',
  '  aws cloudformation deploy --stack-name ethburst --template-file deploy/cloudwatch/ethburst.cfn.yaml \\',
  '    --parameter-overrides AlarmTopicArn=arn:aws:sns:REGION:ACCOUNT:TOPIC',
  'Then the CloudWatch agent (1.230621.0 or later; permissions: CloudWatchAgentServerPolicy):',
  `  EC2: deploy/cloudwatch/agent-ec2.json, and serve --emf ${EC2_EMF_DESTINATION}`,
  `  EKS: deploy/cloudwatch/agent-eks.yaml, and serve --emf ${EKS_EMF_DESTINATION}`,
  'with --emf-namespace and --emf-log-group equal to the Namespace and LogGroupName parameters.',
].join('\n');

// ---------------------------------------------------------------------------
// CloudWatch agent

/**
 * The agent's logs section receiving EMF. 5 s is the agent's default flush
 * and what CloudWatch recommends for alarms on EMF metrics; it is written
 * out so a merged configuration keeps it.
 */
function emfLogs(collected: Record<string, unknown>): Record<string, unknown> {
  return { metrics_collected: collected, force_flush_interval: 5 };
}

function agentEc2(): string {
  // tcp:HOST:PORT: one TCP listener on loopback (without service_address
  // the agent listens on TCP and UDP on every interface).
  return `${JSON.stringify({ logs: emfLogs({ emf: { service_address: `tcp:127.0.0.1:${AGENT_PORT}` } }) }, null, 2)}\n`;
}

function agentEks(): string {
  const config = {
    logs: emfLogs({
      // Container Insights as the current manifests configure it (enhanced
      // observability); the cluster name comes from the node's tags.
      kubernetes: { metrics_collection_interval: 60, enhanced_container_insights: true },
      emf: {},
    }),
  };
  const header = [
    'Generated by `ethburst cloudwatch --format agent-eks` from src/export/cloudwatch/template.ts; do not edit.',
    'The Container Insights CloudWatch agent (manifest install: DaemonSet cloudwatch-agent in',
    'amazon-cloudwatch, pods labelled name=cloudwatch-agent) receiving the EMF records of',
    '`ethburst serve --emf`:',
    '  kubectl apply -f deploy/cloudwatch/agent-eks.yaml',
    '  kubectl -n amazon-cloudwatch rollout restart daemonset/cloudwatch-agent',
    'The ConfigMap replaces the agent\'s own: if you changed yours, add `"emf": {}` under',
    'logs.metrics_collected there instead. The Service reaches the agent of the same node',
    `(internalTrafficPolicy Local), so the agent needs no hostPort; a node without an agent pod`,
    '(taints the DaemonSet does not tolerate) has nowhere to send.',
    'With the EKS add-on amazon-cloudwatch-observability instead, do not apply this file: add',
    '`"emf": {}` under agent.config.logs.metrics_collected in its configuration values (agent.config',
    'replaces the default configuration: give all of it); its operator then creates the same Service.',
    'ethburst (deploy/kubernetes/daemonset.yaml, hostNetwork with ClusterFirstWithHostNet) sends to the',
    'Service by name:',
    '  env:',
    '    - name: ETHBURST_SERVE_EMF',
    `      value: ${EKS_EMF_DESTINATION}`,
  ].join('\n');
  const configMap: YamlValue = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cwagentconfig', namespace: EKS_AGENT_SERVICE.namespace },
    data: { 'cwagentconfig.json': `${JSON.stringify(config, null, 2)}\n` },
  };
  const service: YamlValue = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: EKS_AGENT_SERVICE.name, namespace: EKS_AGENT_SERVICE.namespace, labels: { 'app.kubernetes.io/part-of': 'ethburst' } },
    spec: {
      selector: { name: 'cloudwatch-agent' },
      internalTrafficPolicy: 'Local',
      ports: [
        { name: 'emf-tcp', port: AGENT_PORT, targetPort: AGENT_PORT, protocol: 'TCP' },
        { name: 'emf-udp', port: AGENT_PORT, targetPort: AGENT_PORT, protocol: 'UDP' },
      ],
    },
  };
  return `${toYaml(configMap, header)}---\n${toYaml(service)}`;
}

// ---------------------------------------------------------------------------

export interface RenderCloudWatchOptions extends CloudWatchOptions {
  readonly format: CloudWatchFormat;
}

export function renderCloudWatch(o: RenderCloudWatchOptions): string {
  checkCloudWatchOptions(o);
  switch (o.format) {
    case 'template':
      return toYaml(templateDoc(o), TEMPLATE_HEADER);
    case 'agent-ec2':
      return agentEc2();
    case 'agent-eks':
      return agentEks();
  }
}

/** Each committed file under deploy/cloudwatch/ and what it must equal. */
export const GENERATED_CLOUDWATCH_FILES: Readonly<Record<string, () => string>> = Object.fromEntries(
  CLOUDWATCH_FORMATS.map((format) => [CLOUDWATCH_FILES[format], () => renderCloudWatch({ ...DEFAULT_CLOUDWATCH_OPTIONS, format })]),
);
