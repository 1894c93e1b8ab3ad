// Alert scenarios for `promtool test rules`, written once as the true state
// of a node over time and then *scraped* at 15, 30 or 60 s with an offset,
// the way Prometheus sees it. A scrape that lands on the rule evaluation
// grid would hide the very bug this project fixes (see seed.test.ts), so
// samples sit 7 s off the minute.
//
// Time is in seconds; every scenario's event starts at EVENT (20m13s) and
// checks happen on whole minutes, because promtool only loads samples up to
// each evaluation step.

import { stringify as yamlStringify } from 'yaml';
import { ruleGroups, type AlertingRule } from '../../src/export/rules.js';

export type Labels = Readonly<Record<string, string>>;
/** The true value of a series at time t, or undefined when nothing is exposed. */
export type Truth = (t: number) => number | undefined;

export const INSTANCE = 'ip-10-0-1-23.ec2.internal';
export const JOB = 'ethburst';
export const DEVICES = ['eth0', 'eth1'] as const;
export const EVENT = 20 * 60 + 13;
export const DURATION = 45 * 60;
export const SCRAPE_OFFSET = 7;
const STATS = ['bw_in_allowance_exceeded', 'bw_out_allowance_exceeded', 'pps_allowance_exceeded', 'conntrack_allowance_exceeded', 'linklocal_allowance_exceeded'] as const;
export type Stat = (typeof STATS)[number];

const after = (t0: number, before: number, then: number): Truth => (t) => (t >= t0 ? then : before);
const constant = (v: number): Truth => () => v;

