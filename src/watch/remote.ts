// The watch feed from a running `ethburst serve`: its JSON API, polled.
// Each series is fetched once in full (the last minute) and then only for
// the time since its previous fetch, into a bounded history, so a refresh
// costs a few dozen points per series however long watch runs.

import type { BurstRecord } from '../state/recent-bursts.js';
import { ASSUMED_BURST_GAP_MS, WATCH_WINDOW_MS, deviceMatches, type DeviceFilter, type Feed, type WatchDevice, type WatchSeries, type WatchSnapshot } from './feed.js';
import { openBurstOf } from './summary.js';
import type { WindowSummary } from '../aggregation/window-summary.js';

const FETCH_TIMEOUT_MS = 4000;
/** Series list and devices are re-read every this many refreshes. */
const SLOW_EVERY = 5;
const CONCURRENCY = 8;
/** Fetch windows overlap by this much: the server delivers samples in batches. */
const OVERLAP_MS = 3000;
const BURSTS_KEPT = 1000;

class History {
  points: [number, number][] = [];
  lastT = -Infinity;
  /** Local time of the last successful fetch; 0 before the first. */
  fetchedAt = 0;

  constructor(
    readonly device: string,
    readonly stat: string,
  ) {}

  append(points: [number, number][]): void {
    for (const p of points) {
      if (p[0] > this.lastT) {
        this.points.push(p);
        this.lastT = p[0];
      }
    }
    // A little beyond the window, so the first point in it has a predecessor.
    const from = this.lastT - WATCH_WINDOW_MS - 2000;
    let drop = 0;
    while (drop < this.points.length && this.points[drop]![0] < from) drop++;
    if (drop > 0) this.points.splice(0, drop);
  }
}

export class RemoteFeed implements Feed {
  private readonly base: URL;
  private readonly filter: DeviceFilter;
  private readonly history = new Map<string, History>();
  private bursts: BurstRecord[] = [];
  private readonly burstKeys = new Set<string>();
  private devices: WatchDevice[] = [];
  private intervalMs = 100;
  /** The server's --burst-gap, from /api/series; the default until it says. */
  private burstGapMs = ASSUMED_BURST_GAP_MS;
  private source = '';
  /** The newest /api/windows answer by series key; empty for a server without it. */
  private windows = new Map<string, WindowSummary[]>();
  private refreshes = 0;
  /** Server clock minus ours, learned from the newest sample times. */
  private clockOffset = Number.NaN;
  private readonly controller = new AbortController();

  constructor(base: URL, filter: DeviceFilter) {
    this.base = base;
    this.filter = filter;
  }

  async refresh(): Promise<WatchSnapshot> {
    let problem: string | null = null;
    try {
      if (this.refreshes++ % SLOW_EVERY === 0 || this.history.size === 0) await Promise.all([this.refreshList(), this.refreshDevices(), this.refreshWindows()]);
      await Promise.all([this.refreshBursts(), this.refreshSeries()]);
    } catch (err) {
      problem = `exporter unreachable at ${this.base.origin}: ${describe(err)} (retrying)`;
      this.refreshes = 0;
    }
    return this.snapshot(problem);
  }

  close(): Promise<void> {
    this.controller.abort();
    return Promise.resolve();
  }

