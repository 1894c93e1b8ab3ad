// `ethburst serve` as a user runs it: flags, the real NIC, signals.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, usageFailure } from '../helpers/cli.js';
import { value } from '../helpers/exposition.js';
import { enaHere } from '../helpers/host.js';
import { until } from '../../src/harness/wait.js';
import { startServe } from '../helpers/serve.js';
import { haveCc, shimEnv } from '../helpers/shim.js';

const hasEth0 = existsSync('/sys/class/net/eth0');
const dir = mkdtempSync(join(tmpdir(), 'ethburst-serve-'));

describe('serve: bad input stops it before anything starts', () => {
  const script = join(dir, 'bad-script.json');
  writeFileSync(script, '[{"device": "eth0"}]');
  it('a malformed --listen', () => {
    expect(usageFailure(runCli(['serve', '--listen', '19810']))).toMatch(/--listen: "19810" is not HOST:PORT/);
  });

  it.each([
    [['--source', 'kernel'], /--source: "kernel" is not native, simulate or replay:FILE/],
    [['--source', 'replay:/nonexistent/trace.jsonl'], /--source replay:\/nonexistent\/trace.jsonl: ENOENT/],
    [['--source', 'simulate', '--simulate-script', script], /entry 0 needs device, stat, at_ms, duration_ms, packets/],
    [['--device', 'nosuchdev0'], /--device nosuchdev0: no such interface/],
    [['--compat', 'node_exporter'], /--compat: "node_exporter" is not one of showmax/],
    [['--source', 'simulate', '--capture-dir', join(dir, 'nope')], /^ethburst serve: --capture-dir \S+nope: no such directory$/],
    [['--source', 'simulate', '--capture-dir', script], /--capture-dir \S+bad-script.json: not a directory$/],
    [['--source', 'simulate', '--capture-dir', '/proc/sys'], /--capture-dir \/proc\/sys: not writable \(/],
    [['--source', 'simulate', '--capture-dir', dir, '--recorder-span', '0'], /--capture-dir needs the flight recorder: --recorder-span must not be 0/],
    [['--source', 'simulate', '--recorder-span', '30s'], /--recorder-span 30s is shorter than a capture/],
    [['--burst-gap', '0s'], /--burst-gap: 0s is out of range/],
    [['--kubernetes', 'http://127.0.0.1:6443'], /--kubernetes: "http:\/\/127\.0\.0\.1:6443" is not auto, off or https:\/\/HOST:PORT/],
    [['--source', 'simulate', '--kubernetes', 'https://127.0.0.1:6443', '--kube-credentials', dir], /--kubernetes https:\/\/127\.0\.0\.1:6443: no token in \S+ \(--kube-credentials\)$/],
    [['--source', 'simulate', '--node-events', '--kubernetes', 'off'], /--node-events needs the Kubernetes API, and --kubernetes is off$/],
  ])('%j', (args, message) => {
    expect(usageFailure(runCli(['serve', '--listen', '127.0.0.1:0', ...args]))).toMatch(message);
  });

  it('a bad ETHBURST_SERVE_* variable is named', () => {
    expect(usageFailure(runCli(['serve'], { env: { ETHBURST_SERVE_LISTEN: 'everywhere' } }))).toMatch(/ETHBURST_SERVE_LISTEN: "everywhere" is not HOST:PORT/);
  });

  it('labels ethtool_info with the node (--node-name, else $NODE_NAME) and each interface’s MAC', async () => {
    for (const [args, env, node] of [
      [['--node-name', 'ip-10-0-1-2.ec2.internal'], { NODE_NAME: 'ignored' }, 'ip-10-0-1-2.ec2.internal'],
      [[], { NODE_NAME: 'ip-10-0-3-4.ec2.internal' }, 'ip-10-0-3-4.ec2.internal'],
    ] as const) {
      const s = await startServe(['--source', 'simulate', '--simulate-devices', '2', ...args], env);
      try {
        const p = await until(async () => {
          const m = await s.metrics();
          return m.samples.filter((x) => x.name === 'ethtool_info').length === 2 ? m : null;
        }, 'both devices in ethtool_info');
        expect(value(p, 'ethtool_info', { device: 'eth0', node, mac: '02:eb:00:00:00:00' })).toBe(1);
        expect(value(p, 'ethtool_info', { device: 'eth1', node, mac: '02:eb:00:00:00:01' })).toBe(1);
      } finally {
        expect((await s.stop()).status).toBe(0);
      }
    }
  });

  it('a port in use is one line and exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as AddressInfo).port;
    const r = runCli(['serve', '--source', 'simulate', '--listen', `127.0.0.1:${port}`]);
    blocker.close();
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`ethburst serve: cannot listen on 127.0.0.1:${port}: address already in use`);
  });
});

