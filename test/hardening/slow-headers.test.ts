// Sockets that dribble header lines and never finish a request. With Node's
// defaults (headersTimeout enforced by a 30 s sweep, maxConnections refusing
// the newest connection) 260 of them lock kubelet's probes and Prometheus
// out for half a minute. Here 300 of them send one header line a second:
// /healthz and /metrics must answer while they do, and the server must close
// them itself long before they run out of lines.

import { describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { MAX_CONNECTIONS } from '../../src/export/server.js';
import { until } from '../../src/harness/wait.js';
import { startServe } from '../helpers/serve.js';

/** Lines each slow client has to send: a 30 s sweep would let ~30 of them through. */
const LINES = 40;

interface Slow {
  sock: Socket;
  /** Header lines written so far. */
  sent: number;
  /** True once the server closed the connection (we never close it before it ran out of lines). */
  closedByServer: boolean;
  closed: Promise<void>;
}

function slowClient(port: number): Slow {
  const sock = connect(port, '127.0.0.1');
  const c: Slow = { sock, sent: 0, closedByServer: false, closed: Promise.resolve() };
  sock.on('error', () => {});
  sock.on('data', () => {});
  let timer: NodeJS.Timeout | null = null;
  c.closed = new Promise((resolve) =>
    sock.once('close', () => {
      if (timer) clearInterval(timer);
      c.closedByServer = c.sent < LINES;
      resolve();
    }),
  );
  sock.once('connect', () => {
    sock.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n');
    timer = setInterval(() => {
      if (c.sent >= LINES) {
        clearInterval(timer!);
        sock.destroy();
        return;
      }
      if (sock.writable) sock.write(`X-Slow-${c.sent++}: y\r\n`);
    }, 1000);
  });
  return c;
}

async function status(url: string): Promise<number> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await r.arrayBuffer();
  return r.status;
}

/**
 * A keep-alive client that gets one answer, then dribbles its second
 * request's header lines one a second. Resolves with the lines it got out
 * before the server closed the connection (LINES if it never did).
 */
function slowSecondRequest(port: number): Promise<number> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let sent = 0;
    let answered = false;
    let timer: NodeJS.Timeout | null = null;
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      if (answered || !chunk.toString('latin1').includes('\r\n\r\n')) return;
      answered = true;
      sock.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n');
      timer = setInterval(() => {
        if (sent >= LINES) sock.destroy();
        else if (sock.writable) sock.write(`X-Slow-${sent++}: y\r\n`);
      }, 1000);
    });
    sock.once('close', () => {
      if (timer) clearInterval(timer);
      resolve(sent);
    });
    sock.once('connect', () => sock.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'));
  });
}

describe('slow header senders', () => {
  it('closes a keep-alive connection whose second request never completes', async () => {
    const s = await startServe(['--source', 'simulate']);
    try {
      const sent = await slowSecondRequest(Number(new URL(s.base).port));
      // NEXT_REQUEST_MS is 10 s; 40 lines would mean nothing closed it.
      expect(sent).toBeLessThan(LINES / 2);
      expect(await status(`${s.base}/healthz`)).toBe(200);
    } finally {
      await s.stop();
    }
  }, 90_000);


  it(`keeps /healthz and /metrics answering under ${MAX_CONNECTIONS + 44} dribbling sockets and closes them within seconds`, async () => {
    const s = await startServe(['--source', 'simulate']);
    const port = Number(new URL(s.base).port);
    const slow: Slow[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS + 44; i++) slow.push(slowClient(port));
      // All of them have written at least one header line (or were already dropped).
      await until(() => slow.every((c) => c.sent > 0 || c.sock.destroyed), 'every slow client to start dribbling');
      // The flood is in progress: the cap is full of sockets without a request.
      for (let round = 0; round < 3; round++) {
        expect(await status(`${s.base}/healthz`)).toBe(200);
        expect(await status(`${s.base}/metrics`)).toBe(200);
      }
      await Promise.race([
        Promise.all(slow.map((c) => c.closed)),
        new Promise((_, reject) => setTimeout(() => reject(new Error('slow clients still open after 45 s')), 45_000)),
      ]);
      // Every one was cut off by the server, well before its 40 lines were out.
      const worst = Math.max(...slow.map((c) => c.sent));
      expect(slow.filter((c) => !c.closedByServer)).toHaveLength(0);
      expect(worst).toBeLessThan(LINES / 2);
      expect(await status(`${s.base}/healthz`)).toBe(200);
      expect((await s.stop()).status).toBe(0);
    } finally {
      for (const c of slow) c.sock.destroy();
      await s.stop();
    }
  }, 90_000);
});
