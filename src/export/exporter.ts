// The exporter's core: a SampleSink between a source and the aggregator
// that keeps everything /metrics and the JSON API serve: raw counters (last
// good values, never a bogus zero), burst histograms, per-second and
// per-tick views, and the sampler's own health.
//
// Per-tick work (sample(), onTick) goes through handles resolved when a
// device or epoch appears, so it allocates nothing; scrapes allocate freely.

import { Aggregator, type AggregationListener, type BurstEvent, type EpochEvent, type SecondEvent, type TickEvent } from '../aggregation/aggregator.js';
import type { Logger } from '../log.js';
import { CollectedMetric, type Labels } from './metrics/collected.js';
import { FixedHistogram, type HistogramHandle } from './metrics/histogram.js';
import { Exposition } from './metrics/registry.js';
import { statMetric } from './metric-names.js';
import { RecentBursts, type BurstRecord } from './recent-bursts.js';
import type { DeviceInfo, Sample, SampleSink, TickStats } from '../sampling/sample.js';
import { SeriesStore, type SeriesRing } from './series.js';
import { u64ToNumber } from '../sampling/u64.js';
import { resolutionNote, type UpdatePeriod } from '../aggregation/update-period.js';

/** Buckets sized for ENA reality, and for a budget of ~200 series per device. */
export const BURST_DURATION_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300];
export const BURST_SIZE_BUCKETS = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];
export const SECOND_INCREASE_BUCKETS = [0, 10, 100, 1e3, 1e4, 1e5, 1e6];
export const IOCTL_BUCKETS = [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1];
export const LATENESS_BUCKETS = [1e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.05, 0.1];

/** How far back ethtool_peak_rate_per_second looks. */
export const PEAK_WINDOW_S = 60;

const ALLOWANCE_HELP: Record<string, string> = {
  bw_in_allowance_exceeded: 'Packets queued or dropped because inbound aggregate bandwidth exceeded the instance maximum',
  bw_out_allowance_exceeded: 'Packets queued or dropped because outbound aggregate bandwidth exceeded the instance maximum',
  pps_allowance_exceeded: 'Packets queued or dropped because bidirectional packets per second exceeded the instance maximum',
  conntrack_allowance_exceeded: 'Packets dropped because connection tracking exceeded the instance maximum and new connections could not be established',
  linklocal_allowance_exceeded: 'Packets dropped because traffic to link-local services (Amazon DNS, IMDS, Time Sync) exceeded the per-interface PPS maximum',
  conntrack_allowance_available: 'Tracked connections that can still be established before the instance reaches its Connections Tracked allowance',
};

/** Highest per-tick rate per unix second over the last PEAK_WINDOW_S seconds. */
class PeakTracker {
  private readonly seconds = new Float64Array(PEAK_WINDOW_S).fill(-1);
  private readonly maxima = new Float64Array(PEAK_WINDOW_S);

  record(timeMs: number, rate: number): void {
    const s = Math.floor(timeMs / 1000);
    const i = s % PEAK_WINDOW_S;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.maxima[i] = 0;
    }
    if (rate > this.maxima[i]!) this.maxima[i] = rate;
  }

  peak(nowMs: number): number {
    const now = Math.floor(nowMs / 1000);
    let max = 0;
    for (let i = 0; i < PEAK_WINDOW_S; i++) {
      const s = this.seconds[i]!;
      if (s > now - PEAK_WINDOW_S && s <= now && this.maxima[i]! > max) max = this.maxima[i]!;
    }
    return max;
  }
}

interface TrackEntry {
  readonly second: HistogramHandle;
  readonly duration: HistogramHandle;
  readonly size: HistogramHandle;
  readonly peak: PeakTracker;
  readonly series: SeriesRing;
  lastBurstEndMs: number;
}

