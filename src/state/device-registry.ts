// The one registry of devices: what ethburst knows about every device it
// samples, fed by the one aggregation path. A source delivers samples here;
// the aggregator turns them into increases, bursts and windows; this keeps
// the rest per device — health, sampling interval, error counts, per-tick
// series, recent bursts — and `serve`'s metrics and JSON API, the live page
// and `watch` all read it. Nothing here knows about Prometheus.
//
// Per-tick work goes through records created when a device or stat first
// appears, so the sampling path allocates nothing.

import { Aggregator, type AggregationListener, type BurstEvent, type EpochEvent, type LearnedOnset, type OpenBurst, type RawCounters, type TickEvent } from '../aggregation/aggregator.js';
import { trackedStatMatcher } from '../aggregation/stat-policy.js';
import { resolutionNote, type UpdatePeriod } from '../aggregation/update-period.js';
import { DEFAULT_WINDOWS_MS } from '../aggregation/windows.js';
import type { DeviceInfo, Sample, SampleSink, TickStats } from '../sampling/sample.js';
import type { LinkSnapshot } from '../talkers/top-talkers.js';
import type { NodeContext } from '../sampling/context.js';
import { CaptureStore, DEFAULT_CAPTURE_MEMORY_BYTES } from './captures.js';
import { FlightRecorder, type Capture } from './flight-recorder.js';
import { RecentBursts } from './recent-bursts.js';
import type { BurstBasics, BurstRecord } from '../aggregation/burst-record.js';
import { SeriesRing } from './series.js';

/** Per-tick series cover this much time at the configured interval (what /api/series may ask for). */
export const SERIES_SPAN_MS = 600_000;

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

/** A device as /api/devices, the page and watch show it. */
export interface DeviceView {
  name: string;
  driver: string;
  up: boolean;
  lastError: string | null;
  intervalMs: number;
  /** Why sampling is slower than configured, or null when it is not. */
  backoff: string | null;
  backoffEvents: number;
  counterUpdate: CounterUpdate;
  /** Where drops of each stat began, learned from its bursts (stats with fewer than 3 bursts: none). */
  learnedOnsets: Omit<LearnedOnset, 'device'>[];
  info: DeviceInfo;
}

/** One tracked stat of one device. */
export class StatRecord {
  lastBurstEndMs = Number.NaN;
  constructor(
    readonly stat: string,
    readonly series: SeriesRing,
  ) {}
}

/** One device: its health and sampling as the source reports them, and its tracked stats. */
export class DeviceRecord {
  /** The last sample succeeded. */
  ok = false;
  /** At least one sample succeeded since the device appeared. */
  everGood = false;
  lastError: string | null = null;
  /** Failed reads by error code (ENODEV, ETIMEDOUT, ...). */
  readonly errors = new Map<string, number>();
  /** Effective sampling interval (longer while backed off). */
  intervalMs: number;
  backoffEvents = 0;
  /** Why the interval last changed, or null if it never did. */
  intervalReason: string | null = null;
  readonly stats = new Map<string, StatRecord>();

  constructor(
    public info: DeviceInfo,
    intervalMs: number,
  ) {
    this.intervalMs = intervalMs;
  }
}

/**
 * What else may follow the registry: the aggregation's events (same reused
 * views, same rules: copy what you keep, allocate nothing per tick) plus the
 * source's own.
 */
export interface RegistryListener extends AggregationListener {
  /** Every sample, before it is aggregated. */
  onSample?(s: Readonly<Sample>, device: DeviceRecord): void;
  onTickStats?(t: Readonly<TickStats>): void;
  /** The device is gone; drop what is kept for it. */
  onDeviceRemoved?(device: string): void;
  /** The node's counters for a tick (a reused view). */
  onContext?(c: Readonly<NodeContext>): void;
  /** A finished burst's capture is complete. */
  onCapture?(c: Capture): void;
  /** A finished burst as /api/bursts serves it, id included (called before the other listeners' onBurst; the record is kept: do not change it). */
  onBurstRecord?(r: Readonly<BurstRecord>): void;
}

/** The flight recorder's settings (src/state/flight-recorder.ts). */
export interface RecorderOptions {
  readonly spanMs?: number;
  readonly preMs?: number;
  readonly postMs?: number;
  /** Byte budget of the captures kept in memory. */
  readonly captureMemoryBytes?: number;
}

export interface RegistryOptions {
  /** Configured sampling interval, ms. */
  readonly intervalMs: number;
  readonly burstGapMs: number;
  readonly trackedStat?: (stat: string) => boolean;
  /** Sliding window lengths (default 1 min, 10 min, 1 h). */
  readonly windowsMs?: readonly number[];
  /** Cumulative counters of a native sampler, which outrank the ticks counted here. */
  readonly sourceCounters?: () => { ticks: number; missedTicks: number; overruns: number };
  /** The flight recorder and its captures (on by default; null turns it off). */
  readonly recorder?: RecorderOptions | null;
}

