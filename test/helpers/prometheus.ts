// Real Prometheus and Alertmanager (Debian's `prometheus` and
// `prometheus-alertmanager`) on loopback, each in its own temp dir, for
// end-to-end tests; plus a webhook receiver in the test process that
// records what Alertmanager sends. Everything binds 127.0.0.1 only. The
// processes, ports and polling are src/harness's, as the bench's are.
//
// The pipeline test is meant to read like this:
//
//   const hook = await startWebhook();
//   const am = await startAlertmanager({ webhookUrl: hook.url });
//   const central = await startPrometheus({ remoteWriteReceiver: true, evaluationInterval: '1s',
//     rules: { 'ethburst.yaml': rulesText }, alertmanagers: [am.address] });
//   const agent = await startPrometheus({ agent: true, scrapeInterval: '30s',
//     scrapeConfigs: [scrapeJob('ethburst', ethburstAddress)], remoteWriteUrls: [central.remoteWriteUrl] });
//   const alert = await hook.waitFor((a) => a.labels['alertname'] === 'EnaLinkLocalAllowanceExceeded');
//   ... finally: await stopAll(agent, central, am, hook);
//
// Configs are written as JSON, which is YAML, so no YAML library is needed.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild, type Child } from '../../src/harness/children.js';
import { freePort } from '../../src/harness/ports.js';
import { until } from '../../src/harness/wait.js';
import { isExecutable } from '../../src/harness/which.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';

/** Why Prometheus-backed tests must skip here, or null when they can run. Use in a describe() title. */
export function prometheusMissing(): string | null {
  const gone = [
    [PROMETHEUS_BIN, 'prometheus'],
    [ALERTMANAGER_BIN, 'prometheus-alertmanager'],
  ].filter(([bin]) => !isExecutable(bin!));
  return gone.length === 0 ? null : gone.map(([bin, pkg]) => `${bin} not found (apt-get install ${pkg})`).join(', ');
}

/** "2.42.0" from `prometheus --version`, e.g. to gate a feature. */
export function prometheusVersion(): string | null {
  const r = spawnSync(PROMETHEUS_BIN, ['--version'], { encoding: 'utf8' });
  return /version (\d+\.\d+\.\d+)/.exec(r.stdout + r.stderr)?.[1] ?? null;
}

