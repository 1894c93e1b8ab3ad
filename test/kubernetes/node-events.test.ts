// Node events against the Kubernetes API stand-in (test/helpers/kube-apiserver.ts:
// no API server exists on these machines; the stand-in validates every body
// against the Kubernetes schemas and the API server's events.k8s.io/v1 rules).
// The bursts are made-up BurstEvents on the samples' clock: what matters here
// is what reaches the API.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BurstEvent } from '../../src/aggregation/aggregator.js';
import { KubeApi } from '../../src/kubernetes/api-client.js';
import { NodeEvents, eventNote } from '../../src/kubernetes/node-events.js';
import { until } from '../../src/harness/wait.js';
import { opensslMissing } from '../helpers/certificates.js';
import { startKubeApiServer, validateEvent, type KubeApiServer } from '../helpers/kube-apiserver.js';

const NODE = 'ip-10-0-1-23.ec2.internal';
const T0 = Date.UTC(2026, 11, 2, 10, 0, 0);
const INTERVAL = 200;

function burst(stat: string, startMs: number, increase = 500, topPods: BurstEvent['topPods'] = null): BurstEvent {
  return {
    device: 'eth0',
    stat,
    startMs,
    endMs: startMs + 2300,
    durationMs: 2300,
    increase,
    peakRatePerSecond: 900,
    diagnosis: { cause: 'pps', summary: 'The packets-per-second allowance was exceeded at 61,000 packets/s.' },
    topPods,
  } as unknown as BurstEvent;
}