export class DeviceRegistry implements SampleSink, AggregationListener {
  readonly aggregator: Aggregator;
  readonly bursts = new RecentBursts(1000);
  readonly intervalMs: number;
  /** The last minutes of every device and the node, and the captures cut from them; null when off. */
  readonly recorder: FlightRecorder | null;
  readonly captures: CaptureStore;
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly seriesCapacity: number;
  private readonly sourceCounters: RegistryOptions['sourceCounters'];
  private listeners: RegistryListener[] = [];
  private ticks = 0;
  private missedTicks = 0;

  constructor(opts: RegistryOptions) {
    this.intervalMs = opts.intervalMs;
    this.sourceCounters = opts.sourceCounters;
    this.seriesCapacity = Math.min(60_000, Math.ceil(SERIES_SPAN_MS / opts.intervalMs) + 10);
    this.aggregator = new Aggregator({ burstGapMs: opts.burstGapMs, trackedStat: opts.trackedStat ?? trackedStatMatcher(), windowsMs: opts.windowsMs ?? DEFAULT_WINDOWS_MS });
    this.aggregator.addListener(this);
    const rec = opts.recorder === undefined ? {} : opts.recorder;
    this.captures = new CaptureStore(rec?.captureMemoryBytes ?? DEFAULT_CAPTURE_MEMORY_BYTES);
    this.recorder =
      rec === null
        ? null
        : new FlightRecorder({
            intervalMs: opts.intervalMs,
            spanMs: rec.spanMs,
            preMs: rec.preMs,
            postMs: rec.postMs,
            isTracked: opts.trackedStat ?? trackedStatMatcher(),
            onCapture: (c) => {
              this.captures.add(c);
              for (const l of this.listeners) l.onCapture?.(c);
            },
            onKept: (c) => this.captures.copied(c),
          });
  }

  /** Follow the registry: aggregation events go to the aggregator, source events stay here. */
  addListener(l: RegistryListener): void {
    this.listeners = [...this.listeners, l];
    this.aggregator.addListener(l);
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
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!.onSample?.(s, d);
    // Recorded before it is aggregated: a burst this sample finishes finds it on the tape.
    this.recorder?.sample(s);
    this.aggregator.sample(s);
  }

  links(l: Readonly<LinkSnapshot>): void {
    this.aggregator.links(l);
  }

  context(c: Readonly<NodeContext>): void {
    this.recorder?.context(c);
    this.aggregator.context(c);
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!.onContext?.(c);
  }

  deviceAdded(info: DeviceInfo, timeMs: number): void {
    this.devices.set(info.name, new DeviceRecord(info, this.intervalMs));
    this.aggregator.deviceAdded(info, timeMs);
  }

  deviceRemoved(device: string, timeMs: number): void {
    this.aggregator.deviceRemoved(device, timeMs);
    this.recorder?.deviceRemoved(device);
    if (!this.devices.delete(device)) return;
    for (const l of this.listeners) l.onDeviceRemoved?.(device);
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
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!.onTickStats?.(t);
  }

  /** Shutdown or end of input: finishes open bursts (they are logged and counted). */
  finish(timeMs?: number): void {
    this.aggregator.finish(timeMs);
    this.recorder?.finish();
  }

  // --- AggregationListener (the registry's own records) ---------------------

  onEpoch(e: Readonly<EpochEvent>): void {
    const d = this.devices.get(e.device);
    if (!d) return;
    for (const stat of e.trackedStats) this.stat(d, stat);
  }

  onTick(e: Readonly<TickEvent>): void {
    const d = this.devices.get(e.device);
    if (!d) return;
    (d.stats.get(e.stat) ?? this.stat(d, e.stat)).series.push(e.timeMs, e.increase);
  }

  onBurst(e: Readonly<BurstEvent>): void {
    const r = this.bursts.add(e);
    for (const l of this.listeners) l.onBurstRecord?.(r);
    this.recorder?.burstFinished({ id: r.id!, device: e.device, stat: e.stat, startMs: e.startMs, endMs: e.endMs, links: e.topPodMoments });
    const d = this.devices.get(e.device);
    if (d) (d.stats.get(e.stat) ?? this.stat(d, e.stat)).lastBurstEndMs = e.endMs;
  }

  // --- Readers (allocate; for scrapes and the API, not ticks) ---------------

  /** The devices sampled now, in the order they appeared. */
  list(): IterableIterator<DeviceRecord> {
    return this.devices.values();
  }