describe.skipIf(!hasEth0)(`serve on this machine's NIC ${hasEth0 ? '' : '(skipped: no eth0)'}`, () => {
  it('with no flags but a port, samples eth0 and becomes ready', async () => {
    const s = await startServe([], { NODE_NAME: '' });
    try {
      await until(async () => (await fetch(`${s.base}/readyz`)).status === 200, 'readiness');
      const p = await s.metrics();
      expect(value(p, 'ethtool_info', { device: 'eth0', driver: 'virtio_net' })).toBe(1);
      // What finds the node and the ENI: its name (no NODE_NAME here: the host name) and the MAC sysfs gives.
      const mac = readFileSync('/sys/class/net/eth0/address', 'utf8').trim();
      expect(value(p, 'ethtool_info', { device: 'eth0', node: hostname(), mac })).toBe(1);
      expect(value(p, 'ethtool_up', { device: 'eth0' })).toBe(1);
      expect(value(p, 'ethburst_sampler_ticks_total')).toBeGreaterThan(0);
      expect(value(p, 'ethburst_ioctl_duration_seconds_count', { device: 'eth0' })).toBeGreaterThan(0);
    } finally {
      expect((await s.stop()).status).toBe(0);
    }
  });

  it.skipIf(enaHere)('without ENA, says in the log and in /api/devices what it samples and how to see something', async () => {
    const s = await startServe([]);
    try {
      const notice = s.logs().find((l) => l['level'] === 'warn' && String(l['msg']).startsWith('no ENA device found'))?.['msg'] as string;
      expect(notice).toMatch(/^no ENA device found: sampling .*eth0 \([\w-]+\).*, which ha(s|ve) no allowance counters; try --source simulate to see bursts, or --burst-stat RE/);
      const devices = await until(async () => {
        const d = await s.json<{ devices: unknown[]; notice: string | null }>('/api/devices');
        return d.devices.length > 0 ? d : null;
      }, 'a sampled device');
      expect(devices.notice).toBe(notice);
    } finally {
      await s.stop();
    }
  });

  it('with --burst-stat, or a simulated source, there is no such notice', async () => {
    for (const args of [['--burst-stat', 'drops$'], ['--source', 'simulate']]) {
      const s = await startServe(args);
      try {
        await until(async () => ((await s.json<{ devices: unknown[] }>('/api/devices')).devices.length > 0 ? true : null), 'a sampled device');
        expect((await s.json<{ notice: string | null }>('/api/devices')).notice).toBeNull();
        expect(s.logs().some((l) => String(l['msg']).startsWith('no ENA device found'))).toBe(false);
      } finally {
        await s.stop();
      }
    }
  });
});

describe('serve: shutdown', () => {
  it('SIGTERM during scrapes and during a burst: the open burst is logged, exit 0', async () => {
    const script = join(dir, 'long-burst.json');
    writeFileSync(script, JSON.stringify([{ device: 'eth0', stat: 'linklocal_allowance_exceeded', at_ms: 0, duration_ms: 60_000, packets: 600_000 }]));
    const { child, base, done } = await startServe(['--source', 'simulate', '--simulate-script', script]);
    await until(async () => {
      const t = await (await fetch(`${base}/metrics`)).text();
      return /ethtool_peak_rate_per_second\{device="eth0",stat="linklocal_allowance_exceeded"\} [1-9]/.test(t) ? true : null;
    }, 'the burst to start');
    const scrapes = Array.from({ length: 20 }, () => fetch(`${base}/metrics`).then((r) => r.status, () => 0));
    child.kill('SIGTERM');
    await Promise.all(scrapes);
    const r = await done;
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const burst = lines.find((l) => l['msg'] === 'burst');
    expect(burst).toMatchObject({ device: 'eth0', stat: 'linklocal_allowance_exceeded' });
    expect(burst!['increase']).toBeGreaterThan(0);
    expect(lines.at(-1)!['msg']).toBe('stopped');
  });
});

describe.skipIf(!haveCc)(`serve: SIGHUP ${haveCc ? '' : '(skipped: needs a C compiler for the fake-ENA shim)'}`, () => {
  it('stops like SIGTERM: the burst still open on the fake ENA device is logged, exit 0', async () => {
    const script = join(dir, 'open-burst.script');
    writeFileSync(script, '500 burst pps_allowance_exceeded 600000 60000\n');
    const s = await startServe([], shimEnv(`ena0=${script}`));
    await until(async () => {
      const t = await (await fetch(`${s.base}/metrics`)).text();
      return /ethtool_peak_rate_per_second\{device="ena0",stat="pps_allowance_exceeded"\} [1-9]/.test(t);
    }, 'the burst to start');
    s.child.kill('SIGHUP');
    const r = await s.done;
    expect(r.status).toBe(0);
    const burst = s.logs().find((l) => l['msg'] === 'burst');
    expect(burst).toMatchObject({ device: 'ena0', stat: 'pps_allowance_exceeded' });
    expect(burst!['increase']).toBeGreaterThan(0);
    expect(s.logs().at(-1)!['msg']).toBe('stopped');
  });
});