interface Daemon {
  readonly child: Child;
  readonly dir: string;
  /** The recent stderr and stdout of the process, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** `bin` running in `dir`; stop() ends it (SIGKILL after 10 s) and removes `dir`. */
function startDaemon(bin: string, args: string[], dir: string): Daemon {
  // Enough output to explain a failure without holding an hour of logs.
  const child = spawnChild(bin, args, { cwd: dir, tailBytes: 64_000 });
  let stopping: Promise<void> | null = null;
  return {
    child,
    dir,
    log: () => child.outputTail(),
    stop() {
      stopping ??= (async () => {
        await child.stop(10_000);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

async function ready(d: Daemon, url: string, what: string): Promise<void> {
  await until(
    async () => {
      if (d.child.exited) throw new Error(`${what} exited with ${d.child.proc.exitCode}:\n${d.log()}`);
      const r = await fetch(url).catch(() => null);
      return r?.ok;
    },
    `${what} at ${url}`,
    30_000,
  );
}

// ---------------------------------------------------------------------------
// Prometheus

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface PrometheusOptions {
  /** global.scrape_interval (default 1s: tests should not wait on real-world intervals unless they mean to). */
  scrapeInterval?: string;
  /** global.evaluation_interval (default 1s). */
  evaluationInterval?: string;
  /** scrape_configs entries; see scrapeJob(). */
  scrapeConfigs?: Json[];
  /** Also scrape this Prometheus itself as job "prometheus". */
  scrapeSelf?: boolean;
  /** Rule files by file name, contents as text (YAML or JSON). */
  rules?: Record<string, string>;
  /** Alertmanager addresses ("127.0.0.1:PORT") to send alerts to. */
  alertmanagers?: string[];
  /** remote_write URLs (e.g. another instance's remoteWriteUrl). */
  remoteWriteUrls?: string[];
  /** --web.enable-remote-write-receiver: stands in for AMP. */
  remoteWriteReceiver?: boolean;
  /** Agent mode (--enable-feature=agent): scrape and remote-write only, no rules or queries. */
  agent?: boolean;
  /** global.external_labels. */
  externalLabels?: Record<string, string>;
  /** Merged over the generated config, for anything else. */
  extraConfig?: Record<string, Json>;
  extraArgs?: string[];
}

export interface QueryResult {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value: string;
}

export interface PrometheusInstance {
  readonly port: number;
  /** "127.0.0.1:PORT", for scrape targets and alertmanager lists. */
  readonly address: string;
  /** "http://127.0.0.1:PORT". */
  readonly url: string;
  /** Where other instances remote-write to (needs remoteWriteReceiver). */
  readonly remoteWriteUrl: string;
  readonly dir: string;
  readonly configFile: string;
  /** The generated config, as written. */
  readonly config: Record<string, Json>;
  /** Instant query; throws on an API error. */
  query(expr: string, time?: Date | number): Promise<QueryResult[]>;
  /** Range query; start/end as Date or unix seconds, step as "1s" or seconds. */
  queryRange(expr: string, start: Date | number, end: Date | number, step: string | number): Promise<QueryResult[]>;
  /** Alerts as the rule manager sees them (GET /api/v1/alerts). */
  alerts(): Promise<ActiveAlert[]>;
  /** GET /api/v1/rules data. */
  rules(): Promise<{ groups: { name: string; file: string; rules: { name: string; type: string; health: string; lastError?: string }[] }[] }>;
  /** GET /api/v1/targets activeTargets. */
  targets(): Promise<{ labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[]>;
  /** Polls an instant query until it returns at least one series (or `accept` says yes). */
  waitForQuery(expr: string, accept?: (r: QueryResult[]) => boolean, timeoutMs?: number): Promise<QueryResult[]>;
  /** Recent stdout/stderr of the process. */
  log(): string;
  stop(): Promise<void>;
}

/** A static scrape job for the targets ("127.0.0.1:PORT"), optionally with target labels and a metrics path. */
export function scrapeJob(jobName: string, targets: string | string[], opts: { labels?: Record<string, string>; metricsPath?: string; scrapeInterval?: string } = {}): Json {
  return {
    job_name: jobName,
    ...(opts.metricsPath ? { metrics_path: opts.metricsPath } : {}),
    ...(opts.scrapeInterval ? { scrape_interval: opts.scrapeInterval } : {}),
    static_configs: [{ targets: Array.isArray(targets) ? targets : [targets], ...(opts.labels ? { labels: opts.labels } : {}) }],
  };
}

function unix(t: Date | number): string {
  return String(t instanceof Date ? t.getTime() / 1000 : t);
}

async function api<T>(base: string, path: string, params: Record<string, string> = {}): Promise<T> {
  const u = new URL(path, base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const r = await fetch(u);
  const body = (await r.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${u.pathname}: ${body.error ?? r.status}`);
  return body.data;
}

export async function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusInstance> {
  let lastError: unknown;
  // A port found free can be taken before Prometheus binds it; try again with another.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startPrometheusOnce(opts);
    } catch (err) {
      lastError = err;
      if (!/address already in use/i.test(String(err))) throw err;
    }
  }
  throw lastError;
}

async function startPrometheusOnce(opts: PrometheusOptions): Promise<PrometheusInstance> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-prometheus-'));
  const ruleFiles = Object.entries(opts.rules ?? {}).map(([name, text]) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  });
  if (opts.agent && ruleFiles.length > 0) throw new Error('agent mode cannot load rules');
  const config: Record<string, Json> = {
    global: {
      scrape_interval: opts.scrapeInterval ?? '1s',
      ...(opts.agent ? {} : { evaluation_interval: opts.evaluationInterval ?? '1s' }),
      ...(opts.externalLabels ? { external_labels: opts.externalLabels } : {}),
    },
    scrape_configs: [...(opts.scrapeSelf ? [scrapeJob('prometheus', address)] : []), ...(opts.scrapeConfigs ?? [])],
    ...(ruleFiles.length > 0 ? { rule_files: ruleFiles } : {}),
    ...(opts.alertmanagers?.length ? { alerting: { alertmanagers: [{ static_configs: [{ targets: opts.alertmanagers }] }] } } : {}),
    ...(opts.remoteWriteUrls?.length ? { remote_write: opts.remoteWriteUrls.map((u) => ({ url: u, queue_config: { batch_send_deadline: '1s' } })) } : {}),
    ...(opts.extraConfig ?? {}),
  };
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const args = [
    `--config.file=${configFile}`,
    `--web.listen-address=${address}`,
    opts.agent ? `--storage.agent.path=${join(dir, 'data-agent')}` : `--storage.tsdb.path=${join(dir, 'data')}`,
    ...(opts.agent ? ['--enable-feature=agent'] : []),
    ...(opts.remoteWriteReceiver ? ['--web.enable-remote-write-receiver'] : []),
    // The first notification can race Alertmanager discovery and be dropped;
    // the default 1m resend delay would then hold the alert back a minute.
    ...(opts.agent ? [] : ['--rules.alert.resend-delay=1s']),
    '--log.level=warn',
    ...(opts.extraArgs ?? []),
  ];
  const d = startDaemon(PROMETHEUS_BIN, args, dir);
  try {
    await ready(d, `${url}/-/ready`, 'prometheus');
  } catch (err) {
    await d.stop();
    throw err;
  }
  const inst: PrometheusInstance = {
    port,
    address,
    url,
    remoteWriteUrl: `${url}/api/v1/write`,
    dir,
    configFile,
    config,
    query: async (expr, time) => (await api<{ result: QueryResult[] }>(url, '/api/v1/query', { query: expr, ...(time !== undefined ? { time: unix(time) } : {}) })).result,
    queryRange: async (expr, start, end, step) =>
      (await api<{ result: QueryResult[] }>(url, '/api/v1/query_range', { query: expr, start: unix(start), end: unix(end), step: String(step) })).result,
    alerts: async () => (await api<{ alerts: ActiveAlert[] }>(url, '/api/v1/alerts')).alerts,
    rules: () => api(url, '/api/v1/rules'),
    targets: async () => (await api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[] }>(url, '/api/v1/targets')).activeTargets,
    waitForQuery: (expr, accept = (r) => r.length > 0, timeoutMs = 30_000) =>
      until(
        async () => {
          const r = await inst.query(expr);
          return accept(r) ? r : undefined;
        },
        `${expr} on ${address}`,
        timeoutMs,
        { everyMs: 200 },
      ),
    log: () => d.log(),
    stop: () => d.stop(),
  };
  return inst;
}

// ---------------------------------------------------------------------------
// Alertmanager

export interface AlertmanagerOptions {
  /** Every alert goes to this webhook (a WebhookReceiver's url) unless `config` is given. */
  webhookUrl?: string;
  /** Route timing for the default route; tests want seconds, not the 30s/5m defaults. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  groupBy?: string[];
  /** A complete Alertmanager config instead of the generated one. */
  config?: Record<string, Json>;
  /** Extra files next to the config (templates), by name. */
  files?: Record<string, string>;
}

export interface AlertmanagerInstance {
  readonly port: number;
  readonly address: string;
  readonly url: string;
  readonly dir: string;
  readonly configFile: string;
  /** GET /api/v2/alerts. */
  alerts(): Promise<{ labels: Record<string, string>; annotations: Record<string, string>; status: { state: string } }[]>;
  log(): string;
  stop(): Promise<void>;
}

export async function startAlertmanager(opts: AlertmanagerOptions = {}): Promise<AlertmanagerInstance> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startAlertmanagerOnce(opts);
    } catch (err) {
      lastError = err;
      if (!/address already in use/i.test(String(err))) throw err;
    }
  }
  throw lastError;
}

async function startAlertmanagerOnce(opts: AlertmanagerOptions): Promise<AlertmanagerInstance> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-alertmanager-'));
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text);
  if (!opts.config && !opts.webhookUrl) throw new Error('startAlertmanager needs webhookUrl or config');
  const config = opts.config ?? {
    route: {
      receiver: 'webhook',
      group_by: opts.groupBy ?? ['alertname', 'instance', 'device'],
      group_wait: opts.groupWait ?? '1s',
      group_interval: opts.groupInterval ?? '1s',
      repeat_interval: opts.repeatInterval ?? '1h',
    },
    receivers: [{ name: 'webhook', webhook_configs: [{ url: opts.webhookUrl!, send_resolved: true }] }],
  };
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const d = startDaemon(
    ALERTMANAGER_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${address}`,
      // Empty disables clustering; otherwise it binds 0.0.0.0:9094.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    dir,
  );
  try {
    await ready(d, `${url}/-/ready`, 'alertmanager');
  } catch (err) {
    await d.stop();
    throw err;
  }
  return {
    port,
    address,
    url,
    dir,
    configFile,
    alerts: async () => (await (await fetch(`${url}/api/v2/alerts`)).json()) as never,
    log: () => d.log(),
    stop: () => d.stop(),
  };
}

// ---------------------------------------------------------------------------
// Webhook receiver

/** One alert from an Alertmanager webhook notification. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint?: string;
}

/** The notification body (Alertmanager webhook payload version 4). */
export interface WebhookNotification {
  version: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: WebhookAlert[];
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every notification received, in order. */
  readonly notifications: WebhookNotification[];
  /** Every alert of every notification, in order. */
  alerts(): WebhookAlert[];
  /** Resolves with the first alert (already received or arriving later) that matches. */
  waitFor(match: (a: WebhookAlert) => boolean, timeoutMs?: number): Promise<WebhookAlert>;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (s += d));
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}

export async function startWebhook(): Promise<WebhookReceiver> {
  const notifications: WebhookNotification[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      try {
        notifications.push(JSON.parse(body) as WebhookNotification);
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200).end();
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  const alerts = (): WebhookAlert[] => notifications.flatMap((n) => n.alerts);
  return {
    url: `http://127.0.0.1:${addr.port}/alerts`,
    notifications,
    alerts,
    waitFor(match, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const a = alerts().find(match);
          if (!a) return false;
          waiters.delete(onNew);
          clearTimeout(timer);
          resolve(a);
          return true;
        };
        const onNew = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(onNew);
          reject(new Error(`no matching alert within ${timeoutMs} ms; received: ${JSON.stringify(alerts().map((a) => a.labels))}`));
        }, timeoutMs);
        waiters.add(onNew);
        check();
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Stops everything given (in order), ignoring undefined, collecting errors. */
export async function stopAll(...things: ({ stop(): Promise<void> } | undefined | null)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const t of things) {
    if (!t) continue;
    try {
      await t.stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'stopping test daemons');
}