let dir = '';
let api: KubeApiServer | null = null;
let events: NodeEvents | null = null;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ethburst-kube-'));
  api = await startKubeApiServer(dir, NODE);
});
afterEach(async () => {
  await events?.close(0);
  events = null;
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

function nodeEvents(opts: { minDrops?: number } = {}): NodeEvents {
  const client = new KubeApi({ server: api!.url, credentialsDir: api!.credentialsDir, timeoutMs: 2000 });
  events = new NodeEvents({ api: client, nodeName: NODE, minDrops: opts.minDrops ?? 10, minWriteIntervalMs: INTERVAL });
  return events;
}

const writes = () => api!.requests.filter((r) => r.method !== 'GET');

describe.skipIf(opensslMissing !== null)(`Kubernetes events on the Node ${opensslMissing ? `(skipped: ${opensslMissing})` : ''}`, () => {
  it('creates one Warning Event per burst with the EKS agent’s reason, regarding the Node, that the API accepts', async () => {
    const ev = nodeEvents();
    const pods = [{ veth: 'eni1', ips: ['10.1.0.10'], pod: 'shop/web-7d9f', packets: 3000, bytes: 426000, share: 0.61 }];
    ev.onBurst(burst('pps_allowance_exceeded', T0, 1234, pods));
    await until(() => ev.stats().created === 1, 'the Event to be created', 10_000);
    const [req] = writes();
    expect([req!.method, req!.path, req!.status]).toEqual(['POST', '/apis/events.k8s.io/v1/namespaces/default/events', 201]);
    expect(req!.body).toEqual({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `${NODE}.${(BigInt(T0) * 1_000_000n).toString(16)}`, namespace: 'default' },
      eventTime: '2026-12-02T10:00:00.000000Z',
      reportingController: 'ethburst',
      reportingInstance: `ethburst-${NODE}`,
      action: 'DroppedPackets',
      reason: 'PPSExceeded',
      type: 'Warning',
      regarding: { apiVersion: 'v1', kind: 'Node', name: NODE, uid: NODE },
      note: 'pps_allowance_exceeded: The packets-per-second allowance was exceeded at 61,000 packets/s. Peak 900 drops/s. Top pods: shop/web-7d9f 10.1.0.10 61%.',
    });
  });

  it('maps each allowance to its reason and ignores stats without one and bursts below the threshold', async () => {
    const ev = nodeEvents({ minDrops: 100 });
    ev.onBurst(burst('bw_in_allowance_exceeded', T0));
    ev.onBurst(burst('bw_out_allowance_exceeded', T0));
    ev.onBurst(burst('conntrack_allowance_exceeded', T0));
    ev.onBurst(burst('linklocal_allowance_exceeded', T0));
    ev.onBurst(burst('rx_dropped', T0));
    ev.onBurst(burst('pps_allowance_exceeded', T0, 99));
    await until(() => ev.stats().created === 4, 'four Events', 10_000);
    // Four bursts on one tick: four objects, four names.
    expect(writes().map((r) => (r.body as { reason: string }).reason).sort()).toEqual(['BandwidthInExceeded', 'BandwidthOutExceeded', 'ConntrackExceeded', 'LinkLocalExceeded']);
    expect(api!.events.size).toBe(4);
  });

  it('counts repeated bursts in the Event’s series instead of creating objects, and opens a new one after 6 quiet minutes', async () => {
    const ev = nodeEvents();
    const stat = 'pps_allowance_exceeded';
    // Five bursts reported together: one object, created with its series.
    for (let i = 0; i < 5; i++) ev.onBurst(burst(stat, T0 + i * 10_000));
    await until(() => ev.stats().created === 1, 'the Event', 10_000);
    // Three more within the series window: one merge patch of the series only (note, reason, eventTime are immutable).
    for (let i = 5; i < 8; i++) ev.onBurst(burst(stat, T0 + i * 10_000));
    await until(() => ev.stats().patched === 1, 'the series patch', 10_000);
    const w = writes();
    expect(w.map((r) => [r.method, r.status])).toEqual([
      ['POST', 201],
      ['PATCH', 200],
    ]);
    expect((w[0]!.body as { series: unknown }).series).toEqual({ count: 5, lastObservedTime: '2026-12-02T10:00:40.000000Z' });
    expect(w[1]!.body).toEqual({ series: { count: 8, lastObservedTime: '2026-12-02T10:01:10.000000Z' } });
    const stored = [...api!.events.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]!['series']).toEqual({ count: 8, lastObservedTime: '2026-12-02T10:01:10.000000Z' });
    // Quiet for more than 6 minutes (on the samples' clock): a new Event.
    ev.onBurst(burst(stat, T0 + 70_000 + 6 * 60_000 + 1));
    await until(() => ev.stats().created === 2, 'a second Event', 10_000);
    expect(api!.events.size).toBe(2);
    expect(ev.stats()).toMatchObject({ failed: 0, pending: 0 });
  });

  it('writes at most once per interval per reason: bursts in between are counted together', async () => {
    const ev = nodeEvents();
    const began = performance.now();
    for (let i = 0; i < 40; i++) {
      ev.onBurst(burst('pps_allowance_exceeded', T0 + i * 1000));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => ev.stats().pending === 0, 'every burst written', 10_000);
    const elapsed = performance.now() - began;
    // A timer never fires early: however slow the machine, no more writes than intervals.
    expect(writes().length).toBeLessThanOrEqual(Math.ceil(elapsed / INTERVAL) + 1);
    expect(writes().length).toBeLessThan(40);
    expect([...api!.events.values()][0]!['series']).toMatchObject({ count: 40 });
  });

  it('keeps counting through a failing API and writes everything once it answers again', async () => {
    const ev = nodeEvents();
    api!.fail(500);
    ev.onBurst(burst('pps_allowance_exceeded', T0));
    ev.onBurst(burst('pps_allowance_exceeded', T0 + 1000));
    await until(() => ev.stats().failed >= 1, 'a failed write', 10_000);
    expect(ev.stats()).toMatchObject({ created: 0, pending: 2, error: '500' });
    api!.fail(403);
    ev.onBurst(burst('pps_allowance_exceeded', T0 + 2000));
    // (A retry already answered 500 may still be on its way back: wait for the 403 itself.)
    await until(() => ev.stats().error === '403', 'a write refused with 403', 10_000);
    expect(ev.stats()).toMatchObject({ created: 0, pending: 3 });
    api!.fail('none');
    await until(() => ev.stats().created === 1, 'the Event', 20_000);
    expect([...api!.events.values()][0]!['series']).toEqual({ count: 3, lastObservedTime: '2026-12-02T10:00:02.000000Z' });
    expect(ev.stats()).toMatchObject({ pending: 0, error: null });
  });

  it('gives up a call that hangs at its deadline and tries again', async () => {
    const ev = nodeEvents();
    api!.fail('hang');
    ev.onBurst(burst('pps_allowance_exceeded', T0));
    await until(() => ev.stats().failed >= 1, 'the deadline', 10_000);
    expect(ev.stats()).toMatchObject({ error: 'ETIMEDOUT', pending: 1 });
    api!.fail('none');
    await until(() => ev.stats().created === 1, 'the Event', 20_000);
  });

  it('keeps the note within the API’s 1 KiB and the stand-in refuses what the API refuses', () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ veth: `eni${i}`, ips: [`10.1.0.${i}`], pod: `${'n'.repeat(60)}/${'p'.repeat(200)}-${i}`, packets: 1, bytes: 1, share: 0.1 }));
    const long = burst('pps_allowance_exceeded', T0, 5, many);
    (long as { diagnosis: { summary: string } }).diagnosis = { summary: 'ü'.repeat(400) };
    const note = eventNote(long);
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
    expect(note.endsWith('…')).toBe(true);
    // The stand-in is not a rubber stamp.
    const base = { metadata: { name: 'n.1', namespace: 'default' }, eventTime: '2026-12-02T10:00:00.000000Z', reportingController: 'ethburst', reportingInstance: 'i', action: 'A', reason: 'R', type: 'Warning', regarding: { kind: 'Node', name: 'n' }, note: 'x' };
    expect(validateEvent(base, 'default', null)).toEqual([]);
    expect(validateEvent({ ...base, type: 'Error' }, 'default', null)).toEqual(['type: has invalid value: Error']);
    expect(validateEvent({ ...base, note: 'y'.repeat(1025) }, 'default', null)).toEqual(['note: can have at most 1024 characters']);
    expect(validateEvent({ ...base, series: { count: 1, lastObservedTime: base.eventTime } }, 'default', null)).toEqual(['series.count: should be at least 2']);
    expect(validateEvent({ ...base, note: 'changed' }, 'default', base)).toEqual(['note: field is immutable']);
    expect(validateEvent({ ...base, eventTime: 5 }, 'default', null)[0]).toMatch(/^schema: .*eventTime must be string/);
  });
});
