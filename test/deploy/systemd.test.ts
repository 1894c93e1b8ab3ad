// The systemd install (issue 12): deploy/README.md's steps, executed as
// written into a scratch prefix, then the installed unit's ExecStart run the
// way systemd would run it (its Environment=, EnvironmentFile=,
// WorkingDirectory= and systemd's default PATH, nothing inherited) and read
// like a user would: /metrics, and the live page with its assets. The unit
// itself: hardening keys, and `systemd-analyze verify` of the installed copy.
//
// The steps are read from between the README's systemd-install markers, so
// the test and the documentation cannot drift. Only two kinds of line are
// not executed, each for a stated reason: `apt-get install` (the toolchain
// is asserted present instead: package installs are CI's job) and
// `systemctl` (no systemd as PID 1 here; the test starts ExecStart itself).
// The paths are rewritten into the scratch prefix, `sudo` is dropped, and
// the port becomes an ephemeral loopback one.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmPack, onPath, userEnv } from '../package/pack.js';
import { which } from '../../src/harness/which.js';
import { missing, readRepo, run } from './tools.js';
import serve from '../../src/commands/serve.js';
import { envNames } from '../../src/cli/flags.js';

/** Every environment variable `serve` reads. */
const SERVE_ENV = new Set(Object.entries(serve.flags).flatMap(([flag, def]) => envNames('serve', flag, def)));

// What a service gets from systemd when the unit sets no PATH.
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';

