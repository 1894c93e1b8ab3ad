// ENA's failure modes, played by the LD_PRELOAD shim under the unchanged
// addon and CLI, each checked where a user would look: /metrics,
// /api/bursts, the log.

import { afterEach, describe, expect, it } from 'vitest';
import { enaStatNames } from '../../src/aggregation/ena-stats.js';
import { parseTraceLine } from '../../src/sources/trace.js';
import { runCli } from '../helpers/cli.js';
import { has, value } from '../helpers/exposition.js';
import { until } from '../../src/harness/wait.js';
import { startServe, type Served } from '../helpers/serve.js';
import { haveCc, shimEnv, shimScript } from '../helpers/shim.js';
import { u64ToNumber } from '../../src/sampling/u64.js';

const script = shimScript;

interface Burst {
  device: string;
  stat: string;
  increase: number;
}

let served: Served | null = null;
afterEach(async () => {
  await served?.stop();
  served = null;
});

const skip = !haveCc ? '(skipped: needs a C compiler for the shim)' : '';

describe.skipIf(!haveCc)(`fake ENA through the real native path ${skip}`, () => {
  it('presents the ENA driver’s stat names, in order, and is discovered as an ena device', () => {
    const r = runCli(['record', '--duration', '250ms'], { env: shimEnv('ena0') });
    expect(r.stderr).toBe('');
    // The first device line (the node's counters come first in each tick).
    const rec = parseTraceLine(r.stdout.split('\n').find((l) => l.includes('"device"'))!);
    expect(rec).toMatchObject({ kind: 'sample', device: 'ena0', driver: 'ena' });
    // With an ENA device present, the virtio eth0 is not picked by default.
    expect(r.stdout).not.toMatch(/"device":"eth0"/);
    if (rec?.kind === 'sample') expect(rec.names).toEqual(enaStatNames({ queues: 4 }));
    // ENA's traffic comes from the same GSTATS read: the sums of its per-queue counters (the fake ENA has no sysfs entry to ask).
    if (rec?.kind === 'sample') {
      const sum = (suffix: string) => rec.names.reduce((n, name, i) => (/^queue_\d+_/.test(name) && name.replace(/^queue_\d+_/, '') === suffix ? n + u64ToNumber(rec.values[2 * i]!, rec.values[2 * i + 1]!) : n), 0);
      expect([...rec.traffic]).toEqual([sum('rx_cnt'), sum('tx_cnt'), sum('rx_bytes'), sum('tx_bytes')]);
      expect(sum('rx_cnt')).toBeGreaterThan(0);
    }
  });

  it('a bogus all-zero read (failed admin command) makes no phantom burst and never shows as a zero counter', async () => {
    const s = script('zero.script', '300 add pps_allowance_exceeded 100\n1500 zero 1\n');
    served = await startServe(['--burst-gap', '500ms'], shimEnv(`ena0=${s}`));
    const zeroSeen = await until(async () => {
      const m = await served!.metrics();
      return value(m, 'ethtool_failed_reads_total', { device: 'ena0' }) >= 1 ? m : null;
    }, 'the failed read to be judged');
    await new Promise((r) => setTimeout(r, 1000));
    const m = await served.metrics();
    expect(value(m, 'ethtool_pps_allowance_exceeded_total', { device: 'ena0' })).toBe(100);
    expect(value(m, 'ethtool_resets_total', { device: 'ena0' })).toBe(0);
    expect(value(zeroSeen, 'ethtool_failed_reads_total', { device: 'ena0' })).toBe(1);
    const { bursts } = await served.json<{ bursts: Burst[] }>('/api/bursts?device=ena0');
    expect(bursts.map((b) => [b.stat, b.increase])).toEqual([['pps_allowance_exceeded', 100]]);
    // The series budget (issue 16) on an ENA device with a burst behind it and the ioctl histogram: at most 60.
    const series = m.samples.filter((x) => x.labels['device'] === 'ena0').length;
    console.log(`cardinality: fake ENA device: ${series} series`);
    expect(series).toBeLessThanOrEqual(60);
    expect(m.samples.some((x) => x.name === 'ethburst_ioctl_duration_seconds_count' && x.labels['device'] === 'ena0')).toBe(true);
  });

  it('a genuine device reset is counted once, and the drops after it are a burst of their own', async () => {
    const s = script('reset.script', '300 add pps_allowance_exceeded 100\n1500 reset\n2500 add pps_allowance_exceeded 40\n');
    served = await startServe(['--burst-gap', '500ms'], shimEnv(`ena0=${s}`));
    const bursts = await until(async () => {
      const b = (await served!.json<{ bursts: Burst[] }>('/api/bursts?device=ena0')).bursts;
      return b.length >= 2 ? b : null;
    }, 'two bursts');
    expect(bursts.map((b) => [b.stat, b.increase])).toEqual([
      ['pps_allowance_exceeded', 100],
      ['pps_allowance_exceeded', 40],
    ]);
    const m = await served.metrics();
    expect(value(m, 'ethtool_resets_total', { device: 'ena0' })).toBe(1);
    expect(value(m, 'ethtool_pps_allowance_exceeded_total', { device: 'ena0' })).toBe(40);
  });

  it.each([
    ['a fixed kernel (stale count answered with n_stats = 0)', {}],
    ['an old kernel (writes the new, larger count regardless)', { ETHBURST_FAKE_ENA_OLD_KERNEL: '1' }],
  ])('a changing stat count (queues 4 → 32, PHC on) on %s: names re-read, values stay with their names', async (_label, extraEnv) => {
    const s = script('layout.script', '0 queues 4\n300 add linklocal_allowance_exceeded 7\n1000 queues 32\n1200 phc on\n2000 add linklocal_allowance_exceeded 5\n');
    served = await startServe(['--stat-include', '^queue_\\d+_tx_cnt$|^phc_cnt$', '--burst-gap', '300ms'], { ...shimEnv(`ena0=${s}`), ...extraEnv });
    const m = await until(async () => {
      const p = await served!.metrics();
      return has(p, 'ethtool_queue_tx_cnt_total', { device: 'ena0', queue: '31' }) && value(p, 'ethtool_linklocal_allowance_exceeded_total', { device: 'ena0' }) === 12 ? p : null;
    }, 'the 32-queue layout and the second add');
    expect(has(m, 'ethtool_phc_cnt_total', { device: 'ena0' })).toBe(true);
    // The allowance counter kept its meaning across both changes: 7 then 5, no reset, no phantom.
    expect(value(m, 'ethtool_resets_total', { device: 'ena0' })).toBe(0);
    // Per-queue counters count calls × (queue + 1) in the shim: queue 31 is 32 × queue 0.
    const q0 = value(m, 'ethtool_queue_tx_cnt_total', { device: 'ena0', queue: '0' });
    const q31 = value(m, 'ethtool_queue_tx_cnt_total', { device: 'ena0', queue: '31' });
    expect(q31).toBe(32 * q0);
    expect(value(m, 'ethtool_up', { device: 'ena0' })).toBe(1);
  });

  it('a slow device backs off to --max-interval, is logged, and returns to full speed once healthy', async () => {
    // 300 ms calls against a 150 ms threshold: a busy machine can stretch a
    // fast call by tens of milliseconds (preemption inside the timed ioctl),
    // never by 150, so only ena0's own slowness backs anything off.
    const s = script('slow.script', '500 latency 300\n2500 latency 0\n');
    served = await startServe(['--max-interval', '400ms', '--backoff-threshold', '150ms'], shimEnv(`ena0=${s},ena1`));
    await until(async () => value(await served!.metrics(), 'ethburst_device_interval_seconds', { device: 'ena0' }) === 0.4, 'back-off to 400 ms');
    // Recovery waits for the slow calls to leave the 10 s window, then 10 healthy calls per halving.
    await until(async () => value(await served!.metrics(), 'ethburst_device_interval_seconds', { device: 'ena0' }) === 0.1, 'recovery to 100 ms', 45_000);
    const m = await served.metrics();
    expect(value(m, 'ethburst_backoff_events_total', { device: 'ena0' })).toBe(2);
    // The healthy neighbour was never slowed down.
    expect(value(m, 'ethburst_device_interval_seconds', { device: 'ena1' })).toBe(0.1);
    expect(value(m, 'ethburst_backoff_events_total', { device: 'ena1' })).toBe(0);
    const logs = served.logs();
    expect(logs.filter((l) => l['msg'] === 'device unwell: sampling slower' && l['device'] === 'ena0').map((l) => l['interval_ms'])).toEqual([200, 400]);
    expect(logs.filter((l) => l['msg'] === 'device recovering: sampling faster' && l['device'] === 'ena0').map((l) => l['interval_ms'])).toEqual([200, 100]);
  }, 60_000);

  it('rising ena_admin_q_no_completion backs the device off', async () => {
    const s = script('admin.script', '800 add no_completion 1\n');
    served = await startServe([], shimEnv(`ena0=${s}`));
    await until(async () => value(await served!.metrics(), 'ethburst_backoff_events_total', { device: 'ena0' }) >= 1, 'a back-off');
    expect(served.logs().find((l) => l['msg'] === 'device unwell: sampling slower')).toMatchObject({ device: 'ena0', reason: 'admin_queue' });
  });

  it('one failing device never affects the others: ena0 times out for good, ena1’s burst is measured exactly', async () => {
    const bad = script('fail.script', '300 errno ETIMEDOUT 100000\n');
    const good = script('good.script', '1000 burst linklocal_allowance_exceeded 2000 600\n');
    served = await startServe(['--burst-gap', '500ms'], shimEnv(`ena0=${bad},ena1=${good}`));
    const bursts = await until(async () => {
      const b = (await served!.json<{ bursts: Burst[] }>('/api/bursts?device=ena1')).bursts;
      return b.length >= 1 ? b : null;
    }, 'ena1’s burst');
    expect(bursts.map((b) => [b.stat, b.increase])).toEqual([['linklocal_allowance_exceeded', 2000]]);
    // ena0 doubles its interval once per failed call: 100 → 1000 ms takes four of them, however the ticks fall.
    const m = await until(async () => {
      const p = await served!.metrics();
      return value(p, 'ethburst_device_interval_seconds', { device: 'ena0' }) === 1 ? p : null;
    }, 'ena0 backed off to --max-interval');
    expect(value(m, 'ethtool_up', { device: 'ena0' })).toBe(0);
    expect(value(m, 'ethtool_up', { device: 'ena1' })).toBe(1);
    expect(value(m, 'ethburst_sample_errors_total', { device: 'ena0', code: 'ETIMEDOUT' })).toBeGreaterThan(0);
    expect(value(m, 'ethburst_device_interval_seconds', { device: 'ena0' })).toBe(1);
    expect(value(m, 'ethburst_device_interval_seconds', { device: 'ena1' })).toBe(0.1);
    expect((await fetch(`${served.base}/readyz`)).status).toBe(200);
  });

  it('a device that vanishes is dropped (its series go), and one that returns is sampled again after a re-scan', async () => {
    const s = script('gone.script', '600 gone\n2500 back\n');
    served = await startServe(['--rescan', '300ms'], shimEnv(`ena0=${s},ena1`));
    await until(async () => !has(await served!.metrics(), 'ethtool_up', { device: 'ena0' }), 'ena0 to disappear');
    expect(has(await served.metrics(), 'ethtool_up', { device: 'ena1' })).toBe(true);
    await until(async () => has(await served!.metrics(), 'ethtool_up', { device: 'ena0' }), 'ena0 to return');
    const logs = served.logs().filter((l) => l['device'] === 'ena0').map((l) => l['msg']);
    expect(logs).toEqual(['sampling device', 'stopped sampling device', 'sampling device']);
  });
});
