// The watch feed without a server: a StatsSource (the native sampler, or
// anything else that delivers samples) feeding an Exporter in this process.
// The Exporter already keeps what the rows need (per-tick series, finished
// bursts, device states) and the aggregator knows the burst in progress
// exactly, so nothing is re-derived here.

import { Exporter } from '../export/exporter.js';
import { trackedStatMatcher } from '../aggregation/aggregator.js';
import { silentLogger } from '../log.js';
import type { StatsSource } from '../sampling/sample.js';
import { version } from '../version.js';
import { WATCH_WINDOW_MS, type Feed, type WatchSeries, type WatchSnapshot } from './feed.js';
import { summarizeWindow } from '../aggregation/window-summary.js';

export class LocalFeed implements Feed {
  private readonly exporter: Exporter;
  private readonly running: Promise<void>;
  private failure: string | null = null;

  constructor(
    private readonly source: StatsSource,
    private readonly label: string,
    private readonly intervalMs: number,
    trackedStat: (stat: string) => boolean = trackedStatMatcher(),
  ) {
    this.exporter = new Exporter({
      intervalMs,
      burstGapMs: 2000,
      trackedStat,
      // watch reads the series and bursts directly: no raw families needed.
      exportStat: () => false,
      compatShowmax: false,
      // Burst log lines would scribble over the screen.
      log: silentLogger,
      version: version(),
      defaultMetrics: false,
    });
    this.running = source.run(this.exporter).catch((err: unknown) => {
      this.failure = `sampling stopped: ${(err as Error)?.message ?? String(err)}`;
    });
  }

  async refresh(): Promise<WatchSnapshot> {
    const now = Date.now();
    const from = now - WATCH_WINDOW_MS - 2000;
    const last = new Map<string, ReturnType<Exporter['bursts']['query']>[number]>();
    for (const b of this.exporter.bursts.query({ sinceMs: now - 3_600_000 })) last.set(`${b.device}\u0000${b.stat}`, b);
    const series: WatchSeries[] = this.exporter.series.keys().map(({ device, stat }) => {
      const open = this.exporter.aggregator.openBurst(device, stat);
      return {
        device,
        stat,
        points: this.exporter.series.get(device, stat)?.since(from) ?? [],
        open: open ? { startMs: open.startMs, endMs: open.endMs, increase: open.increase } : null,
        lastBurst: last.get(`${device}\u0000${stat}`) ?? null,
        windows: this.exporter.aggregator.windows(device, stat)?.map(summarizeWindow) ?? null,
      };
    });
    const devices = this.exporter.deviceStates().map((d) => ({ name: d.name, driver: d.driver, up: d.up, lastError: d.lastError, intervalMs: d.intervalMs, backoff: d.backoff, counterUpdate: d.counterUpdate }));
    return { source: this.label, intervalMs: this.intervalMs, nowMs: now, series, devices, problem: this.failure };
  }

  async close(): Promise<void> {
    this.source.stop();
    await this.running;
  }
}