  private url(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.base);
  }

  private async get<T>(path: string): Promise<T> {
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]);
    const res = await fetch(this.url(path), { signal });
    if (!res.ok) throw Object.assign(new Error(`${path.split('?')[0]}: HTTP ${res.status}`), { status: res.status });
    return (await res.json()) as T;
  }

  private async refreshList(): Promise<void> {
    const r = await this.get<{ interval_ms: number; burst_gap_ms?: number; series: { device: string; stat: string }[] }>('/api/series');
    if (typeof r.burst_gap_ms === 'number') this.burstGapMs = r.burst_gap_ms;
    this.intervalMs = r.interval_ms;
    const seen = new Set<string>();
    for (const { device, stat } of r.series) {
      if (!deviceMatches(this.filter, device)) continue;
      const key = `${device}\u0000${stat}`;
      seen.add(key);
      if (!this.history.has(key)) this.history.set(key, new History(device, stat));
    }
    for (const key of [...this.history.keys()]) if (!seen.has(key)) this.history.delete(key);
  }

  private async refreshDevices(): Promise<void> {
    const r = await this.get<{ source: string; devices: WatchDevice[] }>('/api/devices');
    this.source = r.source;
    this.devices = r.devices.filter((d) => deviceMatches(this.filter, d.name));
  }

  /** The windows move in 10 s steps at the finest: the slow refreshes are enough. */
  private async refreshWindows(): Promise<void> {
    try {
      const r = await this.get<{ stats: { device: string; stat: string; windows: WindowSummary[] }[] }>('/api/windows');
      this.windows = new Map(r.stats.map((s) => [`${s.device}\u0000${s.stat}`, s.windows]));
    } catch (err) {
      // A server from before /api/windows: no window lines. Anything else is a real problem.
      if ((err as { status?: number }).status !== 404) throw err;
      this.windows.clear();
    }
  }

  private async refreshBursts(): Promise<void> {
    const newest = this.bursts.at(-1)?.end_ms;
    const since = newest === undefined ? '10m' : String(Math.floor(newest - 10_000));
    const r = await this.get<{ bursts: BurstRecord[] }>(`/api/bursts?since=${since}`);
    let added = false;
    for (const b of r.bursts) {
      const key = `${b.device}\u0000${b.stat}\u0000${b.start_ms}`;
      if (this.burstKeys.has(key) || !deviceMatches(this.filter, b.device)) continue;
      this.burstKeys.add(key);
      this.bursts.push(b);
      added = true;
    }
    if (added) {
      this.bursts.sort((a, b) => a.end_ms - b.end_ms);
      for (const old of this.bursts.splice(0, Math.max(0, this.bursts.length - BURSTS_KEPT))) {
        this.burstKeys.delete(`${old.device}\u0000${old.stat}\u0000${old.start_ms}`);
      }
    }
  }

  private async refreshSeries(): Promise<void> {
    const queue = [...this.history.values()];
    let failures = 0;
    let firstError: unknown = null;
    const worker = async (): Promise<void> => {
      for (let h = queue.shift(); h; h = queue.shift()) {
        const started = Date.now();
        const windowMs = h.fetchedAt === 0 ? WATCH_WINDOW_MS + 2000 : Math.min(WATCH_WINDOW_MS + 2000, started - h.fetchedAt + OVERLAP_MS);
        const q = new URLSearchParams({ device: h.device, stat: h.stat, window: `${Math.ceil(windowMs)}ms` });
        try {
          const r = await this.get<{ points: [number, number][] }>(`/api/series?${q.toString()}`);
          h.append(r.points);
          h.fetchedAt = started;
          const last = r.points.at(-1);
          if (last) {
            const offset = last[0] - Date.now();
            if (!(offset <= this.clockOffset)) this.clockOffset = offset;
          }
        } catch (err) {
          // A series that vanished between list and fetch is dropped at the next list.
          if ((err as { status?: number }).status === 404) continue;
          failures++;
          firstError ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (failures > 0 && failures === this.history.size) throw firstError;
  }

  private snapshot(problem: string | null): WatchSnapshot {
    const last = new Map<string, BurstRecord>();
    for (const b of this.bursts) last.set(`${b.device}\u0000${b.stat}`, b);
    const series: WatchSeries[] = [...this.history.entries()].map(([key, h]) => {
      const open = openBurstOf(h.points, this.burstGapMs);
      const done = last.get(key) ?? null;
      // Once the server reports the burst finished, it is no longer open.
      const stillOpen = open && !(done && done.start_ms >= open.startMs - this.intervalMs) ? open : null;
      return { device: h.device, stat: h.stat, points: h.points, open: stillOpen, lastBurst: done, windows: this.windows.get(key) ?? null };
    });
    return {
      source: `${this.base.origin}${this.source ? ` (${this.source})` : ''}`,
      intervalMs: this.intervalMs,
      nowMs: Date.now() + (this.clockOffset === this.clockOffset ? this.clockOffset : 0),
      series,
      devices: this.devices,
      problem,
    };
  }
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${FETCH_TIMEOUT_MS / 1000} s`;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