interface DeviceEntry {
  info: DeviceInfo;
  /** The last sample succeeded. */
  ok: boolean;
  /** At least one sample succeeded since the device appeared. */
  everGood: boolean;
  lastError: string | null;
  readonly ioctl: HistogramHandle;
  readonly errors: Map<string, number>;
  readonly tracks: Map<string, TrackEntry>;
  /** Effective sampling interval (longer while backed off). */
  intervalMs: number;
  backoffEvents: number;
  /** Why the interval last changed, or null if it never did. */
  intervalReason: string | null;
}

/** How often a device refreshes its counters, for /api/devices, the page and watch (null: not known yet). */
export interface CounterUpdate {
  periodMs: number | null;
  observations: number;
  settled: boolean;
  /** Bursts are reported at this resolution (0: the sampling interval). */
  resolutionMs: number;
  samplingMs: number | null;
  /** The sentence to show a user when the device is slower than its sampling, else null. */
  note: string | null;
}

function counterUpdate(device: string, p: UpdatePeriod | undefined): CounterUpdate {
  const num = (x: number | undefined): number | null => (x === undefined || x !== x ? null : x);
  const resolutionMs = p?.resolutionMs ?? 0;
  return { periodMs: num(p?.periodMs), observations: p?.observations ?? 0, settled: p?.settled ?? false, resolutionMs, samplingMs: num(p?.samplingMs), note: resolutionNote(device, { resolutionMs }) };
}

export interface ExporterOptions {
  readonly intervalMs: number;
  readonly burstGapMs: number;
  readonly trackedStat: (stat: string) => boolean;
  /** Which raw stats get ethtool_<stat>(_total) series. */
  readonly exportStat: (stat: string) => boolean;
  readonly compatShowmax: boolean;
  readonly log: Logger;
  readonly version: string;
  readonly defaultMetrics?: boolean;
  /** Cumulative counters of a native sampler, read at scrape time. */
  readonly sourceCounters?: () => { ticks: number; missedTicks: number; overruns: number };
  readonly now?: () => number;
}

export class Exporter implements SampleSink, AggregationListener {
  readonly aggregator: Aggregator;
  readonly exposition: Exposition;
  readonly bursts = new RecentBursts(1000);
  readonly series: SeriesStore;
  private readonly opts: ExporterOptions;
  private readonly now: () => number;
  private readonly devices = new Map<string, DeviceEntry>();
  private ticks = 0;
  private missedTicks = 0;

  private readonly durationHist = new FixedHistogram('ethtool_burst_duration_seconds', 'Duration of finished bursts of a tracked stat: from the sample before the first increase to the last increasing sample', ['device', 'stat'], BURST_DURATION_BUCKETS);
  private readonly sizeHist = new FixedHistogram('ethtool_burst_size', 'Packets counted in each finished burst of a tracked stat (sum of its per-tick increases)', ['device', 'stat'], BURST_SIZE_BUCKETS);
  private readonly secondHist = new FixedHistogram('ethtool_second_increase', 'Increase of a tracked stat in each unix second, zeros included: count minus the le="0" bucket is seconds with drops', ['device', 'stat'], SECOND_INCREASE_BUCKETS);
  private readonly ioctlHist = new FixedHistogram('ethburst_ioctl_duration_seconds', 'Duration of each ETHTOOL_GSTATS ioctl (taken under rtnl_lock; an ENA admin-queue command)', ['device'], IOCTL_BUCKETS);
  private readonly latenessHist = new FixedHistogram('ethburst_sampler_tick_lateness_seconds', 'How late each sampler tick started after its deadline', [], LATENESS_BUCKETS);
  private readonly lateness: HistogramHandle;

  /** Raw stat families, registered as stats appear; values come from the per-scrape snapshot. */
  private readonly rawFamilies = new Map<string, CollectedMetric>();
  private snapshot = new Map<string, { labels: Labels; value: number }[]>();

