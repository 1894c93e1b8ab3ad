// The EMF sink against local listeners on loopback that stand in for the
// CloudWatch agent's EMF port (TCP and UDP): records arrive one per line;
// while the listener is gone they wait in the bounded queue, the oldest give
// way and are counted; when it is back they arrive. Nothing here waits on
// time passing: each step waits for a count.

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../src/harness/wait.js';
import { EmfSink, describeDestination, parseEmfDestination } from '../../src/export/cloudwatch/emf-sink.js';
import { TcpAgent, UdpAgent } from '../helpers/emf-agent.js';

const rec = (i: number) => JSON.stringify({ i });
const ids = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { i: number }).i);

let sink: EmfSink | null = null;
let agents: { kill(): Promise<void> }[] = [];
afterEach(async () => {
  await sink?.close(0);
  sink = null;
  for (const a of agents) await a.kill();
  agents = [];
});

describe('EMF destinations', () => {
  it('parses stdout, tcp:// and udp:// with a port; anything else is refused', () => {
    expect(parseEmfDestination('stdout')).toEqual({ kind: 'stdout' });
    expect(parseEmfDestination('tcp://127.0.0.1:25888')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 25888 });
    expect(parseEmfDestination('udp://cloudwatch-agent.amazon-cloudwatch:25888')).toEqual({ kind: 'udp', host: 'cloudwatch-agent.amazon-cloudwatch', port: 25888 });
    expect(parseEmfDestination('udp://[::1]:25888')).toEqual({ kind: 'udp', host: '::1', port: 25888 });
    expect(describeDestination(parseEmfDestination('udp://[::1]:25888')!)).toBe('udp://[::1]:25888');
    for (const bad of ['', 'tcp://host', 'tcp://host:0', 'tcp://host:65536', 'http://host:1', 'tcp://:25888', 'stderr', 'tcp://a b:1']) expect(parseEmfDestination(bad)).toBeNull();
  });
});

describe('the EMF sink', () => {
  it('TCP: one record per line; while the agent is down the queue keeps the newest and counts the rest; they arrive when it is back', async () => {
    const agent = new TcpAgent();
    agents.push(agent);
    await agent.start();
    sink = new EmfSink({ kind: 'tcp', host: '127.0.0.1', port: agent.port }, { queueRecords: 3, minBackoffMs: 20, maxBackoffMs: 200 });
    for (let i = 1; i <= 3; i++) sink.write('burst', rec(i));
    await until(() => agent.lines.length === 3, 'the first records');

    await agent.kill();
    await until(() => sink!.stats().connectionFailures >= 1, 'the sink to see the agent gone');
    for (let i = 4; i <= 10; i++) sink.write(i % 2 ? 'burst' : 'minute', rec(i));
    expect(sink.stats()).toMatchObject({ queued: 3, written: { burst: 3, minute: 0 } });
    // 4..7 gave way to 8, 9, 10: two bursts (5, 7) and two minutes (4, 6).
    expect(sink.stats().dropped).toEqual({ burst: 2, minute: 2 });

    await agent.start(agent.port);
    await until(() => agent.lines.length === 6, 'the queued records after the agent came back');
    expect(ids(agent.lines)).toEqual([1, 2, 3, 8, 9, 10]);
    const s = sink.stats();
    expect(s.queued).toBe(0);
    expect(s.error).toBeNull();
    // Everything written is accounted for: received, or counted as dropped.
    expect(s.written.burst + s.written.minute + s.dropped.burst + s.dropped.minute).toBe(10);
  });

  it('TCP: an agent that is not there yet is retried; nothing is lost within the queue', async () => {
    const agent = new TcpAgent();
    agents.push(agent);
    // Take a free port, then leave it closed.
    await agent.start();
    await agent.kill();
    sink = new EmfSink({ kind: 'tcp', host: '127.0.0.1', port: agent.port }, { queueRecords: 10, minBackoffMs: 20, maxBackoffMs: 100 });
    for (let i = 1; i <= 5; i++) sink.write('minute', rec(i));
    await until(() => sink!.stats().connectionFailures >= 2, 'two refused connections');
    expect(sink.stats().error).toBe('ECONNREFUSED');
    await agent.start(agent.port);
    await until(() => agent.lines.length === 5, 'the records once the agent listens');
    expect(ids(agent.lines)).toEqual([1, 2, 3, 4, 5]);
    expect(sink.stats().dropped).toEqual({ burst: 0, minute: 0 });
  });

  it('UDP: one record per datagram; sends the network refuses while the agent is down are counted as dropped', async () => {
    const agent = new UdpAgent();
    agents.push(agent);
    await agent.start();
    sink = new EmfSink({ kind: 'udp', host: '127.0.0.1', port: agent.port }, { queueRecords: 100 });
    for (let i = 1; i <= 3; i++) sink.write('burst', rec(i));
    await until(() => agent.lines.length === 3, 'the first datagrams');
    expect(ids(agent.lines)).toEqual([1, 2, 3]);

    await agent.kill();
    for (let i = 4; i <= 8; i++) sink.write('burst', rec(i));
    await until(() => sink!.stats().queued === 0 && sink!.stats().dropped.burst >= 1, 'the refused datagrams to be counted');
    const down = sink.stats();
    expect(down.written.burst + down.dropped.burst).toBe(8);

    await agent.start(agent.port);
    sink.write('burst', rec(9));
    await until(() => agent.lines.length === 4, 'a datagram once the agent is back');
    expect(ids(agent.lines)).toEqual([1, 2, 3, 9]);
  });

  it('a record over the limit is dropped and counted, never sent in part', async () => {
    const agent = new UdpAgent();
    agents.push(agent);
    await agent.start();
    sink = new EmfSink({ kind: 'udp', host: '127.0.0.1', port: agent.port });
    sink.write('burst', JSON.stringify({ i: 1, pad: 'x'.repeat(70_000) }));
    sink.write('burst', rec(2));
    await until(() => agent.lines.length === 1, 'the second record');
    expect(ids(agent.lines)).toEqual([2]);
    expect(sink.stats().dropped.burst).toBe(1);
  });

  it('stdout: writes each record as a line, waits for a slow reader instead of buffering without bound', async () => {
    let text = '';
    let release: (() => void) | null = null;
    // A reader that takes one chunk and then stalls until released.
    const slow = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString('utf8');
        release = cb;
      },
    });
    sink = new EmfSink({ kind: 'stdout' }, { stdout: slow, queueRecords: 2 });
    for (let i = 1; i <= 6; i++) sink.write('minute', rec(i) + ' '.repeat(100));
    // The first write filled the stream past its mark; the rest queue, the oldest giving way.
    expect(sink.stats()).toMatchObject({ written: { minute: 1 }, queued: 2, dropped: { minute: 3 } });
    for (;;) {
      await until(() => release !== null, 'the reader');
      const r = release!;
      release = null;
      r();
      if (text.split('\n').filter((l) => l !== '').length === 3) break;
    }
    expect(ids(text.split('\n').filter((l) => l !== ''))).toEqual([1, 5, 6]);
  });
});
