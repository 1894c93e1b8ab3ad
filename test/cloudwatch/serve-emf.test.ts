// `serve --emf` end to end through the CLI: records for every burst on
// stdout from the simulator (the issue's "done when"), and a CloudWatch
// agent stand-in (test/helpers/emf-agent.ts, TCP on loopback) killed in the
// middle of a fake-ENA run (the LD_PRELOAD shim, a stand-in for ENA):
// sampling goes on, every drop is counted, every burst's record either
// arrives or is counted as dropped, and the records after the agent is back
// arrive.

import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../src/harness/wait.js';
import { value } from '../helpers/exposition.js';
import { parseEmf } from '../helpers/emf.js';
import { TcpAgent } from '../helpers/emf-agent.js';
import { startServe, type Served } from '../helpers/serve.js';
import { haveCc, shimEnv, shimScript } from '../helpers/shim.js';

interface ApiBurst {
  id: number;
  device: string;
  stat: string;
  increase: number;
  start_ms: number;
  end_ms: number;
  diagnosis: { cause: string };
}

const NODE = 'ip-10-0-1-23.ec2.internal';

let served: Served | null = null;
let agent: TcpAgent | null = null;
let dir = '';
afterEach(async () => {
  await served?.stop();
  served = null;
  await agent?.kill();
  agent = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('serve --emf stdout (simulated ENA)', () => {
  it('prints a valid EMF record for each burst, the same burst /api/bursts serves, and the minute at shutdown', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ethburst-emf-'));
    const script = join(dir, 'script.json');
    writeFileSync(
      script,
      JSON.stringify([
        { device: 'eth0', stat: 'linklocal_allowance_exceeded', at_ms: 500, duration_ms: 800, packets: 900 },
        { device: 'eth0', stat: 'pps_allowance_exceeded', at_ms: 2000, duration_ms: 1500, packets: 5000 },
      ]),
    );
    served = await startServe(['--source', 'simulate', '--simulate-script', script, '--burst-gap', '500ms', '--node-name', NODE, '--emf', 'stdout']);
    const api = await until(async () => {
      const b = (await served!.json<{ bursts: ApiBurst[] }>('/api/bursts')).bursts;
      return b.length === 2 ? b : null;
    }, 'both bursts');
    await until(() => served!.stdout().split('\n').filter((l) => l.includes('"record":"burst"')).length === 2, 'both burst records');
    const done = await served.stop();
    expect(done.status).toBe(0);
    const records = parseEmf(done.stdout);
    const bursts = records.filter((r) => r['record'] === 'burst');
    expect(bursts.map((b) => [b['id'], b['Stat'], b['burst_size'], b['NodeName']])).toEqual(api.map((b) => [b.id, b.stat, b.increase, NODE]));
    expect(bursts.map((b) => (b['diagnosis'] as { cause: string }).cause)).toEqual(['linklocal', 'pps']);
    // The minute (or minutes) it ran in, written at shutdown, with both bursts' drops.
    const minutes = records.filter((r) => r['record'] === 'minute');
    expect(minutes.length).toBeGreaterThanOrEqual(1);
    const sum = (stat: string) => minutes.flatMap((m) => (m[stat] as number[] | undefined) ?? []).reduce((a, b) => a + b, 0);
    expect(sum('linklocal_allowance_exceeded')).toBe(900);
    expect(sum('pps_allowance_exceeded')).toBe(5000);
  }, 60_000);

  it('a bad --emf is a usage error naming the flag', async () => {
    const { runCli } = await import('../helpers/cli.js');
    const r = runCli(['serve', '--emf', 'http://agent:25888']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--emf.*"http:\/\/agent:25888" is not stdout, tcp:\/\/HOST:PORT or udp:\/\/HOST:PORT/);
  });
});

describe('serve --emf over a replayed trace says what analyze says', () => {
  it('the same bursts, and minute records that add up to analyze\'s totals', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ethburst-emf-'));
    const trace = join(dir, 'trace.jsonl');
    const { runCli } = await import('../helpers/cli.js');
    expect(runCli(['simulate', '--simulate-devices', '2', '--duration', '3m', '--simulate-seed', '4', '--out', trace]).status).toBe(0);
    const analyzed = JSON.parse(runCli(['analyze', trace, '--format', 'json']).stdout) as {
      bursts: { device: string; stat: string; start_ms: number; end_ms: number; increase: number; diagnosis: { cause: string } }[];
      totals: { device: string; stat: string; increase: number; seconds_with_increase: number; max_second_increase: number }[];
    };
    served = await startServe(['--source', `replay:${trace}`, '--replay-speed', 'fast', '--emf', 'stdout']);
    await until(() => served!.logs().some((l) => l['msg'] === 'source finished; still serving'), 'the replay to finish');
    const done = await served.stop();
    const records = parseEmf(done.stdout);
    const key = (b: Record<string, unknown>) => [b['Device'] ?? b['device'], b['Stat'] ?? b['stat'], b['start_ms'], b['end_ms'], b['increase'], (b['diagnosis'] as { cause: string }).cause];
    const order = (a: unknown[], b: unknown[]) => (a[2] as number) - (b[2] as number) || String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1]));
    const live = records.filter((r) => r['record'] === 'burst').map(key).sort(order);
    expect(analyzed.bursts.length).toBeGreaterThan(3);
    expect(live).toEqual(analyzed.bursts.map((b) => key(b as unknown as Record<string, unknown>)).sort(order));
    const minutes = records.filter((r) => r['record'] === 'minute');
    for (const t of analyzed.totals.filter((x) => x.stat.endsWith('_allowance_exceeded'))) {
      const values = minutes.filter((m) => m['Device'] === t.device).flatMap((m) => (m[t.stat] as number[] | undefined) ?? []);
      expect([t.device, t.stat, values.reduce((a, b) => a + b, 0), values.length, Math.max(0, ...values)]).toEqual([t.device, t.stat, t.increase, t.seconds_with_increase, t.max_second_increase]);
    }
  }, 60_000);
});

