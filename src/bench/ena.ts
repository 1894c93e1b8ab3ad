// What nobody has published about ENA, measured where it runs: how long a
// GSTATS (one admin-queue command under rtnl_lock) takes, and how often the
// device refreshes the counters it reports (src/aggregation/update-period.ts). Runs only
// on a machine with an ENA device; elsewhere the section says so, and the
// README asks the first users on EC2 to send these lines.

import { Aggregator } from '../aggregation/aggregator.js';
import { NativeSource } from '../sampling/native-source.js';
import type { Sample } from '../sampling/sample.js';
import { checkAborted, sleep, type BenchContext } from './context.js';
import type { BenchDevice } from './devices.js';
import { distribution, scaleDistribution, type Distribution } from './stats.js';

export interface EnaDeviceResult {
  name: string;
  reads: number;
  errors: number;
  /** GSTATS duration, µs. */
  ioctlUs: Distribution;
  /** The device's counter refresh period, ms (null: its counters did not move twice). */
  refreshMs: number | null;
  refreshObservations: number;
  settled: boolean;
}

export interface EnaResult {
  status: 'ok';
  intervalMs: number;
  windowS: number;
  devices: EnaDeviceResult[];
}

export async function measureEna(ctx: BenchContext, devices: readonly BenchDevice[]): Promise<EnaResult> {
  const intervalMs = 100;
  const windowMs = ctx.quick ? 10_000 : 60_000;
  ctx.progress(`6 ENA: ioctl latency and counter refresh period of ${devices.map((d) => d.name).join(', ')} for ${windowMs / 1000} s`);
  // Backed off or not, every read is timed: the back-off stays on, as in serve.
  const source = new NativeSource({ intervalMs, rescanMs: 0, selection: { devices: devices.map((d) => d.name), include: [], exclude: [] } });
  const agg = new Aggregator({ windowsMs: [] });
  const capacity = Math.ceil(windowMs / intervalMs) + 100;
  const ioctl = new Map(devices.map((d) => [d.name, { ns: new Float64Array(capacity), n: 0, errors: 0 }]));
  const sink = {
    sample(s: Readonly<Sample>) {
      const r = ioctl.get(s.device);
      if (r) {
        if (s.error !== null) r.errors++;
        else if (r.n < capacity && s.ioctlNs === s.ioctlNs) r.ns[r.n++] = s.ioctlNs;
      }
      agg.sample(s);
    },
    deviceAdded: agg.deviceAdded.bind(agg),
    deviceRemoved: agg.deviceRemoved.bind(agg),
  };
  await source.prepare();
  const running = source.run(sink);
  const stop = ctx.cleanup.add('bench ENA sampler', () => source.stop());
  try {
    checkAborted(ctx.signal);
    await sleep(windowMs, ctx.signal);
  } finally {
    stop();
    await running.catch(() => undefined);
  }
  return {
    status: 'ok',
    intervalMs,
    windowS: windowMs / 1000,
    devices: devices.map((d) => {
      const r = ioctl.get(d.name)!;
      const p = agg.updatePeriod(d.name);
      return {
        name: d.name,
        reads: r.n + r.errors,
        errors: r.errors,
        ioctlUs: scaleDistribution(distribution(r.ns, r.n), 1e-3),
        refreshMs: p && p.periodMs === p.periodMs ? p.periodMs : null,
        refreshObservations: p?.observations ?? 0,
        settled: p?.settled ?? false,
      };
    }),
  };
}
