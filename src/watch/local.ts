// The watch feed without a server: a StatsSource (the native sampler, or
// anything else that delivers samples) feeding a device registry in this
// process — the same state `serve` keeps, without Prometheus. It already
// holds what the rows need (per-tick series, finished bursts, device
// states) and the aggregator knows the burst in progress exactly, so
// nothing is re-derived here.

import { trackedStatMatcher } from '../aggregation/stat-policy.js';
import type { StatsSource } from '../sampling/sample.js';
import { DeviceRegistry } from '../state/device-registry.js';
import type { BurstRecord } from '../state/recent-bursts.js';
import { WATCH_WINDOW_MS, type Feed, type WatchSeries, type WatchSnapshot } from './feed.js';
import { summarizeWindow } from '../aggregation/window-summary.js';

export class LocalFeed implements Feed {
  private readonly registry: DeviceRegistry;
  private readonly running: Promise<void>;
  private failure: string | null = null;

  constructor(
    private readonly source: StatsSource,
    private readonly label: string,
    private readonly intervalMs: number,
    trackedStat: (stat: string) => boolean = trackedStatMatcher(),
  ) {
    this.registry = new DeviceRegistry({ intervalMs, burstGapMs: 2000, trackedStat });
    this.running = source.run(this.registry).catch((err: unknown) => {
      this.failure = `sampling stopped: ${(err as Error)?.message ?? String(err)}`;
    });
  }

  refresh(): Promise<WatchSnapshot> {
    const now = Date.now();
    const from = now - WATCH_WINDOW_MS - 2000;
    const r = this.registry;
    const last = new Map<string, BurstRecord>();
    for (const b of r.bursts.query({ sinceMs: now - 3_600_000 })) last.set(`${b.device}\u0000${b.stat}`, b);
    const series: WatchSeries[] = r.seriesKeys().map(({ device, stat }) => {
      const open = r.aggregator.openBurst(device, stat);
      return {
        device,
        stat,
        points: r.series(device, stat)?.since(from) ?? [],
        open: open ? { startMs: open.startMs, endMs: open.endMs, increase: open.increase } : null,
        lastBurst: last.get(`${device}\u0000${stat}`) ?? null,
        windows: r.aggregator.windows(device, stat)?.map(summarizeWindow) ?? null,
      };
    });
    const devices = r.views().map((d) => ({ name: d.name, driver: d.driver, up: d.up, lastError: d.lastError, intervalMs: d.intervalMs, backoff: d.backoff, counterUpdate: d.counterUpdate }));
    return Promise.resolve({ source: this.label, intervalMs: this.intervalMs, nowMs: now, series, devices, problem: this.failure });
  }

  async close(): Promise<void> {
    this.source.stop();
    await this.running;
  }
}
