// Proves test/helpers/prometheus.ts works with the real binaries: a
// Prometheus scraping itself with rules loaded (ours included), Alertmanager
// delivering an always-firing alert to a webhook in this process, and an
// agent-mode Prometheus remote-writing to a receiver (the AMP stand-in of
// the pipeline test).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  prometheusMissing,
  scrapeJob,
  startAlertmanager,
  startPrometheus,
  startWebhook,
  stopAll,
  type AlertmanagerInstance,
  type PrometheusInstance,
  type WebhookReceiver,
} from '../helpers/prometheus.js';
import { readRepo } from './tools.js';

const why = prometheusMissing();
if (why) console.warn(`Prometheus helper tests skipped: ${why}`);

const ALWAYS = JSON.stringify({
  groups: [
    {
      name: 'helper',
      rules: [
        // By instance: the agent below remote-writes its own up{job="prometheus"} here too.
        { record: 'helper:up:sum', expr: 'sum by (instance) (up{job="prometheus"})' },
        { alert: 'HelperAlwaysFiring', expr: 'vector(1)', labels: { severity: 'none', device: 'eth9', instance: 'helper' }, annotations: { summary: 'always' } },
      ],
    },
  ],
});

describe.skipIf(why !== null)(`Prometheus/Alertmanager test helper${why ? ` [SKIPPED: ${why}]` : ''}`, () => {
  let hook: WebhookReceiver | undefined;
  let am: AlertmanagerInstance | undefined;
  let prom: PrometheusInstance | undefined;
  let agent: PrometheusInstance | undefined;

  beforeAll(async () => {
    hook = await startWebhook();
    am = await startAlertmanager({ webhookUrl: hook.url });
    prom = await startPrometheus({
      scrapeSelf: true,
      remoteWriteReceiver: true,
      rules: { 'helper.json': ALWAYS, 'ethburst.yaml': readRepo('deploy/prometheus/rules.yaml') },
      alertmanagers: [am.address],
    });
    agent = await startPrometheus({ agent: true, scrapeConfigs: [scrapeJob('agent', '127.0.0.1:1', { labels: { role: 'unreachable' } })], scrapeSelf: true, remoteWriteUrls: [prom.remoteWriteUrl] });
  }, 60_000);

  afterAll(async () => {
    await stopAll(agent, prom, am, hook);
  });

  it('listens on loopback only and scrapes itself', async () => {
    expect(prom!.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const up = await prom!.waitForQuery('up{job="prometheus"} == 1');
    expect(up[0]!.metric['instance']).toBe(prom!.address);
  });

  it('loads the rules, ours included, and evaluates a recording rule', async () => {
    const groups = (await prom!.rules()).groups;
    expect(groups.map((g) => g.name).sort()).toEqual(['ethburst.alerts', 'ethburst.recording', 'helper']);
    for (const g of groups) for (const r of g.rules) expect(r.health === 'ok' || r.health === 'unknown', `${r.name}: ${r.lastError ?? ''}`).toBe(true);
    const rec = await prom!.waitForQuery(`helper:up:sum{instance="${prom!.address}"}`);
    expect(Number(rec[0]!.value![1])).toBe(1);
    // With no ethburst targets, EthburstDown's absent() branch is pending.
    await prom!.waitForQuery('ALERTS{alertname="EthburstDown", instance="none"}');
  });

  it('delivers an always-firing alert through Alertmanager to the webhook', async () => {
    const a = await hook!.waitFor((x) => x.labels['alertname'] === 'HelperAlwaysFiring');
    expect(a).toMatchObject({ status: 'firing', labels: { device: 'eth9', instance: 'helper', severity: 'none' }, annotations: { summary: 'always' } });
    expect((await am!.alerts()).some((x) => x.labels['alertname'] === 'HelperAlwaysFiring')).toBe(true);
  });

  it('carries an agent\'s scrapes to the receiver by remote write', async () => {
    const r = await prom!.waitForQuery('up{job="agent", role="unreachable"}');
    expect(r[0]!.value![1]).toBe('0');
    await prom!.waitForQuery(`up{job="prometheus", instance="${agent!.address}"} == 1`);
    const range = await prom!.queryRange('up{job="agent"}', Date.now() / 1000 - 60, Date.now() / 1000, '1s');
    expect(range.length).toBe(1);
  });
});