  constructor(opts: ExporterOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.aggregator = new Aggregator({ burstGapMs: opts.burstGapMs, trackedStat: opts.trackedStat });
    this.aggregator.addListener(this);
    this.series = new SeriesStore(Math.min(60_000, Math.ceil(600_000 / opts.intervalMs) + 10));
    this.exposition = new Exposition({ defaultMetrics: opts.defaultMetrics ?? true });
    this.lateness = this.latenessHist.child();
    this.registerFixedMetrics();
  }

  // --- SampleSink ---------------------------------------------------------

  sample(s: Readonly<Sample>): void {
    const d = this.devices.get(s.device) ?? this.implicitDevice(s);
    if (s.error !== null) {
      d.ok = false;
      d.lastError = s.error;
      d.errors.set(s.error, (d.errors.get(s.error) ?? 0) + 1);
    } else {
      d.ok = true;
      d.everGood = true;
      d.lastError = null;
    }
    if (s.ioctlNs === s.ioctlNs) d.ioctl.observe(s.ioctlNs / 1e9);
    this.aggregator.sample(s);
  }

  deviceAdded(info: DeviceInfo, timeMs: number): void {
    this.devices.set(info.name, this.newEntry(info));
    this.aggregator.deviceAdded(info, timeMs);
  }

  deviceRemoved(device: string, timeMs: number): void {
    this.aggregator.deviceRemoved(device, timeMs);
    if (!this.devices.delete(device)) return;
    for (const h of [this.durationHist, this.sizeHist, this.secondHist, this.ioctlHist]) h.removeWhere('device', device);
    this.series.removeDevice(device);
  }

  deviceInterval(device: string, intervalMs: number, reason: string): void {
    const d = this.devices.get(device);
    if (!d) return;
    d.intervalMs = intervalMs;
    d.intervalReason = reason;
    if (reason !== 'recovered') d.backoffEvents++;
  }

  tick(t: Readonly<TickStats>): void {
    this.ticks++;
    this.missedTicks += t.missed;
    this.lateness.observe(t.latenessNs / 1e9);
  }

  /** Shutdown or end of input: finishes open bursts (they are logged and counted). */
  finish(): void {
    this.aggregator.finish(this.now());
  }

  // --- AggregationListener ------------------------------------------------

  onEpoch(e: Readonly<EpochEvent>): void {
    const d = this.devices.get(e.device);
    if (!d) return;
    for (const stat of e.trackedStats) this.track(d, e.device, stat);
  }

  onTick(e: Readonly<TickEvent>): void {
    const d = this.devices.get(e.device);
    if (!d) return;
    const t = d.tracks.get(e.stat) ?? this.track(d, e.device, e.stat);
    t.series.push(e.timeMs, e.increase);
    if (e.ratePerSecond > 0) t.peak.record(e.timeMs, e.ratePerSecond);
  }

  onSecond(e: Readonly<SecondEvent>): void {
    const d = this.devices.get(e.device);
    if (!d) return;
    (d.tracks.get(e.stat) ?? this.track(d, e.device, e.stat)).second.observe(e.increase);
  }

  onBurst(e: Readonly<BurstEvent>): void {
    const rec = this.bursts.add(e);
    const d = this.devices.get(e.device);
    if (d) {
      const t = d.tracks.get(e.stat) ?? this.track(d, e.device, e.stat);
      t.duration.observe(e.durationMs / 1000);
      t.size.observe(e.increase);
      t.lastBurstEndMs = e.endMs;
    }
    this.logBurst(rec);
  }

  // --- Readers --------------------------------------------------------------

  /** Ready once every known device has had a good sample. */
  readiness(): { ready: boolean; reason: string } {
    if (this.devices.size === 0) return { ready: false, reason: 'no device is being sampled yet' };
    const waiting = [...this.devices.values()].filter((d) => !d.everGood).map((d) => d.info.name);
    if (waiting.length > 0) return { ready: false, reason: `waiting for a first good sample from ${waiting.join(', ')}` };
    return { ready: true, reason: 'ok' };
  }

