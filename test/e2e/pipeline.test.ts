// The whole pipeline on loopback, as AMP users run it: ethburst ← Prometheus
// in agent mode scraping every 30 s → remote write → a Prometheus with our
// rules (standing in for AMP) → Alertmanager → a webhook. A link-local storm
// must arrive as EnaLinkLocalAllowanceExceeded for the right device and
// instance, while the seed guide's rate(x[30s]) > 0 rule, evaluated on the
// very same data, stays silent: the bug this project fixes, demonstrated.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prometheusMissing, scrapeJob, startAlertmanager, startPrometheus, startWebhook, stopAll, type AlertmanagerInstance, type PrometheusInstance, type WebhookReceiver } from '../helpers/prometheus.js';
import { startServe, type Served } from '../helpers/serve.js';
import { until } from '../../src/harness/wait.js';
import { SEED_RULES as GUIDE_RULES } from '../deploy/seed-guide.js';

const missing = prometheusMissing();
const RULES = readFileSync(fileURLToPath(new URL('../../deploy/prometheus/rules.yaml', import.meta.url)), 'utf8');

describe.skipIf(missing !== null)(`pipeline: ethburst → agent → remote write → rules → Alertmanager ${missing ? `(skipped: ${missing})` : ''}`, () => {
  let served: Served | undefined;
  let agent: PrometheusInstance | undefined;
  let central: PrometheusInstance | undefined;
  let am: AlertmanagerInstance | undefined;
  let hook: WebhookReceiver | undefined;

  afterAll(async () => {
    await stopAll(agent, central, am, hook);
    await served?.stop();
  });

  it('a link-local storm reaches Alertmanager with device and instance; the guide’s rule never fires on the same data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-pipeline-'));
    const script = join(dir, 'storm.json');
    // 40 s in: after the agent's first scrape (its offset is within one 30 s interval of its start).
    writeFileSync(script, JSON.stringify([{ device: 'eth0', stat: 'linklocal_allowance_exceeded', at_ms: 40_000, duration_ms: 2000, packets: 4000 }]));
    served = await startServe(['--source', 'simulate', '--simulate-script', script, '--compat', 'showmax']);
    const target = new URL(served.base).host;

    hook = await startWebhook();
    am = await startAlertmanager({ webhookUrl: hook.url });
    central = await startPrometheus({
      remoteWriteReceiver: true,
      evaluationInterval: '1s',
      rules: { 'ethburst.yaml': RULES, 'guide.yaml': GUIDE_RULES },
      alertmanagers: [am.address],
    });
    agent = await startPrometheus({ agent: true, scrapeInterval: '30s', scrapeConfigs: [scrapeJob('ethburst', target)], remoteWriteUrls: [central.remoteWriteUrl] });

    const alert = await hook.waitFor((a) => a.labels['alertname'] === 'EnaLinkLocalAllowanceExceeded', 150_000);
    expect(alert.labels).toMatchObject({ device: 'eth0', instance: target, severity: 'warning', job: 'ethburst' });
    expect(alert.annotations['runbook_url']).toMatch(/RUNBOOK\.md#enalinklocalallowanceexceeded$/);

    // The data was there for both rules: the raw counters reached the receiver. The alert can
    // fire on a scrape taken mid-storm (2 s of every 30); the rest arrives with the next one.
    const riseQuery = 'max_over_time(node_net_ethtool{device="eth0",type="linklocal_allowance_exceeded"}[5m]) - min_over_time(node_net_ethtool{device="eth0",type="linklocal_allowance_exceeded"}[5m])';
    const rise = async (): Promise<number> => Number((await central!.query(riseQuery))[0]?.value?.[1] ?? Number.NaN);
    await until(async () => (await rise()) === 4000, 'the whole storm in the receiver', 45_000).catch(() => undefined);
    expect(await rise()).toBe(4000);
    // ...and the guide's alert never so much as went pending, nor did its recording rule ever produce a value.
    const guideAlerts = (await central.alerts()).filter((a) => a.labels['alertname'] === 'LinkLocalAllowanceExceeded');
    expect(guideAlerts).toEqual([]);
    const now = Date.now() / 1000;
    const recorded = await central.queryRange('metric:linklocal_allowance_exceeded', now - 300, now, '1s');
    expect(recorded).toEqual([]);
    expect(hook.alerts().some((a) => a.labels['alertname'] === 'LinkLocalAllowanceExceeded')).toBe(false);
  }, 260_000);
});