const BURSTS = 8;

describe.skipIf(!haveCc)(`a CloudWatch agent that goes away never reaches sampling ${haveCc ? '' : '(skipped: needs a C compiler for the shim)'}`, () => {
  it('samples through the outage, counts what it could not keep, and delivers once the agent is back', async () => {
    agent = new TcpAgent();
    await agent.start();
    // 400 pps drops every 3 s.
    const script = Array.from({ length: BURSTS }, (_, i) => `${1000 + i * 3000} burst pps_allowance_exceeded 400 500`).join('\n');
    served = await startServe(
      ['--device', 'ena0', '--node-name', NODE, '--burst-gap', '500ms', '--emf', `tcp://127.0.0.1:${agent.port}`, '--emf-queue', '2'],
      shimEnv(`ena0=${shimScript('emf-outage.script', `${script}\n`)}`),
    );
    const burstLines = () => agent!.lines.filter((l) => l.includes('"record":"burst"'));
    const bursts = async () => (await served!.json<{ bursts: ApiBurst[] }>('/api/bursts')).bursts;
    const ticks = async () => value(await served!.metrics(), 'ethburst_sampler_ticks_total');

    await until(() => burstLines().length === 2, 'two burst records at the agent', 30_000);
    const before = await ticks();
    await agent.kill();
    await until(async () => value(await served!.metrics(), 'ethburst_emf_connection_failures_total') >= 1, 'the exporter to see the agent gone');
    // More bursts than the queue holds while the agent is down.
    await until(async () => (await bursts()).length >= 6, 'bursts during the outage', 30_000);
    const during = await ticks();
    const down = await served.metrics();
    expect(value(down, 'ethburst_emf_records_total', { kind: 'burst', result: 'dropped' })).toBeGreaterThanOrEqual(1);
    expect(value(down, 'ethburst_emf_queued_records')).toBeLessThanOrEqual(2);

    await agent.start(agent.port);
    await until(async () => (await bursts()).length === BURSTS, 'every burst', 60_000);
    await until(async () => {
      const m = await served!.metrics();
      return value(m, 'ethburst_emf_records_total', { kind: 'burst', result: 'written' }) === burstLines().length && value(m, 'ethburst_emf_queued_records') === 0 && burstLines().length > 2;
      // The retry back-off doubles through the outage (up to 30 s): allow it a whole step.
    }, 'the records after the outage to arrive', 60_000);
    const after = await ticks();
    const m = await served.metrics();

    // Sampling went on, and every drop was counted.
    expect(during).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(during);
    expect(value(m, 'ethtool_pps_allowance_exceeded_total', { device: 'ena0' })).toBe(BURSTS * 400);
    expect(value(m, 'ethburst_ring_overruns_total')).toBe(0);
    // Each burst's record arrived or was counted as dropped; none arrived twice; every record is valid EMF.
    const received = parseEmf(burstLines().join('\n'));
    const ids = received.map((r) => r['id'] as number);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length + value(m, 'ethburst_emf_records_total', { kind: 'burst', result: 'dropped' })).toBe(BURSTS);
    expect(ids).toContain(BURSTS);
    // Said once per kind of failure (the connection going, then each refused retry) and once when it recovered, not per record or retry.
    const logs = served.logs();
    const failing = logs.filter((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('EMF destination failing')).map((l) => l['error']);
    expect(failing).toContain('ECONNREFUSED');
    expect(new Set(failing).size).toBe(failing.length);
    expect(logs.filter((l) => l['msg'] === 'EMF destination reachable again')).toHaveLength(1);
  }, 180_000);
});
