// The CloudWatch files under deploy/cloudwatch/ are generated from
// src/export/cloudwatch/template.ts; this test regenerates them and fails
// when a committed copy is stale (ETHBURST_UPDATE_GENERATED=1 rewrites
// them). It also holds the template to the records `serve --emf` writes: an
// alarm or a dashboard query on a metric name, dimension set or field the
// records do not have would sit silent in CloudWatch forever, so every one
// is checked against records built by emf.ts itself.

import { readdirSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { main } from '../../src/cli.js';
import cloudwatchCommand from '../../src/commands/cloudwatch.js';
import serve from '../../src/commands/serve.js';
import { envNames, parseFlags } from '../../src/cli/flags.js';
import { UsageError } from '../../src/errors.js';
import { ALLOWANCE_STATS } from '../../src/aggregation/stat-policy.js';
import type { BurstRecord } from '../../src/aggregation/burst-record.js';
import { CONNTRACK_LOW } from '../../src/export/rules.js';
import { AGENT_PORT, DEFAULT_LOG_GROUP, DEFAULT_NAMESPACE, burstEmfRecord, minuteEmfRecord, type EmfIdentity, type EmfRecord } from '../../src/export/cloudwatch/emf.js';
import { parseEmfDestination } from '../../src/export/cloudwatch/emf-sink.js';
import {
  CLOUDWATCH_FILES,
  CLOUDWATCH_FORMATS,
  DEFAULT_CLOUDWATCH_OPTIONS,
  EC2_EMF_DESTINATION,
  EKS_AGENT_SERVICE,
  EKS_EMF_DESTINATION,
  GENERATED_CLOUDWATCH_FILES,
  renderCloudWatch,
} from '../../src/export/cloudwatch/template.js';
import { which } from '../../src/harness/which.js';
import { TempDir, at, isObj, missing, ok, readRepo, repoPath, run, runCommand, yamlDocs, yamlOne, type Obj } from './tools.js';

const UPDATE = process.env['ETHBURST_UPDATE_GENERATED'] === '1';
const DIR = 'deploy/cloudwatch';

const cli = (args: string[]) => runCommand(cloudwatchCommand, 'cloudwatch', args);

// ---------------------------------------------------------------------------
// The records, as serve --emf writes them: a burst of every allowance stat,
// and a minute in which every stat dropped (so every minute metric is there).

const IDENTITY: EmfIdentity = { namespace: DEFAULT_NAMESPACE, logGroup: DEFAULT_LOG_GROUP, nodeName: 'ip-10-0-1-23.eu-west-1.compute.internal', properties: { InstanceId: 'i-0123456789abcdef0' } };

function burst(stat: string): BurstRecord {
  return {
    id: 7,
    device: 'ens5',
    stat,
    start_ms: 1_760_000_000_000,
    end_ms: 1_760_000_000_400,
    duration_ms: 400,
    increase: 1234,
    peak_rate_per_second: 9000,
    onset: { rx_packets_per_second: 1000, tx_packets_per_second: 900, rx_bits_per_second: 8e6, tx_bits_per_second: 7e6, conntrack_available: 60000 },
    learned_onset: { measure: 'packets_per_second', value: 950, bursts: 4 },
    node_increase: { udp_out_datagrams: 4000, tcp_retrans_segs: 3 },
    diagnosis: { cause: 'linklocal', summary: 'Link-local traffic went over its limit.', remedy: 'Answer DNS on the node.' },
    top_pods: [{ veth: 'eni1a2b3c', ips: ['10.0.1.50'], pod: 'kube-system/coredns-abc', packets: 5000, bytes: 400000, share: 0.8 }],
  };
}

const SECONDS_WITH_DROPS = [3, 1, 40];
const burstRecords: EmfRecord[] = ALLOWANCE_STATS.map((s) => burstEmfRecord(burst(s), IDENTITY));
const minuteRecord: EmfRecord = minuteEmfRecord(
  { device: 'ens5', startMs: 1_760_000_040_000, sampledSeconds: 60, stats: ALLOWANCE_STATS.map((stat) => ({ stat, seconds: SECONDS_WITH_DROPS })), conntrackAvailable: 4200 },
  IDENTITY,
);
const RECORDS: EmfRecord[] = [...burstRecords, minuteRecord];

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((k) => b.includes(k));

/** The records that declare `metric` under exactly the dimension keys `keys`. */
function declaring(metric: string, keys: readonly string[], namespace = DEFAULT_NAMESPACE): EmfRecord[] {
  return RECORDS.filter((r) =>
    r._aws.CloudWatchMetrics.some((d) => d.Namespace === namespace && d.Metrics.some((m) => m.Name === metric) && d.Dimensions.some((set) => sameSet(set, keys))),
  );
}

/** Every field name Logs Insights sees in a record: nested objects and arrays flattened with dots. */
function fieldNames(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => fieldNames(x, `${prefix}${i}.`));
  if (isObj(v)) return Object.entries(v).flatMap(([k, x]) => (isObj(x) || Array.isArray(x) ? fieldNames(x, `${prefix}${k}.`) : [`${prefix}${k}`]));
  return [];
}