/** The shell lines between the markers, in order. */
function documentedSteps(): string[] {
  const readme = readRepo('deploy/README.md');
  const m = /<!-- systemd-install:begin[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- systemd-install:end -->/.exec(readme);
  if (!m) throw new Error('deploy/README.md: no ```sh block between the systemd-install markers');
  return m[1]!.split('\n').filter((l) => l.trim() !== '');
}

type Unit = Map<string, string[]>;
function parseUnit(text: string): Unit {
  const keys: Unit = new Map();
  for (const l of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(l);
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  return keys;
}

describe('systemd unit', () => {
  const unit = parseUnit(readRepo('deploy/systemd/ethburst.service'));

  it('is hardened: no privileges, read-only system, restricted address families, env file', () => {
    expect(unit.get('DynamicUser') ?? unit.get('User')).toBeDefined();
    expect(unit.get('NoNewPrivileges')).toEqual(['yes']);
    expect(unit.get('ProtectSystem')).toEqual(['strict']);
    expect(unit.get('CapabilityBoundingSet')).toEqual(['']);
    expect(unit.get('RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX AF_NETLINK']);
    expect(unit.get('EnvironmentFile')?.[0]).toMatch(/^-\//);
    expect(unit.get('PrivateNetwork')).toBeUndefined();
    expect(unit.get('MemoryDenyWriteExecute')).toBeUndefined();
    // The bin link npm makes for `npm install -g --prefix /opt/ethburst`.
    expect(unit.get('ExecStart')).toEqual(['/opt/ethburst/bin/ethburst serve']);
    for (const e of unit.get('Environment') ?? []) expect(SERVE_ENV, `${e} is not read by serve`).toContain(e.split('=')[0]);
    expect(unit.get('Environment')).toContain('ETHBURST_SERVE_LISTEN=0.0.0.0:19810');
  });
});

const SKIP = missing('systemd-analyze');
describe('deploy/README.md systemd steps, executed into a scratch prefix', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'ethburst-systemd-'));
  const env = userEnv(join(scratch, 'home'));
  const inScratch = (line: string): string =>
    line.replace(/\bsudo /g, '').replace(/\/opt\/ethburst\b/g, `${scratch}/opt/ethburst`).replace(/(^|[\s'"=-])\/etc\//g, `$1${scratch}/etc/`);
  const steps = documentedSteps();
  const checks: string[] = [];
  let installedUnit = '';
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  beforeAll(() => {
    // The host's tarball, made as the README says.
    npmPack(scratch);
    // Directories every systemd host has.
    mkdirSync(join(scratch, 'etc/systemd/system'), { recursive: true });
    mkdirSync(join(scratch, 'etc/default'), { recursive: true });
    for (const step of steps) {
      const bare = step.replace(/\bsudo /g, '').trim();
      if (/^apt-get install\b/.test(bare)) {
        for (const t of ['g++', 'make', 'python3']) expect(onPath(t, env), `${t} (the README's apt-get step)`).toBe(true);
        continue;
      }
      if (/^systemctl\b/.test(bare)) continue;
      if (/^curl\b/.test(bare)) {
        checks.push(step);
        continue;
      }
      const r = spawnSync('sh', ['-ec', inScratch(step)], { cwd: scratch, env, encoding: 'utf8', timeout: 600_000 });
      if (r.status !== 0) throw new Error(`deploy/README.md step failed: ${step}\n${r.stdout}\n${r.stderr}`);
    }
    installedUnit = readFileSync(join(scratch, 'etc/systemd/system/ethburst.service'), 'utf8');
  }, 900_000);

  it('installs the unit this repository ships', () => {
    expect(installedUnit).toBe(readRepo('deploy/systemd/ethburst.service'));
    expect(checks.length).toBeGreaterThan(0);
  });

  it.skipIf(SKIP !== '')(`systemd-analyze verify of the installed unit reports nothing${SKIP}`, () => {
    // verify insists ExecStart's binary exists: the scratch prefix has it.
    const file = join(scratch, 'verify', 'ethburst.service');
    mkdirSync(join(scratch, 'verify'));
    writeFileSync(file, inScratch(installedUnit));
    const r = run(which('systemd-analyze')!, ['verify', file]);
    expect(r.status, r.stderr).toBe(0);
    // Unknown keys and bad values are warnings with exit 0: any output is a failure.
    expect(r.stdout + r.stderr).toBe('');
  });

  it("ExecStart serves /metrics and the live page with its assets; the README's checks pass", async () => {
    const keys = parseUnit(inScratch(installedUnit));
    const serviceEnv: NodeJS.ProcessEnv = { PATH: SYSTEMD_PATH };
    for (const e of keys.get('Environment') ?? []) {
      const i = e.indexOf('=');
      serviceEnv[e.slice(0, i)] = e.slice(i + 1);
    }
    for (const f of keys.get('EnvironmentFile') ?? []) {
      let text = '';
      try {
        text = readFileSync(f.replace(/^-/, ''), 'utf8');
      } catch (err) {
        if (!f.startsWith('-')) throw err;
      }
      for (const l of text.split('\n')) {
        const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(l.trim());
        if (m) serviceEnv[m[1]!] = m[2]!;
      }
    }
    // The README's optional env file was written by the steps, and is read.
    expect(serviceEnv['ETHBURST_SERVE_DEVICE_INCLUDE']).toBe('^(eth|ens)[0-9]+$');
    // Loopback and an ephemeral port, whatever the unit says.
    serviceEnv['ETHBURST_SERVE_LISTEN'] = '127.0.0.1:0';
    const execStart = keys.get('ExecStart')![0]!;
    expect(execStart).not.toMatch(/["'$%]/); // plain words: split like systemd would
    const [cmd, ...args] = execStart.split(/\s+/);
    const child = spawn(cmd!, args, { cwd: keys.get('WorkingDirectory')![0]!, env: serviceEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const port = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', () => {
          const m = /"msg":"serving","listen":"127\.0\.0\.1:(\d+)"/.exec(stderr);
          if (m) resolve(m[1]!);
        });
        void exited.then(() => reject(new Error(`ExecStart exited early:\n${stderr}`)));
      });
      const base = `http://127.0.0.1:${port}`;

      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^ethburst_\w+/m);

      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).not.toContain('not part of this installation');
      const assets = [...html.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
      expect(assets).toEqual(expect.arrayContaining(['/ui/uplot.min.js', '/ui/uplot.min.css', '/ui/app.js', '/ui/style.css']));
      for (const a of assets) {
        const r = await fetch(`${base}${a}`);
        expect(r.status, a).toBe(200);
        expect(r.headers.get('content-type'), a).toMatch(a.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
        expect((await r.text()).length, a).toBeGreaterThan(100);
      }

      for (const check of checks) {
        const r = spawnSync('sh', ['-ec', inScratch(check).replace(/localhost:19810/g, `127.0.0.1:${port}`)], { env, encoding: 'utf8', timeout: 30_000 });
        expect(r.status, `${check}\n${r.stderr}`).toBe(0);
        expect(r.stdout, check).toMatch(/^ethburst_\w+/m);
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  }, 60_000);
});
