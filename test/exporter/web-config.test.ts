// `serve --web-config` in the exporter-toolkit format, scraped the way a
// cluster scrapes node_exporter: Debian's real Prometheus with scheme https,
// tls_config.ca_file (a CA made here with openssl) and basic_auth. The right
// password gives up == 1 and ethburst's samples; a wrong one gives a target
// that is down with a 401. Plain HTTPS requests check the same from a client's
// side, --api-listen gets the same protection, and bad files stop serve with
// exit 2 and one line.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { runCli, usageFailure } from '../helpers/cli.js';
import { until } from '../../src/harness/wait.js';
import { prometheusMissing, startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { startServe, type Served } from '../helpers/serve.js';
import { makeCertificates, opensslMissing } from '../helpers/certificates.js';

const missing = [opensslMissing, prometheusMissing()].filter(Boolean).join(', ') || null;

const USER = 'prometheus';
const PASSWORD = 'correct horse battery staple';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, ca: string, auth?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, ...(auth ? { auth } : {}), agent: false, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function caPem(dir: string): string {
  return spawnSync('cat', [join(dir, 'ca.crt')], { encoding: 'utf8' }).stdout;
}

describe.skipIf(missing !== null)(`--web-config: TLS and basic auth${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let serve: Served;
  let prom: PrometheusInstance | undefined;
  let base: string;
  let apiBase: string;
  let ca: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ethburst-webcfg-'));
    spawnSync('mkdir', ['-p', join(dir, 'tls'), join(dir, 'conf')]);
    makeCertificates(dir);
    ca = caPem(dir);
    // Relative paths resolve against the web config's directory, as in exporter-toolkit.
    writeFileSync(
      join(dir, 'conf', 'web.yml'),
      [
        'tls_server_config:',
        '  cert_file: ../tls/server.crt',
        '  key_file: ../tls/server.key',
        '  min_version: TLS12',
        'http_server_config:',
        '  headers:',
        '    Strict-Transport-Security: max-age=31536000',
        'basic_auth_users:',
        `  ${USER}: ${bcrypt.hashSync(PASSWORD, 10)}`,
        '',
      ].join('\n'),
    );
    serve = await startServe(['--source', 'simulate', '--web-config', join(dir, 'conf', 'web.yml'), '--api-listen', '127.0.0.1:0']);
    base = serve.base.replace('http:', 'https:');
    const serving = serve.logs().find((l) => l['msg'] === 'serving')!;
    apiBase = `https://${String(serving['api_listen'])}`;
    expect(serving['tls']).toBe(true);
    expect(serving['basic_auth_users']).toBe(1);
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 with WWW-Authenticate: Basic without or with wrong credentials, 200 with the right ones', async () => {
    const none = await get(`${base}/metrics`, ca);
    expect(none.status).toBe(401);
    expect(String(none.headers['www-authenticate'])).toMatch(/^Basic realm="ethburst"/);
    const wrong = await get(`${base}/metrics`, ca, `${USER}:not the password`);
    expect(wrong.status).toBe(401);
    expect(String(wrong.headers['www-authenticate'])).toMatch(/^Basic /);
    // A second wrong try is answered from the cache, still 401.
    expect((await get(`${base}/metrics`, ca, `${USER}:not the password`)).status).toBe(401);
    expect((await get(`${base}/metrics`, ca, `nobody:${PASSWORD}`)).status).toBe(401);
    const ok = await get(`${base}/metrics`, ca, `${USER}:${PASSWORD}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/^ethburst_sampler_ticks_total \d+/m);
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    // http_server_config.headers from the web config.
    expect(ok.headers['strict-transport-security']).toBe('max-age=31536000');
    // Cached: the same credentials again.
    expect((await get(`${base}/metrics`, ca, `${USER}:${PASSWORD}`)).status).toBe(200);
  });

  it('leaves the kubelet probes unauthenticated (but on TLS), and refuses plain HTTP', async () => {
    expect((await get(`${base}/healthz`, ca)).status).toBe(200);
    expect([200, 503]).toContain((await get(`${base}/readyz`, ca)).status);
    const plain = await fetch(`${serve.base}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
  });

  it('keeps /api and the page off the node port and protects --api-listen the same way', async () => {
    // The node port: /api and / are 404 even with the right credentials.
    expect((await get(`${base}/api/devices`, ca, `${USER}:${PASSWORD}`)).status).toBe(404);
    expect((await get(`${base}/`, ca, `${USER}:${PASSWORD}`)).status).toBe(404);
    // The API listener: TLS and auth too.
    expect((await get(`${apiBase}/api/devices`, ca)).status).toBe(401);
    const devices = await get(`${apiBase}/api/devices`, ca, `${USER}:${PASSWORD}`);
    expect(devices.status).toBe(200);
    expect(JSON.parse(devices.body)).toHaveProperty('devices');
    const page = await get(`${apiBase}/`, ca, `${USER}:${PASSWORD}`);
    expect(page.status).toBe(200);
    expect(String(page.headers['content-security-policy'])).toContain("default-src 'self'");
  });

  it('keeps the probes and an authenticated scrape answering while 300 sockets sit in the TLS handshake', async () => {
    const port = Number(new URL(base).port);
    const idle = await Promise.all(
      Array.from({ length: 300 }, () => new Promise<Socket>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.once('connect', () => resolve(s));
        s.once('close', () => resolve(s));
      })),
    );
    try {
      expect((await get(`${base}/healthz`, ca)).status).toBe(200);
      expect((await get(`${base}/metrics`, ca, `${USER}:${PASSWORD}`)).status).toBe(200);
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  it('is scraped by real Prometheus over TLS with basic auth; a wrong password leaves the target down with 401', async () => {
    const target = new URL(base).host;
    const job = (name: string, password: string) => ({
      job_name: name,
      scheme: 'https',
      tls_config: { ca_file: join(dir, 'ca.crt') },
      basic_auth: { username: USER, password },
      static_configs: [{ targets: [target] }],
    });
    prom = await startPrometheus({ scrapeConfigs: [job('ethburst-tls', PASSWORD), job('ethburst-wrong', 'wrong password')] });
    await prom.waitForQuery('up{job="ethburst-tls"} == 1', undefined, 60_000);
    // ethburst's own series arrived, from the simulated ENA device.
    await prom.waitForQuery('ethtool_pps_allowance_exceeded_total{job="ethburst-tls"}', undefined, 60_000);
    const down = await until(
      async () => (await prom!.targets()).find((t) => t.labels['job'] === 'ethburst-wrong' && t.health === 'down'),
      'the wrong-password target to be scraped and fail',
      60_000,
    );
    expect(down.lastError).toMatch(/401/);
    expect(await prom.query('up{job="ethburst-wrong"} == 0')).toHaveLength(1);
  }, 120_000);
});