// ---------------------------------------------------------------------------
// The template, parsed

const templateText = renderCloudWatch({ ...DEFAULT_CLOUDWATCH_OPTIONS, format: 'template' });
const template = yamlOne(templateText) as Obj;
const parameters = at(template, 'Parameters') as Record<string, Obj>;
const resources = at(template, 'Resources') as Record<string, { Type: string; Properties: Obj }>;
const conditions = (template['Conditions'] ?? {}) as Obj;
const alarms = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
const PSEUDO = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);
/** What the pseudo parameters stand for when a test substitutes them. */
const PSEUDO_VALUES: Record<string, string> = { 'AWS::Region': 'eu-west-1', 'AWS::StackName': 'ethburst' };

/** Fn::Sub's text with every parameter at its default. */
function substitute(text: string): string {
  return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
    const v = name in parameters ? parameters[name]!['Default'] : PSEUDO_VALUES[name];
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`\${${name}} has no value`);
    return String(v);
  });
}

function subText(v: unknown): string {
  if (!isObj(v) || typeof v['Fn::Sub'] !== 'string') throw new Error(`not a Fn::Sub string: ${JSON.stringify(v)}`);
  return v['Fn::Sub'];
}

/** Every (kind, value) intrinsic function call in the document. */
function intrinsics(v: unknown, out: { fn: string; arg: unknown }[] = []): { fn: string; arg: unknown }[] {
  if (Array.isArray(v)) for (const x of v) intrinsics(x, out);
  else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'Ref' || k.startsWith('Fn::')) out.push({ fn: k, arg: x });
      intrinsics(x, out);
    }
  }
  return out;
}

const dashboard = Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!;
const dashboardBody = JSON.parse(substitute(subText(dashboard.Properties['DashboardBody']))) as { widgets: { type: string; x: number; y: number; width: number; height: number; properties: Obj }[] };

// ---------------------------------------------------------------------------