  deviceStates(): {
    name: string;
    driver: string;
    up: boolean;
    lastError: string | null;
    intervalMs: number;
    backoff: string | null;
    backoffEvents: number;
    counterUpdate: CounterUpdate;
    info: DeviceInfo;
  }[] {
    return [...this.devices.values()].map((d) => ({
      name: d.info.name,
      driver: d.info.driver,
      up: d.ok,
      lastError: d.lastError,
      intervalMs: d.intervalMs,
      // Backed off while slower than configured; the last reason says why.
      backoff: d.intervalMs > this.opts.intervalMs ? d.intervalReason : null,
      backoffEvents: d.backoffEvents,
      counterUpdate: counterUpdate(d.info.name, this.aggregator.updatePeriod(d.info.name)),
      info: d.info,
    }));
  }

  /** Bursts in progress, in the /api/bursts shape plus `open: true`. */
  openBursts(f: { device?: string | undefined; stat?: string | undefined } = {}): (BurstRecord & { open: true })[] {
    const out: (BurstRecord & { open: true })[] = [];
    for (const [device, d] of this.devices) {
      if (f.device !== undefined && f.device !== device) continue;
      for (const stat of d.tracks.keys()) {
        if (f.stat !== undefined && f.stat !== stat) continue;
        const b = this.aggregator.openBurst(device, stat);
        if (!b) continue;
        out.push({ device, stat, start_ms: b.startMs, end_ms: b.endMs, duration_ms: b.endMs - b.startMs, increase: b.increase, peak_rate_per_second: b.peakRatePerSecond, open: true });
      }
    }
    return out.sort((a, b) => a.start_ms - b.start_ms);
  }

