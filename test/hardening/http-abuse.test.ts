// What a node port gets: a thousand idle connections, clients that send
// headers a byte at a time, oversized requests, odd methods. The sampler
// must not skip a deadline, and /metrics must answer afterwards.

import { describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { has, value } from '../helpers/exposition.js';
import { until } from '../../src/harness/wait.js';
import { startServe } from '../helpers/serve.js';

const hasEth0 = existsSync('/sys/class/net/eth0');

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

function statusOf(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(request));
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('error', () => resolve('error'));
    s.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    s.setTimeout(15_000, () => s.destroy());
  });
}

describe.skipIf(!hasEth0)(`HTTP abuse on loopback ${hasEth0 ? '' : '(skipped: no eth0 to sample)'}`, () => {
  it('keeps sampling every tick and answers /metrics afterwards', async () => {
    const s = await startServe(['--device', 'eth0']);
    const port = Number(new URL(s.base).port);
    try {
      // The ioctl histogram of eth0 exists from its first read, which may
      // come after readiness: start counting from there.
      const before = await until(async () => {
        const m = await s.metrics();
        return has(m, 'ethburst_ioctl_duration_seconds_count', { device: 'eth0' }) ? m : null;
      }, "eth0's first ioctl in /metrics");
      const ticks0 = value(before, 'ethburst_sampler_ticks_total');
      const missed0 = value(before, 'ethburst_sampler_missed_ticks_total');

      const idle = await Promise.all(Array.from({ length: 1000 }, () => open(port)));
      // Slow-header clients: a byte every 300 ms, never finishing.
      const slow = Array.from({ length: 20 }, () => {
        const sock = connect(port, '127.0.0.1');
        sock.on('error', () => {});
        let i = 0;
        const text = 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ';
        const timer = setInterval(() => {
          if (sock.writable) sock.write(text[i++ % text.length]!);
        }, 300);
        return { sock, timer };
      });
      const odd = await Promise.all([
        statusOf(port, `GET /${'u'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        statusOf(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Huge: ${'h'.repeat(64_000)}\r\n\r\n`),
        statusOf(port, 'BREW /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        statusOf(port, 'DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        statusOf(port, '\x00\x01\x02 garbage\r\n\r\n'),
      ]);
      // Over the connection cap some of these may simply be refused: what
      // matters is that none is answered with a 200 or takes the server down.
      for (const line of odd) expect(line).not.toMatch(/ 200 /);

      await new Promise((r) => setTimeout(r, 6000));
      for (const c of slow) {
        clearInterval(c.timer);
        c.sock.destroy();
      }
      for (const c of idle) c.destroy();
      await new Promise((r) => setTimeout(r, 300));

      const r = await fetch(`${s.base}/metrics`);
      expect(r.status).toBe(200);
      const after = await s.metrics();
      const ticks = value(after, 'ethburst_sampler_ticks_total') - ticks0;
      // ~60 ticks passed; not one deadline was skipped, and each tick read eth0.
      expect(ticks).toBeGreaterThan(30);
      expect(value(after, 'ethburst_sampler_missed_ticks_total') - missed0).toBe(0);
      expect(value(after, 'ethburst_ring_overruns_total')).toBe(0);
      const samples = value(after, 'ethburst_ioctl_duration_seconds_count', { device: 'eth0' }) - value(before, 'ethburst_ioctl_duration_seconds_count', { device: 'eth0' });
      expect(samples).toBeGreaterThanOrEqual(ticks - 2);
      expect((await s.stop()).status).toBe(0);
    } finally {
      await s.stop();
    }
  }, 60_000);
});
