// The node port's defences in-process on loopback, without TLS (the TLS path
// and real Prometheus are in web-config.test.ts): security headers on every
// answer, the node role that leaves /api and the page to --api-listen, basic
// auth from a web config with probes exempt, and a changed web config taking
// effect without a restart.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { testExporter } from '../helpers/exporter.js';
import { silentLogger } from '../../src/log.js';
import { pageAssets } from '../../src/page/assets.js';
import { createServer, type ServerOptions, type WebServer } from '../../src/export/server.js';
import { BasicAuth, loadWebConfig, WebConfigSource } from '../../src/export/web-config.js';

let server: WebServer | null = null;
const dirs: string[] = [];
afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
  }
  server = null;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(extra: Partial<ServerOptions> = {}): Promise<string> {
  const exporter = testExporter();
  server = createServer({ exporter, log: silentLogger, describe: () => ({ source: 'test', intervalMs: 100 }), assets: pageAssets(), ...extra });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function rawResponse(base: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(Number(new URL(base).port), '127.0.0.1', () => s.write(request));
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('close', () => resolve(data));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy());
  });
}

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('security headers', () => {
  it('are on every answer: pages, data, errors and malformed requests', async () => {
    const base = await start();
    for (const [path, init, status] of [
      ['/', {}, 200],
      ['/ui/app.js', {}, 200],
      ['/metrics', {}, 200],
      ['/api/devices', {}, 200],
      ['/nope', {}, 404],
      ['/metrics', { method: 'POST' }, 405],
    ] as const) {
      const r = await fetch(`${base}${path}`, init);
      expect(r.status, path).toBe(status);
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(r.headers.get('content-security-policy'), path).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
      expect(r.headers.get('x-frame-options'), path).toBe('DENY');
      expect(r.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    expect(await rawResponse(base, '\x00\x01 garbage\r\n\r\n')).toMatch(/^HTTP\/1\.1 400[^]*X-Content-Type-Options: nosniff/);
  });
});

describe("the node role (serve --api-listen's --listen port)", () => {
  it('serves /metrics and the probes, and 404s the API and the page', async () => {
    const base = await start({ role: 'node' });
    for (const p of ['/metrics', '/healthz']) expect((await fetch(`${base}${p}`)).status, p).toBe(200);
    expect([200, 503]).toContain((await fetch(`${base}/readyz`)).status);
    for (const p of ['/', '/ui/app.js', '/api/devices', '/api/bursts', '/api/series', '/api/windows']) expect((await fetch(`${base}${p}`)).status, p).toBe(404);
  });
});

describe('basic auth from a web config (plain HTTP)', () => {
  function webConfig(users: Record<string, string>): { file: string; source: WebConfigSource; write(u: Record<string, string>): void } {
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-web-'));
    dirs.push(dir);
    const file = join(dir, 'web.yml');
    // Replaced by rename, as a Secret volume update does (a new inode, whatever the clock's resolution).
    const write = (u: Record<string, string>) => {
      writeFileSync(`${file}.new`, `basic_auth_users:\n${Object.entries(u).map(([k, p]) => `  ${k}: ${bcrypt.hashSync(p, 4)}`).join('\n')}\n`);
      renameSync(`${file}.new`, file);
    };
    write(users);
    // recheckMs 0: every request looks at the file (no clock involved).
    return { file, source: new WebConfigSource(loadWebConfig(file), { recheckMs: 0 }), write };
  }

  it('asks every path but the probes for credentials, and takes a changed file without a restart', async () => {
    const web = webConfig({ alice: 'one' });
    const base = await start({ web: web.source });
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="ethburst"/);
    expect((await fetch(`${base}/api/devices`)).status).toBe(401);
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: basic('alice', 'two') })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { Authorization: 'Basic !!!' } })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: basic('alice', 'one') })).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect([200, 503]).toContain((await fetch(`${base}/readyz`)).status);

    // A rotated Secret: the new hash applies, the cached success for the old one does not.
    web.write({ alice: 'two' });
    expect((await fetch(`${base}/metrics`, { headers: basic('alice', 'one') })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: basic('alice', 'two') })).status).toBe(200);

    // A file that turns bad keeps the last good configuration in force.
    writeFileSync(`${web.file}.new`, 'basic_auth_users: [\n');
    renameSync(`${web.file}.new`, web.file);
    expect((await fetch(`${base}/metrics`, { headers: basic('alice', 'two') })).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
  });
});

describe('BasicAuth', () => {
  it('runs bcrypt once per credentials, keeps the good entry under a stream of wrong guesses, and runs at most two at a time', async () => {
    const users = new Map([['alice', bcrypt.hashSync('right', 4)]]);
    const auth = new BasicAuth(16);
    let calls = 0;
    let running = 0;
    let most = 0;
    const compare = bcrypt.compare.bind(bcrypt);
    // The promise form of the overloaded compare, the one BasicAuth calls.
    const promised = bcrypt as { compare: (s: string, h: string) => Promise<boolean> };
    const spy = vi.spyOn(promised, 'compare').mockImplementation(async (s, h) => {
      calls++;
      most = Math.max(most, ++running);
      try {
        return await compare(s, h);
      } finally {
        running--;
      }
    });
    try {
      const header = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
      expect(await auth.check(header('alice', 'right'), users)).toBe(true);
      expect(await auth.check(header('alice', 'right'), users)).toBe(true);
      expect(calls).toBe(1);
      // 40 different wrong passwords at once: each costs a bcrypt, two at a time, all 401.
      const guesses = await Promise.all(Array.from({ length: 40 }, (_, i) => auth.check(header('alice', `guess${i}`), users)));
      expect(guesses.every((g) => g === false)).toBe(true);
      expect(most).toBe(BasicAuth.CONCURRENCY);
      // The same wrong password again is answered from the cache; the scraper's entry survived.
      const before = calls;
      expect(await auth.check(header('alice', 'guess39'), users)).toBe(false);
      expect(await auth.check(header('alice', 'right'), users)).toBe(true);
      expect(calls).toBe(before);
      // Unknown users and malformed headers are refused.
      expect(await auth.check(header('mallory', 'right'), users)).toBe(false);
      expect(await auth.check('Bearer abc', users)).toBe(false);
      expect(await auth.check(`Basic ${Buffer.from('nocolon').toString('base64')}`, users)).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });
});