describe('--web-config: a bad file stops serve with exit 2 and one line naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-webcfg-bad-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string, string, RegExp][] = [
    ['missing.yml', '', /missing\.yml: ENOENT/],
    ['yaml.yml', 'basic_auth_users: [\n', /yaml\.yml: not valid YAML/],
    ['unknown.yml', 'tls_config:\n  cert_file: x\n', /unknown\.yml: tls_config: unknown field/],
    ['hash.yml', 'basic_auth_users:\n  alice: hunter2\n', /hash\.yml: basic_auth_users\.alice: not a bcrypt hash/],
    ['cert.yml', 'tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n', /cert\.yml: cert_file .*nope\.crt: ENOENT/],
    ['ciphers.yml', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n', /ciphers\.yml: tls_server_config\.cipher_suites/],
    ['version.yml', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n', /version\.yml: .*min_version: "TLS14"|version\.yml: cert_file/],
  ];
  for (const [name, text, message] of cases) {
    it(name, () => {
      if (text !== '') writeFileSync(join(dir, name), text);
      const line = usageFailure(runCli(['serve', '--source', 'simulate', '--listen', '127.0.0.1:0', '--web-config', join(dir, name)]));
      expect(line).toMatch(message);
      expect(line).toContain(join(dir, name));
    });
  }
});
