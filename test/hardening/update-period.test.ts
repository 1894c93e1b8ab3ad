// How often does a device really update its counters? The fake-ENA shim
// (the stand-in for a real ENA device) plays devices that publish their
// customer metrics at every read, every 250 ms and every second; serve,
// sampling all of them every 100 ms, must find each period by itself and
// report the slow device's bursts at the resolution its data supports.

import { afterEach, describe, expect, it } from 'vitest';
import { value } from '../helpers/exposition.js';
import { until } from '../../src/harness/wait.js';
import { startServe, type Served } from '../helpers/serve.js';
import { haveCc, shimEnv, shimScript } from '../helpers/shim.js';

const script = shimScript;

interface Burst {
  device: string;
  increase: number;
  duration_ms: number;
  peak_rate_per_second: number;
}

interface DeviceState {
  name: string;
  counterUpdate: { periodMs: number | null; observations: number; settled: boolean; resolutionMs: number; note: string | null };
}

let served: Served | null = null;
afterEach(async () => {
  await served?.stop();
  served = null;
});

describe.skipIf(!haveCc)(`the counter update period of each device ${haveCc ? '' : '(skipped: needs a C compiler for the shim)'}`, () => {
  it('finds 1 s, 250 ms and every-read devices, and reports the slow device’s bursts at 1 s resolution', async () => {
    // 3000 drops over 3 s (1000/s), twice, after the gauge has had time to give the period away.
    const bursts = '9000 burst pps_allowance_exceeded 3000 3000\n16000 burst pps_allowance_exceeded 3000 3000\n';
    const slow = script('slow.script', `refresh 1000\n${bursts}`);
    const mid = script('mid.script', `refresh 250\n${bursts}`);
    const fast = script('fast.script', bursts);
    served = await startServe(['--burst-gap', '1500ms'], shimEnv(`ena0=${slow},ena1=${mid},ena2=${fast}`));
    const s = served;
    const done = await until(
      async () => {
        const b = (await s.json<{ bursts: Burst[] }>('/api/bursts')).bursts;
        return b.filter((x) => x.device === 'ena0').length >= 2 && b.filter((x) => x.device === 'ena2').length >= 2 ? b : null;
      },
      'two bursts of the slowest and the fastest device',
      40_000,
    );
    const m = await s.metrics();
    const period = (device: string): number => value(m, 'ethburst_device_refresh_interval_seconds', { device });
    expect(period('ena0')).toBeGreaterThanOrEqual(0.9);
    expect(period('ena0')).toBeLessThanOrEqual(1.1);
    // Changes every 250 ms seen at 100 ms ticks: 200 or 300 ms apart, give
    // or take the jitter of the tick times (0.19999… has been seen).
    expect(period('ena1')).toBeGreaterThanOrEqual(0.19);
    // A busy machine skips ticks now and then: a period is read give or take one.
    expect(period('ena1')).toBeLessThanOrEqual(0.35);
    expect(period('ena2')).toBeGreaterThanOrEqual(0.09);
    expect(period('ena2')).toBeLessThanOrEqual(0.12);

    const { devices } = await s.json<{ devices: DeviceState[] }>('/api/devices');
    const ena0 = devices.find((d) => d.name === 'ena0')!;
    expect(ena0.counterUpdate.observations).toBeGreaterThanOrEqual(6);
    expect(ena0.counterUpdate.settled).toBe(true);
    expect(ena0.counterUpdate.resolutionMs).toBe(ena0.counterUpdate.periodMs);
    expect(devices.find((d) => d.name === 'ena2')!.counterUpdate.resolutionMs).toBe(0);

    for (const b of done.filter((x) => x.device === 'ena0')) {
      expect(b.increase).toBe(3000);
      // One step per second: never shorter than a second, and the peak is
      // the true 1000/s, not a 10x spike from one 100 ms tick.
      expect(b.duration_ms).toBeGreaterThanOrEqual(900);
      expect(b.peak_rate_per_second).toBeLessThan(1500);
    }
    for (const b of done.filter((x) => x.device === 'ena2')) expect(b.increase).toBe(3000);
    // The burst log line says the resolution for the slow device only.
    const logged = s.logs().filter((l) => l['msg'] === 'burst');
    for (const l of logged.filter((x) => x['device'] === 'ena0')) expect(l['resolution_s']).toBeCloseTo(1, 1);
    expect(logged.filter((l) => l['device'] === 'ena2').some((l) => 'resolution_s' in l)).toBe(false);
    expect(ena0.counterUpdate.note).toMatch(/^ena0 updates its counters about every (1(\.1)? s|9\d\d ms): bursts shorter/);
  }, 60_000);
});