  get(device: string): DeviceRecord | undefined {
    return this.devices.get(device);
  }

  get size(): number {
    return this.devices.size;
  }

  /** Whether there are devices and each has had a good sample (readiness without the words). */
  allSampled(): boolean {
    if (this.devices.size === 0) return false;
    for (const d of this.devices.values()) if (!d.everGood) return false;
    return true;
  }

  /** Ready once every known device has had a good sample. */
  readiness(): { ready: boolean; reason: string } {
    if (this.devices.size === 0) return { ready: false, reason: 'no device is being sampled yet' };
    const waiting = [...this.devices.values()].filter((d) => !d.everGood).map((d) => d.info.name);
    if (waiting.length > 0) return { ready: false, reason: `waiting for a first good sample from ${waiting.join(', ')}` };
    return { ready: true, reason: 'ok' };
  }

  views(): DeviceView[] {
    const learned = this.aggregator.learnedOnsets();
    return [...this.devices.values()].map((d) => ({
      name: d.info.name,
      driver: d.info.driver,
      up: d.ok,
      lastError: d.lastError,
      intervalMs: d.intervalMs,
      // Backed off while slower than configured; the last reason says why.
      backoff: d.intervalMs > this.intervalMs ? d.intervalReason : null,
      backoffEvents: d.backoffEvents,
      counterUpdate: counterUpdate(d.info.name, this.aggregator.updatePeriod(d.info.name)),
      learnedOnsets: learned.filter((o) => o.device === d.info.name).map(({ stat, measure, value, bursts }) => ({ stat, measure, value, bursts })),
      info: d.info,
    }));
  }

  /** Bursts in progress, in the /api/bursts shape plus `open: true`. */
  openBursts(f: { device?: string | undefined; stat?: string | undefined } = {}): (BurstBasics & { open: true })[] {
    const out: (BurstBasics & { open: true })[] = [];
    for (const [device, d] of this.devices) {
      if (f.device !== undefined && f.device !== device) continue;
      for (const stat of d.stats.keys()) {
        if (f.stat !== undefined && f.stat !== stat) continue;
        const b = this.aggregator.openBurst(device, stat);
        if (b) out.push({ ...burstRecord(device, stat, b), open: true });
      }
    }
    return out.sort((a, b) => a.start_ms - b.start_ms);
  }

  /** Every (device, tracked stat) that has a per-tick series. */
  seriesKeys(): { device: string; stat: string }[] {
    const out: { device: string; stat: string }[] = [];
    for (const [device, d] of this.devices) for (const stat of d.stats.keys()) out.push({ device, stat });
    return out;
  }

  series(device: string, stat: string): SeriesRing | undefined {
    return this.devices.get(device)?.stats.get(stat)?.series;
  }

  /** Last good raw counters of a device (never a bogus or held zero), or undefined before one. */
  rawCounters(device: string): RawCounters | undefined {
    return this.aggregator.rawCounters(device);
  }

  /** Ticks run, deadlines missed, samples lost to a full ring: the native sampler's own totals when there is one. */
  samplerCounters(): { ticks: number; missedTicks: number; overruns: number } {
    return this.sourceCounters?.() ?? { ticks: this.ticks, missedTicks: this.missedTicks, overruns: 0 };
  }

  // --- Internals -------------------------------------------------------------

  private implicitDevice(s: Readonly<Sample>): DeviceRecord {
    // Replayed traces announce a device by its first line.
    const d = new DeviceRecord({ name: s.device, driver: s.driver, driverVersion: '', firmwareVersion: '', busInfo: '' }, this.intervalMs);
    this.devices.set(s.device, d);
    return d;
  }

  private stat(d: DeviceRecord, stat: string): StatRecord {
    let r = d.stats.get(stat);
    if (!r) {
      r = new StatRecord(stat, new SeriesRing(this.seriesCapacity));
      d.stats.set(stat, r);
    }
    return r;
  }
}

export function burstRecord(device: string, stat: string, b: OpenBurst): BurstBasics {
  return { device, stat, start_ms: b.startMs, end_ms: b.endMs, duration_ms: b.endMs - b.startMs, increase: b.increase, peak_rate_per_second: b.peakRatePerSecond };
}

function counterUpdate(device: string, p: UpdatePeriod | undefined): CounterUpdate {
  const num = (x: number | undefined): number | null => (x === undefined || x !== x ? null : x);
  const resolutionMs = p?.resolutionMs ?? 0;
  return { periodMs: num(p?.periodMs), observations: p?.observations ?? 0, settled: p?.settled ?? false, resolutionMs, samplingMs: num(p?.samplingMs), note: resolutionNote(device, { resolutionMs }) };
}