describe('generated CloudWatch files', () => {
  for (const format of CLOUDWATCH_FORMATS) {
    const file = CLOUDWATCH_FILES[format];
    it(`${file} is what \`ethburst cloudwatch --format ${format}\` prints`, async () => {
      const { code, out } = await cli(['--format', format]);
      expect(code).toBe(0);
      expect(out).toBe(GENERATED_CLOUDWATCH_FILES[file]!());
      if (UPDATE) writeFileSync(repoPath(file), out);
      if (readRepo(file) !== out) {
        throw new Error(
          `${file} is stale. Regenerate it with:\n` +
            `  ETHBURST_UPDATE_GENERATED=1 npx vitest run test/deploy/cloudwatch.test.ts\n` +
            `or: node build/dist/src/cli.js cloudwatch --format ${format} > ${file}`,
        );
      }
    });
  }

  it(`${DIR}/ holds the generated files and nothing else`, () => {
    expect(Object.keys(GENERATED_CLOUDWATCH_FILES).sort()).toEqual(Object.values(CLOUDWATCH_FILES).sort());
    expect(readdirSync(repoPath(DIR)).map((f) => `${DIR}/${f}`).sort()).toEqual(Object.values(CLOUDWATCH_FILES).sort());
  });

  it('--namespace and --log-group become the defaults of the template parameters', async () => {
    const doc = yamlOne((await cli(['--namespace', 'Team/ethburst', '--log-group', '/team/ethburst'])).out);
    expect(at(doc, 'Parameters.Namespace.Default')).toBe('Team/ethburst');
    expect(at(doc, 'Parameters.LogGroupName.Default')).toBe('/team/ethburst');
  });

  it('`ethburst cloudwatch` is a command: the template on stdout, a bad flag one line on stderr and exit 2', async () => {
    const runMain = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
      const [stdout, stderr] = [new PassThrough(), new PassThrough()];
      let out = '';
      let err = '';
      stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const code = await main(argv, { stdout, stderr, env: {}, signal: new AbortController().signal });
      return { code, out, err };
    };
    const good = await runMain(['cloudwatch']);
    expect(good.code).toBe(0);
    expect(good.out).toBe(templateText);
    const bad = await runMain(['cloudwatch', '--format', 'terraform']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^ethburst cloudwatch: .*--format.*\n$/);
    expect(bad.err.split('\n').length).toBe(2);
  });

  it('refuses bad values as usage errors', async () => {
    await expect(cli(['--format', 'terraform'])).rejects.toThrow(UsageError);
    await expect(cli(['--namespace', 'AWS/EC2'])).rejects.toThrow(/--namespace/);
    await expect(cli(['--namespace', 'a"b'])).rejects.toThrow(/--namespace/);
    await expect(cli(['--log-group', 'has space'])).rejects.toThrow(/--log-group/);
    // Callers that skip the flag parser get the same answer.
    expect(() => renderCloudWatch({ format: 'template', namespace: 'x', logGroup: "it's" })).toThrow(UsageError);
  });
});