  /** Builds the raw-counter snapshot every raw family reads from; call once before rendering. */
  prepareScrape(): void {
    const snap = new Map<string, { labels: Labels; value: number }[]>();
    const showmax: { labels: Labels; value: number }[] = [];
    const seen = new Set<string>();
    for (const device of this.devices.keys()) {
      const raw = this.aggregator.rawCounters(device);
      if (!raw) continue;
      for (let i = 0; i < raw.names.length; i++) {
        const stat = raw.names[i]!;
        if (!this.opts.exportStat(stat)) continue;
        const m = statMetric(stat);
        const labels: Labels = m.queue === null ? { device } : { device, queue: m.queue };
        // Two spellings of one stat on one device would be one series twice.
        const key = `${m.metric}\u0000${device}\u0000${m.queue ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const value = u64ToNumber(raw.values[2 * i]!, raw.values[2 * i + 1]!);
        let list = snap.get(m.metric);
        if (!list) {
          list = [];
          snap.set(m.metric, list);
          this.ensureRawFamily(m.metric, m.type, stat, m.queue !== null);
        }
        list.push({ labels, value });
        if (this.opts.compatShowmax) showmax.push({ labels: { device, type: stat }, value });
      }
    }
    if (this.opts.compatShowmax) snap.set('node_net_ethtool', showmax);
    this.snapshot = snap;
  }

  async render(accept: string | undefined): Promise<[string, string]> {
    this.prepareScrape();
    return this.exposition.render(accept);
  }

  // --- Internals -------------------------------------------------------------

  private newEntry(info: DeviceInfo): DeviceEntry {
    return {
      info,
      ok: false,
      everGood: false,
      lastError: null,
      ioctl: this.ioctlHist.child(info.name),
      errors: new Map(),
      tracks: new Map(),
      intervalMs: this.opts.intervalMs,
      backoffEvents: 0,
      intervalReason: null,
    };
  }

  private implicitDevice(s: Readonly<Sample>): DeviceEntry {
    // Replayed traces announce a device by its first line.
    const info: DeviceInfo = { name: s.device, driver: s.driver, driverVersion: '', firmwareVersion: '', busInfo: '' };
    const d = this.newEntry(info);
    this.devices.set(s.device, d);
    return d;
  }

  private track(d: DeviceEntry, device: string, stat: string): TrackEntry {
    let t = d.tracks.get(stat);
    if (!t) {
      t = {
        second: this.secondHist.child(device, stat),
        duration: this.durationHist.child(device, stat),
        size: this.sizeHist.child(device, stat),
        peak: new PeakTracker(),
        series: this.series.ring(device, stat),
        lastBurstEndMs: Number.NaN,
      };
      d.tracks.set(stat, t);
    }
    return t;
  }

  private ensureRawFamily(metric: string, type: 'counter' | 'gauge', stat: string, perQueue: boolean): void {
    if (this.rawFamilies.has(metric)) return;
    const base = ALLOWANCE_HELP[stat] ?? `ethtool statistic ${perQueue ? `${stat.replace(/\d+/, 'N')} (per queue)` : stat}`;
    const help = `${base}. Raw ${type} from ETHTOOL_GSTATS; last good sample.`;
    const family = new CollectedMetric(metric, help, type, (emit) => {
      for (const { labels, value } of this.snapshot.get(metric) ?? []) emit(labels, value);
    });
    this.rawFamilies.set(metric, family);
    this.exposition.register(family);
  }

  private registerFixedMetrics(): void {
    const x = this.exposition;
    const each = (fn: (d: DeviceEntry, name: string) => void) => () => {
      for (const [name, d] of this.devices) fn(d, name);
    };
    const live = (device: string) => this.devices.has(device);
    x.register(
      new CollectedMetric('ethtool_info', 'Driver facts from ETHTOOL_GDRVINFO, value 1', 'gauge', (emit) =>
        each((d, device) => emit({ device, driver: d.info.driver, driver_version: d.info.driverVersion, firmware_version: d.info.firmwareVersion, bus_info: d.info.busInfo }, 1))(),
      ),
    );
    x.register(new CollectedMetric('ethtool_up', '1 when the last read of the device succeeded, else 0', 'gauge', (emit) => each((d, device) => emit({ device }, d.ok ? 1 : 0))()));
    x.register(this.durationHist);
    x.register(this.sizeHist);
    x.register(this.secondHist);
    x.register(
      new CollectedMetric('ethtool_peak_rate_per_second', `Highest per-tick rate (increase per second between consecutive samples) of a tracked stat over the last ${PEAK_WINDOW_S} s`, 'gauge', (emit) => {
        const now = this.now();
        for (const [device, d] of this.devices) for (const [stat, t] of d.tracks) emit({ device, stat }, t.peak.peak(now));
      }),
    );
    x.register(
      new CollectedMetric('ethtool_last_burst_end_timestamp_seconds', 'Unix time the last finished burst of a tracked stat ended (absent until one has)', 'gauge', (emit) => {
        for (const [device, d] of this.devices) for (const [stat, t] of d.tracks) if (t.lastBurstEndMs === t.lastBurstEndMs) emit({ device, stat }, t.lastBurstEndMs / 1000);
      }),
    );
    x.register(
      new CollectedMetric('ethtool_resets_total', 'Times a tracked stat went backwards (driver or device reset); the increase is then taken from zero', 'counter', (emit) => {
        for (const t of this.aggregator.totals()) if (live(t.device)) emit({ device: t.device, stat: t.stat }, t.resets);
      }),
    );
    x.register(
      new CollectedMetric('ethtool_failed_reads_total', 'Reads that yielded no data: ioctl errors, all-zero customer metrics (a failed ENA admin command), and all-zero allowance counters the next good sample proved bogus', 'counter', (emit) =>
        each((_d, device) => emit({ device }, this.aggregator.failedReads(device)))(),
      ),
    );
    x.register(new CollectedMetric('ethburst_sampler_interval_seconds', 'Configured sampling interval', 'gauge', (emit) => emit({}, this.opts.intervalMs / 1000)));
    x.register(
      new CollectedMetric('ethburst_device_interval_seconds', 'Effective sampling interval of a device (longer than the configured one while backing off)', 'gauge', (emit) =>
        each((d, device) => emit({ device }, d.intervalMs / 1000))(),
      ),
    );
    x.register(
      new CollectedMetric('ethburst_backoff_events_total', 'Times sampling of a device was slowed down because its ioctl was slow, timing out, or its ENA admin queue reported errors', 'counter', (emit) =>
        each((d, device) => emit({ device }, d.backoffEvents))(),
      ),
    );
    x.register(new CollectedMetric('ethburst_sampler_ticks_total', 'Sampler ticks run', 'counter', (emit) => emit({}, this.opts.sourceCounters?.().ticks ?? this.ticks)));
    x.register(
      new CollectedMetric('ethburst_sampler_missed_ticks_total', 'Sampler deadlines skipped because the previous tick overran (never queued)', 'counter', (emit) =>
        emit({}, this.opts.sourceCounters?.().missedTicks ?? this.missedTicks),
      ),
    );
    x.register(this.latenessHist);
    x.register(this.ioctlHist);
    x.register(
      new CollectedMetric('ethburst_sample_errors_total', 'Failed reads by device and error code (ENODEV, ETIMEDOUT, …)', 'counter', (emit) => {
        for (const [device, d] of this.devices) for (const [code, n] of d.errors) emit({ device, code }, n);
      }),
    );
    x.register(
      new CollectedMetric('ethburst_ring_overruns_total', 'Samples dropped because JavaScript did not drain the sample ring in time', 'counter', (emit) =>
        emit({}, this.opts.sourceCounters?.().overruns ?? 0),
      ),
    );
    x.register(
      new CollectedMetric(
        'ethburst_device_refresh_interval_seconds',
        'How often the device refreshes the counters it reports, estimated from the intervals between their changes (absent until they changed twice); bursts are reported at this resolution when it is clearly longer than the sampling interval',
        'gauge',
        (emit) => {
          for (const device of this.devices.keys()) {
            const p = this.aggregator.updatePeriod(device);
            if (p && p.periodMs === p.periodMs) emit({ device }, p.periodMs / 1000);
          }
        },
      ),
    );
    x.register(
      new CollectedMetric('ethburst_device_refresh_observations_total', 'Intervals between changes of the device’s own counters that the update-interval estimate rests on', 'counter', (emit) =>
        each((_d, device) => emit({ device }, this.aggregator.updatePeriod(device)?.observations ?? 0))(),
      ),
    );
    x.register(new CollectedMetric('ethburst_build_info', 'ethburst version, value 1', 'gauge', (emit) => emit({ version: this.opts.version, node_version: process.version }, 1)));
    if (this.opts.compatShowmax) {
      x.register(
        new CollectedMetric('node_net_ethtool', 'ethtool stats in the shape prometheus-ethtool-exporter (Showmax) wrote them, for rules written against it', 'gauge', (emit) => {
          for (const { labels, value } of this.snapshot.get('node_net_ethtool') ?? []) emit(labels, value);
        }),
      );
    }
  }

  private logBurst(r: BurstRecord): void {
    this.opts.log.log('info', 'burst', {
      device: r.device,
      stat: r.stat,
      start: new Date(r.start_ms).toISOString(),
      end: new Date(r.end_ms).toISOString(),
      duration_s: +(r.duration_ms / 1000).toFixed(3),
      increase: r.increase,
      peak_rate_per_second: +r.peak_rate_per_second.toFixed(1),
      // Only for a device slower than its sampling: the resolution the numbers above have.
      ...resolutionField(this.aggregator.updatePeriod(r.device)),
    });
  }
}

function resolutionField(p: UpdatePeriod | undefined): { resolution_s?: number } {
  return p && p.resolutionMs > 0 ? { resolution_s: p.resolutionMs / 1000 } : {};
}