export function seriesKey(metric: string, labels: Labels = {}): string {
  const all: Labels = { ...labels, instance: INSTANCE, job: JOB };
  const body = Object.entries(all)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${metric}{${body}}`;
}

export type World = Map<string, Truth>;

/** A healthy node that has dropped packets in the past (counters are not 0) but not now. */
export function quietNode(): World {
  const w: World = new Map();
  const set = (m: string, l: Labels, f: Truth): void => void w.set(seriesKey(m, l), f);
  set('up', {}, constant(1));
  for (const [i, device] of DEVICES.entries()) {
    for (const stat of STATS) {
      set(`ethtool_${stat}_total`, { device }, constant(1000 * (i + 1)));
      // Three short bursts before the test began; none longer than 1 s.
      set('ethtool_burst_duration_seconds_count', { device, stat }, constant(3));
      set('ethtool_burst_duration_seconds_bucket', { device, stat, le: '1' }, constant(3));
    }
    set('ethtool_conntrack_allowance_available', { device }, constant(400_000));
    set('ethburst_device_interval_seconds', { device }, constant(0.1));
    set('ethburst_backoff_events_total', { device }, constant(0));
    set('ethburst_sample_errors_total', { device, code: 'ENODEV' }, constant(1));
  }
  set('ethburst_sampler_interval_seconds', {}, constant(0.1));
  set('ethburst_sampler_ticks_total', {}, (t) => 10 * t);
  set('ethburst_sampler_missed_ticks_total', {}, constant(2));
  set('ethburst_ring_overruns_total', {}, constant(0));
  return w;
}

export interface Check {
  /** Whole minutes from the start. */
  readonly minute: number;
  /** Alerts expected to be firing then, by name, with the labels they carry besides alertname. */
  readonly firing: Readonly<Record<string, readonly Labels[]>>;
}

export interface Scenario {
  readonly name: string;
  readonly world: World;
  readonly checks: readonly Check[];
}

const target = { instance: INSTANCE, job: JOB };

function withChange(change: (w: World) => void): World {
  const w = quietNode();
  change(w);
  return w;
}

function bump(w: World, metric: string, labels: Labels, by: number, at = EVENT): void {
  const key = seriesKey(metric, labels);
  const old = w.get(key);
  if (!old) throw new Error(`no series ${key}`);
  w.set(key, (t) => {
    const v = old(t);
    return v === undefined ? v : t >= at ? v + by : v;
  });
}

const ALLOWANCE_ALERT: Record<Stat, { alert: string; severity: string }> = {
  linklocal_allowance_exceeded: { alert: 'EnaLinkLocalAllowanceExceeded', severity: 'warning' },
  pps_allowance_exceeded: { alert: 'EnaPpsAllowanceExceeded', severity: 'warning' },
  bw_in_allowance_exceeded: { alert: 'EnaBwInAllowanceExceeded', severity: 'warning' },
  bw_out_allowance_exceeded: { alert: 'EnaBwOutAllowanceExceeded', severity: 'warning' },
  conntrack_allowance_exceeded: { alert: 'EnaConntrackAllowanceExceeded', severity: 'critical' },
};

/** Silent before, firing 4 min after the event, still firing (keep_firing_for) at +13 min, resolved by +20 min. */
function burstChecks(firing: Record<string, readonly Labels[]>): Check[] {
  return [
    { minute: 19, firing: {} },
    { minute: 24, firing },
    { minute: 33, firing },
    { minute: 40, firing: {} },
  ];
}

export function scenarios(): Scenario[] {
  const out: Scenario[] = [];

  out.push({
    name: 'quiet node: old drops, no new ones',
    world: quietNode(),
    checks: [5, 10, 15, 20, 25, 30, 35, 40, 44].map((minute) => ({ minute, firing: {} })),
  });

  out.push({
    name: 'counter reset: driver reset and exporter restart at once, then nothing',
    world: withChange((w) => {
      for (const [key, f] of [...w]) {
        if (key.startsWith('up{') || key.includes('_interval_seconds') || key.includes('conntrack_allowance_available')) continue;
        w.set(key, (t) => (t >= EVENT ? (key.startsWith('ethburst_sampler_ticks_total') ? 10 * (t - EVENT) : 0) : f(t)));
      }
    }),
    checks: [19, 20, 21, 22, 23, 24, 25, 26, 28, 30, 35, 40].map((minute) => ({ minute, firing: {} })),
  });

  for (const stat of STATS) {
    const { alert, severity } = ALLOWANCE_ALERT[stat];
    // eth1, not eth0, so a rule that loses or mixes up the device label fails.
    out.push({
      name: `${alert}: one 400 ms burst of 300 ${stat} on eth1`,
      world: withChange((w) => bump(w, `ethtool_${stat}_total`, { device: 'eth1' }, 300)),
      checks: burstChecks({ [alert]: [{ ...target, device: 'eth1', severity }] }),
    });
  }

  out.push({
    name: 'EnaLongAllowanceBurst: one 2.3 s link-local burst on eth0',
    world: withChange((w) => {
      bump(w, 'ethtool_linklocal_allowance_exceeded_total', { device: 'eth0' }, 2300);
      bump(w, 'ethtool_burst_duration_seconds_count', { device: 'eth0', stat: 'linklocal_allowance_exceeded' }, 1);
    }),
    checks: burstChecks({
      EnaLinkLocalAllowanceExceeded: [{ ...target, device: 'eth0', severity: 'warning' }],
      EnaLongAllowanceBurst: [{ ...target, device: 'eth0', stat: 'linklocal_allowance_exceeded', severity: 'warning' }],
    }),
  });

  out.push({
    name: 'EnaLongAllowanceBurst stays silent on many short bursts',
    world: withChange((w) => {
      bump(w, 'ethtool_linklocal_allowance_exceeded_total', { device: 'eth0' }, 900);
      bump(w, 'ethtool_burst_duration_seconds_count', { device: 'eth0', stat: 'linklocal_allowance_exceeded' }, 40);
      bump(w, 'ethtool_burst_duration_seconds_bucket', { device: 'eth0', stat: 'linklocal_allowance_exceeded', le: '1' }, 40);
    }),
    checks: burstChecks({ EnaLinkLocalAllowanceExceeded: [{ ...target, device: 'eth0', severity: 'warning' }] }),
  });

  out.push({
    name: 'EnaConntrackAllowanceLow: 1200 connections left for 15 minutes',
    world: withChange((w) => {
      w.set(seriesKey('ethtool_conntrack_allowance_available', { device: 'eth0' }), (t) => (t >= EVENT && t < EVENT + 15 * 60 ? 1200 : 400_000));
    }),
    checks: [
      { minute: 22, firing: {} },
      { minute: 28, firing: { EnaConntrackAllowanceLow: [{ ...target, device: 'eth0', severity: 'warning' }] } },
      { minute: 34, firing: { EnaConntrackAllowanceLow: [{ ...target, device: 'eth0', severity: 'warning' }] } },
      { minute: 38, firing: {} },
    ],
  });

  const degraded = (device: string): Record<string, readonly Labels[]> => ({
    EthburstSamplerDegraded: [{ ...target, device, severity: 'warning' }],
  });
  out.push({
    name: 'EthburstSamplerDegraded: one missed tick per second',
    world: withChange((w) => w.set(seriesKey('ethburst_sampler_missed_ticks_total'), (t) => 2 + Math.max(0, Math.floor(t - EVENT)))),
    checks: [
      { minute: 21, firing: {} },
      { minute: 29, firing: degraded('all') },
      { minute: 40, firing: degraded('all') },
    ],
  });
  out.push({
    name: 'EthburstSamplerDegraded: eth1 backs off to 400 ms',
    world: withChange((w) => {
      w.set(seriesKey('ethburst_device_interval_seconds', { device: 'eth1' }), after(EVENT, 0.1, 0.4));
      bump(w, 'ethburst_backoff_events_total', { device: 'eth1' }, 1);
    }),
    checks: [
      { minute: 21, firing: {} },
      { minute: 29, firing: degraded('eth1') },
      { minute: 40, firing: degraded('eth1') },
    ],
  });
  out.push({
    name: 'EthburstSamplerDegraded: eth1 reads fail once a second',
    world: withChange((w) =>
      w.set(seriesKey('ethburst_sample_errors_total', { device: 'eth1', code: 'ENODEV' }), (t) => 1 + Math.max(0, Math.floor(t - EVENT))),
    ),
    checks: [
      { minute: 21, firing: {} },
      { minute: 29, firing: degraded('eth1') },
    ],
  });
  out.push({
    name: 'EthburstSamplerDegraded: one ring overrun',
    world: withChange((w) => bump(w, 'ethburst_ring_overruns_total', {}, 1)),
    checks: [
      { minute: 21, firing: {} },
      { minute: 29, firing: degraded('all') },
      { minute: 35, firing: {} },
    ],
  });

  out.push({
    name: 'EthburstDown: scrapes fail (up == 0)',
    world: withChange((w) => w.set(seriesKey('up'), after(EVENT, 1, 0))),
    checks: [
      { minute: 21, firing: {} },
      { minute: 29, firing: { EthburstDown: [{ ...target, device: 'all', severity: 'warning' }] } },
    ],
  });
  out.push({
    name: 'EthburstDown: the target disappears (absent)',
    world: withChange((w) => {
      for (const [key, f] of [...w]) w.set(key, (t) => (t >= EVENT ? undefined : f(t)));
    }),
    checks: [
      { minute: 21, firing: {} },
      { minute: 33, firing: { EthburstDown: [{ job: JOB, instance: 'none', device: 'all', severity: 'warning' }] } },
    ],
  });

  return out;
}

/** promtool's expanding notation for samples at offset + k * interval, at a 1 s resolution. */
export function scrapeValues(truth: Truth, intervalS: number, offsetS = SCRAPE_OFFSET, durationS = DURATION): string {
  const tokens: string[] = [];
  let gap = offsetS;
  for (let t = offsetS; t <= durationS; t += intervalS) {
    const v = truth(t);
    if (v === undefined) {
      gap += intervalS;
      continue;
    }
    if (gap > 0) tokens.push(`_x${gap}`);
    tokens.push(String(v));
    gap = intervalS - 1;
  }
  return tokens.join(' ');
}

/** Alert annotations with $labels filled in; the rules use nothing else (see src/export/rules.ts). */
export function renderAnnotations(rule: AlertingRule, labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.annotations)) {
    const text = v.replace(/\{\{ \$labels\.([a-zA-Z_][a-zA-Z0-9_]*) \}\}/g, (_, name: string) => labels[name] ?? '');
    if (text.includes('{{')) throw new Error(`annotation ${k} of ${rule.alert} uses more than {{ $labels.x }}: ${v}`);
    out[k] = text;
  }
  return out;
}

export function alertingRules(): AlertingRule[] {
  return ruleGroups().flatMap((g) => g.rules.filter((r): r is AlertingRule => 'alert' in r));
}

/** A promtool unit-test file for one scenario at one scrape and evaluation interval. */
export function promtoolTest(s: Scenario, ruleFile: string, scrapeS: number, evalS: number): string {
  const rules = alertingRules();
  const input_series = [...s.world].map(([series, truth]) => ({ series, values: scrapeValues(truth, scrapeS) }));
  const alert_rule_test = s.checks.flatMap((c) =>
    rules.map((r) => ({
      eval_time: `${c.minute}m`,
      alertname: r.alert,
      exp_alerts: (c.firing[r.alert] ?? []).map((labels) => ({ exp_labels: labels, exp_annotations: renderAnnotations(r, labels) })),
    })),
  );
  for (const name of Object.keys(Object.assign({}, ...s.checks.map((c) => c.firing)) as object)) {
    if (!rules.some((r) => r.alert === name)) throw new Error(`scenario ${s.name} expects unknown alert ${name}`);
  }
  return yamlStringify({
    rule_files: [ruleFile],
    evaluation_interval: `${evalS}s`,
    tests: [{ name: s.name, interval: '1s', input_series, alert_rule_test }],
  });
}
