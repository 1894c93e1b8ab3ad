// Pod address → namespace/name from the Kubernetes API stand-in
// (test/helpers/kube-apiserver.ts; no API server exists on these machines):
// list then watch, only this node's pods, a deleted pod's name kept a while,
// 410 Gone answered by listing again, 403 answered by naming nobody.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeApi } from '../../src/kubernetes/api-client.js';
import { DELETED_KEPT_MS, PodDirectory } from '../../src/kubernetes/pod-directory.js';
import { until } from '../../src/harness/wait.js';
import type { LogFields, Logger } from '../../src/log.js';
import { opensslMissing } from '../helpers/certificates.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-apiserver.js';

const NODE = 'ip-10-0-1-23.ec2.internal';

let dir = '';
let api: KubeApiServer | null = null;
let directory: PodDirectory | null = null;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ethburst-kube-'));
  api = await startKubeApiServer(dir, NODE);
});
afterEach(async () => {
  directory?.stop();
  directory = null;
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(now?: () => number, log?: Logger): PodDirectory {
  directory = new PodDirectory({ api: new KubeApi({ server: api!.url, credentialsDir: api!.credentialsDir, timeoutMs: 2000 }), nodeName: NODE, ...(now ? { now } : {}), ...(log ? { log } : {}) });
  directory.start();
  return directory;
}

describe.skipIf(opensslMissing !== null)(`pod directory ${opensslMissing ? `(skipped: ${opensslMissing})` : ''}`, () => {
  it('names this node’s pods by every address, from the list and then the watch, and nobody else’s', async () => {
    api!.addPod({ namespace: 'shop', name: 'web-7d9f', ips: ['10.1.0.10', '2001:db8::10'] });
    api!.addPod({ namespace: 'kube-system', name: 'aws-node-x', ips: ['10.0.1.23'], hostNetwork: true });
    api!.addPod({ namespace: 'shop', name: 'elsewhere', ips: ['10.1.9.9'], nodeName: 'another-node' });
    const d = start();
    await until(() => d.stats().lists === 1, 'the list', 10_000);
    expect([d.lookup('10.1.0.10'), d.lookup('2001:db8::10'), d.lookup('10.0.1.23'), d.lookup('10.1.9.9')]).toEqual(['shop/web-7d9f', 'shop/web-7d9f', null, null]);
    // Only this node's pods were asked for.
    expect(api!.requests.every((r) => r.path.includes(`fieldSelector=spec.nodeName%3D${NODE}`))).toBe(true);
    // A pod that starts later arrives through the watch, without another list.
    api!.addPod({ namespace: 'batch', name: 'report-1', ips: ['10.1.0.12'] });
    await until(() => d.lookup('10.1.0.12'), 'the watch to add the pod', 10_000);
    expect(d.lookup('10.1.0.12')).toBe('batch/report-1');
    expect(d.stats()).toMatchObject({ lists: 1, pods: 3, error: null });
  });

  it('keeps a deleted pod’s name for its address a while, unless another pod takes the address', async () => {
    let now = 1_000_000;
    api!.addPod({ namespace: 'shop', name: 'web-a', ips: ['10.1.0.10'] });
    api!.addPod({ namespace: 'shop', name: 'web-b', ips: ['10.1.0.11'] });
    const d = start(() => now);
    await until(() => d.stats().lists === 1, 'the list', 10_000);
    api!.deletePod('shop', 'web-a');
    api!.deletePod('shop', 'web-b');
    await until(() => d.stats().pods === 0, 'the deletions', 10_000);
    // A burst that ended just after its pod went still names it.
    expect([d.lookup('10.1.0.10'), d.lookup('10.1.0.11')]).toEqual(['shop/web-a', 'shop/web-b']);
    api!.addPod({ namespace: 'shop', name: 'web-c', ips: ['10.1.0.11'] });
    await until(() => d.lookup('10.1.0.11') === 'shop/web-c', 'the new pod on the old address', 10_000);
    now += DELETED_KEPT_MS;
    expect(d.lookup('10.1.0.10')).toBeNull();
  });

  it('lists again when its watch is too old (410 Gone), and drops what went meanwhile', async () => {
    api!.addPod({ namespace: 'shop', name: 'web-a', ips: ['10.1.0.10'] });
    const d = start();
    await until(() => d.stats().lists === 1, 'the list', 10_000);
    // The server forgets its history and ends the watch; the pod goes while no watch is open.
    api!.compact();
    api!.deletePod('shop', 'web-a');
    api!.addPod({ namespace: 'shop', name: 'web-b', ips: ['10.1.0.11'] });
    await until(() => d.stats().lists === 2, 'a second list', 10_000);
    await until(() => d.lookup('10.1.0.11'), 'web-b', 10_000);
    expect(d.stats().pods).toBe(1);
  });

  it('names nobody without permission and says so once (it asks again every 5 minutes)', async () => {
    const lines: [string, string, LogFields][] = [];
    const log: Logger = { log: (level, msg, fields = {}) => void lines.push([level, msg, fields]), enabled: () => true };
    api!.addPod({ namespace: 'shop', name: 'web-a', ips: ['10.1.0.10'] });
    api!.fail(403);
    const d = start(undefined, log);
    await until(() => d.stats().error === '403', 'the refusal', 10_000);
    expect(d.lookup('10.1.0.10')).toBeNull();
    expect(lines.map(([level, msg]) => [level, msg])).toEqual([['warn', 'cannot name pods: the service account may not list pods; bursts name them by address until it works']]);
  });
});
