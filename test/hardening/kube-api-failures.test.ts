// A Kubernetes API that fails (500, then 403, then accepts calls and never
// answers) while `serve --node-events` samples a fake ENA (the LD_PRELOAD
// shim: a stand-in for ENA) through bursts: sampling goes on, /metrics
// answers every time, and once the API (the stand-in of
// test/helpers/kube-apiserver.ts) answers again every burst is in the
// Event's series: nothing counted is lost.

import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../../src/harness/wait.js';
import { opensslMissing } from '../helpers/certificates.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-apiserver.js';
import { startServe, type Served } from '../helpers/serve.js';
import { value } from '../helpers/exposition.js';
import { haveCc, shimEnv, shimScript } from '../helpers/shim.js';

const NODE = 'ip-10-0-1-23.ec2.internal';
const BURSTS = 8;

interface Devices {
  kubernetes?: { api: string; events: { created: number; patched: number; failed: number; pending: number; error: string | null } | null };
}

let served: Served | null = null;
let api: KubeApiServer | null = null;
let dir = '';
afterEach(async () => {
  await served?.stop();
  served = null;
  await api?.close();
  api = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const skip = !haveCc ? 'needs a C compiler for the shim' : opensslMissing;

describe.skipIf(skip !== null)(`a failing Kubernetes API never reaches sampling ${skip ? `(skipped: ${skip})` : ''}`, () => {
  it('samples and serves /metrics through 500s, 403s and a hanging API, and writes every burst once it answers', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ethburst-kube-'));
    api = await startKubeApiServer(dir, NODE);
    api.fail(500);
    // A burst of 400 pps drops every 3 s.
    const script = Array.from({ length: BURSTS }, (_, i) => `${1000 + i * 3000} burst pps_allowance_exceeded 400 500`).join('\n');
    served = await startServe(
      ['--device', 'ena0', '--node-name', NODE, '--kubernetes', api.url, '--kube-credentials', api.credentialsDir, '--node-events', '--node-events-min-drops', '1', '--node-events-interval', '1s'],
      shimEnv(`ena0=${shimScript('kube-failures.script', `${script}\n`)}`),
    );
    const events = async () => (await served!.json<Devices>('/api/devices')).kubernetes!.events!;
    const ticks = async () => value(await served!.metrics(), 'ethburst_sampler_ticks_total');
    const seen: number[] = [];

    for (const [failure, code] of [
      [500, '500'],
      [403, '403'],
      ['hang', 'ETIMEDOUT'],
    ] as const) {
      api.fail(failure);
      await until(async () => (await events()).error === code, `the API's ${code} to be seen`, 40_000);
      seen.push(await ticks());
    }
    api.fail('none');
    await until(async () => (await served!.json<{ bursts: unknown[] }>('/api/bursts')).bursts.length === BURSTS, 'every burst', 60_000);
    await until(async () => (await events()).pending === 0, 'every burst written', 60_000);
    seen.push(await ticks());

    // Sampling went on through every phase.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    // One Event, its series counting every burst; the failures were counted, not fatal.
    const stored = [...api.events.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]!['reason']).toBe('PPSExceeded');
    expect((stored[0]!['series'] as { count: number } | undefined)?.count ?? 1).toBe(BURSTS);
    const e = await events();
    expect(e.failed).toBeGreaterThanOrEqual(3);
    expect(e.error).toBeNull();
    // /metrics says so too.
    const m = await served.metrics();
    expect(value(m, 'ethburst_kubernetes_events_total', { result: 'failed' })).toBe(e.failed);
    expect(value(m, 'ethburst_kubernetes_events_total', { result: 'created' })).toBe(1);
    expect(value(m, 'ethburst_kubernetes_events_pending')).toBe(0);
    // Said once per kind of failure, not once per attempt.
    const warnings = served.logs().filter((l) => l['msg'] === 'cannot write Kubernetes events; the bursts are counted and written when the API answers');
    expect(warnings.map((l) => l['error'])).toEqual(['500', '403', 'ETIMEDOUT']);
  }, 180_000);
});
