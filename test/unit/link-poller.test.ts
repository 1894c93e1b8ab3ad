// The pod-veth poller on a stand-in addon (the netlink dump itself is
// test/native/link-counters.test.ts): which interfaces count as pods, the
// cadence while a burst is open, and a failing dump.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { LinkPoller, type Interface } from '../../src/talkers/link-poller.js';
import type { LinkSnapshot } from '../../src/talkers/top-talkers.js';
import type { LogFields, Logger } from '../../src/log.js';

const IFS = new Map<number, Interface>([
  [1, { name: 'lo', veth: false }],
  [2, { name: 'eth0', veth: false }],
  [7, { name: 'eniaaa', veth: true }],
  [8, { name: 'enibbb', veth: true }],
  [9, { name: 'docker0', veth: false }],
]);

function addon(rows: number[][] | (() => number)) {
  return {
    linkCounters(out: Float64Array): Promise<number> {
      if (typeof rows === 'function') return Promise.resolve(rows());
      // As the addon does: as many as fit, and how many there were.
      rows.forEach((r, i) => {
        if (5 * i + 5 <= out.length) out.set(r, 5 * i);
      });
      return Promise.resolve(rows.length);
    },
  };
}

describe('pod-veth poller', () => {
  it('hands over the veths that have host routes to pods, with their addresses, and nothing else', async () => {
    const got: LinkSnapshot[] = [];
    const p = new LinkPoller({
      addon: addon([
        [1, 5, 5, 5, 5],
        [2, 100, 200, 300, 400],
        [7, 1, 2, 3, 4],
        [8, 10, 20, 30, 40],
        [9, 0, 0, 0, 0],
      ]),
      burstOpen: () => false,
      // eth0 has a host route too (some clouds add one to the gateway): it is not a veth, so not a pod.
      routes: () =>
        new Map([
          ['eniaaa', ['10.1.0.10']],
          ['eth0', ['192.168.1.1']],
        ]),
      interfaces: () => IFS,
    });
    await p.poll({ sample() {}, links: (l) => void got.push(l) });
    expect(got.map((l) => [l.names, l.ips, [...l.values]])).toEqual([[['eniaaa'], [['10.1.0.10']], [1, 2, 3, 4]]]);
  });

  it('grows its array for a node with more interfaces than it holds', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => [100 + i, i, i, i, i]);
    const ifs = new Map(rows.map((r) => [r[0]!, { name: `eni${r[0]}`, veth: true }]));
    const got: LinkSnapshot[] = [];
    const p = new LinkPoller({ addon: addon(rows), burstOpen: () => false, routes: () => new Map([...ifs.values()].map((x) => [x.name, ['10.0.0.1']])), interfaces: () => ifs });
    await p.poll({ sample() {}, links: (l) => void got.push(l) });
    expect(got[0]!.names).toHaveLength(600);
  });

  it('logs a failing dump once, says when it works again, and says nothing of pods meanwhile', async () => {
    const lines: [string, string, LogFields][] = [];
    const log: Logger = { log: (level, msg, fields = {}) => void lines.push([level, msg, fields]), enabled: () => true };
    let result = -16; // EBUSY
    const got: LinkSnapshot[] = [];
    const p = new LinkPoller({ addon: addon(() => result), burstOpen: () => false, routes: () => new Map(), interfaces: () => IFS, log });
    const sink = { sample() {}, links: (l: LinkSnapshot) => void got.push(l) };
    await p.poll(sink);
    await p.poll(sink);
    result = 0;
    await p.poll(sink);
    expect(lines.map(([level, msg, f]) => [level, msg.split(';')[0], f['error']])).toEqual([
      ['warn', 'cannot read the pod veths’ counters (RTM_GETSTATS)', 'EBUSY'],
      ['info', 'reading the pod veths’ counters again', undefined],
    ]);
    expect([p.polls, p.failures, got.length]).toEqual([3, 2, 0]);
  });

  describe('cadence', () => {
    afterEach(() => void vi.useRealTimers());

    it('waits for the devices’ first samples, then polls every second, and five times as often while a burst is open', async () => {
      vi.useFakeTimers();
      let ready = false;
      let open = false;
      const p = new LinkPoller({ addon: addon([[7, 1, 2, 3, 4]]), burstOpen: () => open, ready: () => ready, routes: () => new Map([['eniaaa', ['10.1.0.10']]]), interfaces: () => IFS });
      p.start({ sample() {} });
      // No sample yet: a dump now would have no device packets to share against.
      await vi.advanceTimersByTimeAsync(3000);
      expect(p.polls).toBe(0);
      ready = true;
      await vi.advanceTimersByTimeAsync(20);
      expect(p.stats()).toMatchObject({ polls: 1, failures: 0, veths: 1 });
      await vi.advanceTimersByTimeAsync(3000);
      expect(p.polls).toBe(4);
      open = true;
      // The 1 s wait already begun runs out, then every 200 ms.
      await vi.advanceTimersByTimeAsync(1000);
      expect(p.polls).toBe(5);
      await vi.advanceTimersByTimeAsync(1000);
      expect(p.polls).toBe(10);
      p.stop();
      await vi.advanceTimersByTimeAsync(5000);
      expect(p.polls).toBe(10);
    });
  });
});