describe('the CloudFormation template', () => {
  it('is a CloudFormation template: version, typed resources, parameters with working defaults', () => {
    expect(template['AWSTemplateFormatVersion']).toBe('2010-09-09');
    expect(Object.keys(resources).length).toBeGreaterThan(0);
    for (const [id, r] of Object.entries(resources)) {
      expect(id, 'logical IDs are alphanumeric').toMatch(/^[A-Za-z0-9]+$/);
      expect(r.Type, id).toMatch(/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/);
      expect(isObj(r.Properties), `${id}.Properties`).toBe(true);
    }
    // A default its own constraint refuses fails every deployment that keeps it.
    for (const [name, p] of Object.entries(parameters)) {
      expect(['String', 'Number'], name).toContain(p['Type']);
      expect(p, name).toHaveProperty('Default');
      if (typeof p['AllowedPattern'] === 'string') expect(String(p['Default']), name).toMatch(new RegExp(p['AllowedPattern']));
      if (Array.isArray(p['AllowedValues'])) expect(p['AllowedValues'], name).toContain(p['Default']);
    }
    expect(parameters['Namespace']!['Default']).toBe(DEFAULT_NAMESPACE);
    expect(parameters['LogGroupName']!['Default']).toBe(DEFAULT_LOG_GROUP);
    expect(parameters['ConntrackLowThreshold']!['Default']).toBe(CONNTRACK_LOW);
    expect(parameters['AlarmTopicArn']!['Default']).toBe('');
  });

  it('every Ref, Fn::Sub variable and Fn::If condition names something the template has', () => {
    const known = new Set([...Object.keys(parameters), ...Object.keys(resources), ...PSEUDO]);
    const calls = intrinsics(template);
    expect(calls.length).toBeGreaterThan(0);
    for (const { fn, arg } of calls) {
      if (fn === 'Ref') expect(known, `Ref ${String(arg)}`).toContain(arg);
      else if (fn === 'Fn::Sub') {
        expect(typeof arg, 'Fn::Sub takes a string here').toBe('string');
        for (const m of (arg as string).matchAll(/\$\{([^}]*)\}/g)) if (!m[1]!.startsWith('!')) expect(known, `\${${m[1]}}`).toContain(m[1]!.split('.')[0]);
      } else if (fn === 'Fn::If') expect(Object.keys(conditions), 'Fn::If condition').toContain((arg as unknown[])[0]);
      else expect(['Fn::Not', 'Fn::Equals'], fn).toContain(fn);
    }
  });

  it('has the log group the records name, with a retention', () => {
    const logGroup = Object.values(resources).find((r) => r.Type === 'AWS::Logs::LogGroup')!;
    expect(logGroup.Properties['LogGroupName']).toEqual({ Ref: 'LogGroupName' });
    expect(logGroup.Properties['RetentionInDays']).toEqual({ Ref: 'LogRetentionDays' });
    for (const r of RECORDS) expect(r._aws.LogGroupName).toBe(parameters['LogGroupName']!['Default']);
  });

  it('every alarm is well-formed, named after the stack, and notifies the topic only when one is given', () => {
    const ALARM_PROPERTIES = new Set([
      'AlarmName', 'AlarmDescription', 'ActionsEnabled', 'AlarmActions', 'OKActions', 'InsufficientDataActions', 'MetricName', 'Namespace', 'Dimensions', 'Statistic',
      'Period', 'EvaluationPeriods', 'DatapointsToAlarm', 'Threshold', 'ComparisonOperator', 'TreatMissingData', 'Unit',
    ]);
    const names = new Set<string>();
    for (const [id, { Properties: p }] of alarms) {
      for (const k of Object.keys(p)) expect(ALARM_PROPERTIES, `${id}.${k}`).toContain(k);
      const name = subText(p['AlarmName']);
      expect(name, id).toMatch(/^\$\{AWS::StackName\}-[A-Za-z0-9-]+$/);
      names.add(name);
      const description = typeof p['AlarmDescription'] === 'string' ? p['AlarmDescription'] : substitute(subText(p['AlarmDescription']));
      expect(description.length, id).toBeLessThanOrEqual(1024);
      expect(description, `${id}: the description tells what to do`).toMatch(/Runbook: https:\/\//);
      expect(description, `${id}: no Prometheus template left`).not.toMatch(/\{\{|\$labels/);
      expect(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']).toContain(p['Statistic']);
      expect(['GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold']).toContain(p['ComparisonOperator']);
      expect(['breaching', 'notBreaching', 'ignore', 'missing']).toContain(p['TreatMissingData']);
      expect(p['Period']).toBe(60);
      expect(p['DatapointsToAlarm'] as number).toBeLessThanOrEqual(p['EvaluationPeriods'] as number);
      for (const k of ['AlarmActions', 'OKActions']) expect(p[k], `${id}.${k}`).toEqual({ 'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] });
    }
    expect(names.size).toBe(alarms.length);
    expect(conditions['HasAlarmTopic']).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmTopicArn' }, ''] }] });
  });
});

const SKIP_LINT = missing('cfn-lint');

describe(`cfn-lint${SKIP_LINT}`, () => {
  const dir = new TempDir();
  afterAll(() => dir.remove());
  it.skipIf(SKIP_LINT !== '')(`${CLOUDWATCH_FILES.template} passes cfn-lint`, () => {
    ok(which('cfn-lint')!, [dir.write('ethburst.cfn.yaml', readRepo(CLOUDWATCH_FILES.template))]);
  });
  it.skipIf(SKIP_LINT !== '')('cfn-lint rejects a misspelt alarm statistic (the check can fail)', () => {
    const bad = readRepo(CLOUDWATCH_FILES.template).replace('Statistic: Minimum', 'Statistic: Min');
    const r = run(which('cfn-lint')!, [dir.write('bad.cfn.yaml', bad)]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/E3030 'Min' is not one of/);
  });
});

describe('alarms watch metrics the EMF records declare', () => {
  const dims = (p: Obj): { Name: string; Value: string }[] => (p['Dimensions'] ?? []) as { Name: string; Value: string }[];

  for (const [id, { Properties: p }] of alarms) {
    it(`${id}: ${String(p['MetricName'])} [${dims(p).map((d) => `${d.Name}=${d.Value}`).join(', ')}] is in the records, in the Namespace parameter's namespace`, () => {
      expect(p['Namespace']).toEqual({ Ref: 'Namespace' });
      const metric = p['MetricName'] as string;
      const keys = dims(p).map((d) => d.Name);
      const records = declaring(metric, keys, parameters['Namespace']!['Default'] as string);
      expect(records.length, `no record declares ${metric} under [${keys.join(', ')}]`).toBeGreaterThan(0);
      for (const d of dims(p)) {
        if (d.Name === 'Stat') expect(ALLOWANCE_STATS as readonly string[]).toContain(d.Value);
        // A record with this value in the member exists: the alarm's dimension value is one ethburst writes.
        expect(records.some((r) => r[d.Name] === d.Value), `${d.Name}=${d.Value}`).toBe(true);
      }
    });
  }

  it('one burst alarm per allowance stat, link-local included: any finished burst in the last 5 minutes', () => {
    const byStat = new Map(alarms.filter(([, a]) => a.Properties['MetricName'] === 'burst_size').map(([, a]) => [dims(a.Properties)[0]?.Value, a.Properties]));
    expect([...byStat.keys()].sort()).toEqual([...ALLOWANCE_STATS].sort());
    expect(byStat.has('linklocal_allowance_exceeded')).toBe(true);
    for (const p of byStat.values()) {
      expect(dims(p).map((d) => d.Name)).toEqual(['Stat']);
      expect(p).toMatchObject({ Statistic: 'SampleCount', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 1, TreatMissingData: 'notBreaching' });
    }
  });

  it('the PPS seconds alarm counts seconds with drops across the fleet: SampleCount of per-second values', () => {
    const [, a] = alarms.find(([, x]) => x.Properties['MetricName'] === 'pps_allowance_exceeded')!;
    expect(dims(a.Properties)).toEqual([]);
    expect(a.Properties).toMatchObject({ Statistic: 'SampleCount', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    // SampleCount means "seconds with drops" only because the value is one number per such second.
    expect(minuteRecord['pps_allowance_exceeded']).toEqual(SECONDS_WITH_DROPS);
  });

  it('the conntrack alarm compares the fleet minimum with the threshold parameter for 5 of 5 minutes', () => {
    const [, a] = alarms.find(([, x]) => x.Properties['MetricName'] === 'conntrack_allowance_available')!;
    expect(dims(a.Properties)).toEqual([]);
    expect(a.Properties).toMatchObject({ Statistic: 'Minimum', Threshold: { Ref: 'ConntrackLowThreshold' }, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 5 });
    expect(substitute(subText(a.Properties['AlarmDescription']))).toContain(`below ${CONNTRACK_LOW}`);
  });
});

describe('the dashboard', () => {
  const metricWidgets = dashboardBody.widgets.filter((w) => w.type === 'metric');
  const logWidgets = dashboardBody.widgets.filter((w) => w.type === 'log');

  it('is a dashboard body: widgets on the 24-column grid, none overlapping', () => {
    expect(dashboardBody.widgets.length).toBeGreaterThan(0);
    const cells = new Set<string>();
    for (const w of dashboardBody.widgets) {
      expect(['metric', 'log', 'text']).toContain(w.type);
      expect(w.x + w.width, JSON.stringify(w)).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      if (w.type !== 'text') {
        expect(w.properties['region']).toBe(PSEUDO_VALUES['AWS::Region']);
        expect(typeof w.properties['title']).toBe('string');
      }
    }
    expect(metricWidgets.length).toBeGreaterThan(0);
    expect(logWidgets.length).toBeGreaterThan(0);
  });

  it('its metrics and Metrics Insights queries name only metrics, dimension sets and values the records declare', () => {
    const ns = parameters['Namespace']!['Default'] as string;
    let queries = 0;
    for (const w of metricWidgets) {
      const ids = new Set<string>();
      for (const row of w.properties['metrics'] as unknown[][]) {
        const head = row[0];
        if (isObj(head) && typeof head['expression'] === 'string') {
          queries++;
          const id = head['id'] as string;
          expect(id, 'expression ids start with a lower-case letter').toMatch(/^[a-z][A-Za-z0-9_]*$/);
          expect(ids.has(id)).toBe(false);
          ids.add(id);
          const m = /^SELECT (AVG|COUNT|MAX|MIN|SUM)\("([^"]+)"\) FROM SCHEMA\(((?:"[^"]+"(?:, )?)+)\) GROUP BY ((?:"[^"]+"(?:, )?)+) ORDER BY \1\(\) (?:ASC|DESC) LIMIT \d+$/.exec(head['expression']);
          expect(m, head['expression']).not.toBeNull();
          const [, , metric, schema, groupBy] = m!;
          const [space, ...keys] = [...schema!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!);
          expect(space).toBe(ns);
          expect(declaring(metric!, keys).length, `${metric} under SCHEMA [${keys.join(', ')}]`).toBeGreaterThan(0);
          for (const g of groupBy!.matchAll(/"([^"]+)"/g)) expect(keys).toContain(g[1]);
        } else {
          const last = row[row.length - 1];
          const parts = (isObj(last) ? row.slice(0, -1) : row) as string[];
          const [space, metric, ...pairs] = parts;
          expect(space).toBe(ns);
          const keys = pairs.filter((_, i) => i % 2 === 0);
          const records = declaring(metric!, keys);
          expect(records.length, `${metric} under [${keys.join(', ')}]`).toBeGreaterThan(0);
          for (let i = 0; i < pairs.length; i += 2) expect(records.some((r) => r[pairs[i]!] === pairs[i + 1]), `${pairs[i]}=${pairs[i + 1]}`).toBe(true);
        }
      }
    }
    expect(queries, 'per-node views need Metrics Insights').toBeGreaterThan(0);
  });

  it('shows seconds with drops per node for every allowance stat, and bursts by stat', () => {
    const text = JSON.stringify(metricWidgets);
    for (const s of ALLOWANCE_STATS) {
      expect(text).toContain(`SELECT COUNT(\\"${s}\\") FROM SCHEMA(`);
      expect(text).toContain(`"burst_size","Stat","${s}"`);
    }
  });

  it('its Logs Insights query reads the records log group and names only fields a burst record has', () => {
    const fields = new Set(burstRecords.flatMap((r) => fieldNames(r)));
    for (const w of logWidgets) {
      const [source, ...commands] = (w.properties['query'] as string).split(' | ');
      expect(source).toBe(`SOURCE '${String(parameters['LogGroupName']!['Default'])}'`);
      const filter = commands.find((c) => c.startsWith('filter '));
      const f = /^filter (\w+) = "(\w+)"$/.exec(filter ?? '');
      expect(f, filter).not.toBeNull();
      expect(burstRecords.every((r) => r[f![1]!] === f![2])).toBe(true);
      expect(minuteRecord[f![1]!]).not.toBe(f![2]);
      const shown = commands.find((c) => c.startsWith('fields '))!.slice('fields '.length).split(', ');
      expect(shown.length).toBeGreaterThan(3);
      for (const name of shown) if (!name.startsWith('@')) expect(fields, name).toContain(name);
      expect(shown).toEqual(expect.arrayContaining(['diagnosis.cause', 'diagnosis.remedy', 'NodeName', 'Device', 'Stat']));
    }
  });
});

describe('the CloudWatch agent configurations', () => {
  it('EC2: the emf listener on loopback TCP, where the documented serve --emf sends', () => {
    const config = JSON.parse(readRepo(CLOUDWATCH_FILES['agent-ec2'])) as Obj;
    const emf = at(config, 'logs.metrics_collected.emf') as Obj;
    expect(emf['service_address']).toBe(`tcp:127.0.0.1:${AGENT_PORT}`);
    expect(parseEmfDestination(EC2_EMF_DESTINATION)).toEqual({ kind: 'tcp', host: '127.0.0.1', port: AGENT_PORT });
  });

  it('EKS: a valid ConfigMap with Container Insights and emf, and a node-local Service on the emf port', () => {
    const docs = yamlDocs(readRepo(CLOUDWATCH_FILES['agent-eks'])).filter(isObj);
    const configMap = docs.find((d) => d['kind'] === 'ConfigMap')!;
    const service = docs.find((d) => d['kind'] === 'Service')!;
    new ConfigMap(configMap).validate();
    new Service(service).validate();
    expect(at(configMap, 'metadata')).toMatchObject({ name: 'cwagentconfig', namespace: 'amazon-cloudwatch' });
    const config = JSON.parse((at(configMap, 'data') as Obj)['cwagentconfig.json'] as string) as Obj;
    expect(at(config, 'logs.metrics_collected.emf')).toEqual({});
    expect(isObj(at(config, 'logs.metrics_collected.kubernetes'))).toBe(true);
    expect(at(service, 'metadata')).toMatchObject({ name: EKS_AGENT_SERVICE.name, namespace: EKS_AGENT_SERVICE.namespace });
    expect(at(service, 'spec.internalTrafficPolicy')).toBe('Local');
    // The manifest install's agent pods carry name=cloudwatch-agent.
    expect(at(service, 'spec.selector')).toEqual({ name: 'cloudwatch-agent' });
    const ports = at(service, 'spec.ports') as Obj[];
    expect(ports.map((p) => [p['port'], p['protocol']]).sort()).toEqual([
      [AGENT_PORT, 'TCP'],
      [AGENT_PORT, 'UDP'],
    ]);
    expect(parseEmfDestination(EKS_EMF_DESTINATION)).toEqual({ kind: 'tcp', host: `${EKS_AGENT_SERVICE.name}.${EKS_AGENT_SERVICE.namespace}.svc.cluster.local`, port: AGENT_PORT });
  });

  it('the ethburst settings the files tell you to make are ones serve accepts', () => {
    const serveEnv = new Set(Object.entries(serve.flags).flatMap(([flag, def]) => envNames('serve', flag, def)));
    const eks = readRepo(CLOUDWATCH_FILES['agent-eks']);
    for (const m of eks.matchAll(/- name: (ETHBURST_\w+)/g)) expect(serveEnv).toContain(m[1]);
    for (const dest of [EC2_EMF_DESTINATION, EKS_EMF_DESTINATION]) {
      const argv = ['--emf', dest, '--emf-namespace', parameters['Namespace']!['Default'] as string, '--emf-log-group', parameters['LogGroupName']!['Default'] as string];
      const parsed = parseFlags('serve', serve.flags, argv, {});
      expect(parsed.flags['emf']).toBe(dest);
    }
    // The template's header names the same serve flags.
    for (const flag of templateText.matchAll(/--(emf[\w-]*)/g)) expect(Object.keys(serve.flags)).toContain(flag[1]);
  });
});
