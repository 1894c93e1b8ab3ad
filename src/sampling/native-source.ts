// The native StatsSource: owns the sample ring, the native sampler thread,
// device discovery and re-scans, and turns ring records into Sample views.
// The native thread owns the cadence; this side only drains in batches, so
// a busy or blocked event loop delays delivery, never sampling.

import { discover, sysfsHost, type Candidate, type DeviceSelection, type DiscoveryHost, type DiscoveryResult } from './discovery.js';
import { EthtoolError, errnoCode } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { lagHost, type LagHost } from '../lag-hosts.js';
import { loadNative, type NativeAddon, type NativeBackoffOptions, type NativeSampler } from './native.js';
import { NODE_COUNTER_NAMES, NODE_COUNTERS, TRAFFIC_NAMES, type NodeContext } from './context.js';
import { RingReader, counterAt, createRing, type RingCounters, type RingHandler, type RingLayout } from './ring.js';
import { makeLayout, unknownTraffic, type DeviceInfo, type DeviceLayout, type Sample, type SampleSink, type StatsSource, type TickStats } from './sample.js';

const ENODEV = 19;

/**
 * Ring capacity in u64 words: 10 s of every found device's full samples
 * (and of the tick and node records between them), so
 * an event loop stalled that long loses nothing; at least 2 MiB (room for
 * devices hot-plugged later), at most 16 MiB. Pages are touched up front,
 * so this is resident memory.
 */
export function ringWordsFor(layout: RingLayout, devices: readonly Candidate[], intervalMs: number): number {
  const perTick = devices.reduce((n, c) => n + layout.sampleHeaderWords + c.nStats, layout.tickWords + layout.contextHeaderWords + NODE_COUNTERS.length);
  return Math.min(1 << 21, Math.max(1 << 18, Math.ceil(perTick * (10_000 / intervalMs))));
}
const EMPTY_LAYOUT: DeviceLayout = makeLayout(0, []);

export interface NativeSourceOptions {
  /** Tick interval, ms (10 ms to 60 s). */
  readonly intervalMs: number;
  readonly selection: DeviceSelection;
  /** How often to look for added and removed interfaces, ms; 0 disables. */
  readonly rescanMs: number;
  /** How often JavaScript drains the ring, ms (200). */
  readonly drainMs?: number;
  /**
   * How often while `busy()` says false (default: drainMs). Each drain wakes
   * the event loop, and a wake-up costs 0.1-0.5 ms of CPU on a small VM:
   * serve drains every second while nothing needs the samples sooner, and
   * catches up (catchUp()) before it answers a request.
   */
  readonly idleDrainMs?: number;
  /** Whether something needs samples within drainMs now (an open burst). */
  readonly busy?: () => boolean;
  /** Ring capacity in u64 words; by default ringWordsFor() the devices found at start. */
  readonly ringWords?: number;
  /** Names probed even when sysfs does not list them (a fake-device shim). */
  readonly extraDevices?: readonly string[];
  readonly addon?: NativeAddon;
  readonly host?: DiscoveryHost;
  readonly log?: Logger;
  /** Adaptive back-off (on by default). */
  readonly backoff?: NativeBackoffOptions;
}

interface Tracked {
  readonly id: number;
  readonly info: DeviceInfo;
  /** 0 while unknown: sysfs may not have it yet right after the link appears. */
  ifindex: number;
  layout: DeviceLayout | null;
  /** Wall time of the last record delivered for it, ms. */
  lastTimeMs: number;
  samples: number;
}

/** A device this source samples now; its health lives in the device registry the samples go to. */
export interface SourceDevice {
  readonly info: DeviceInfo;
  /** Records delivered for it. */
  readonly samples: number;
}

export class NativeSource implements StatsSource, RingHandler {
  private readonly opts: NativeSourceOptions;
  /** The addon it samples with (the pod-veth poller dumps links through it too). */
  readonly addon: NativeAddon;
  private readonly host: DiscoveryHost;
  private readonly log: Logger;
  private readonly byId = new Map<number, Tracked>();
  private readonly byName = new Map<string, Tracked>();
  /** When each device was last dropped for ENODEV (Date.now()). */
  private readonly vanishedAt = new Map<string, number>();
  private nextId = 1;
  private native: NativeSampler | null = null;
  private reader: RingReader | null = null;
  private sink: SampleSink | null = null;
  private prepared: DiscoveryResult | null = null;
  private stopped = false;
  private drainPaused = false;
  private resolveRun: (() => void) | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private lag: LagHost | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  private rescanning: Promise<void> | null = null;
  /** Samples whose layout generation was never announced (a broken ring contract; 0 in practice). */
  droppedSamples = 0;

  // Reused for every record: the hot path allocates nothing.
  private readonly view: Sample = {
    device: '',
    driver: '',
    timeMs: 0,
    monoNs: 0,
    ioctlNs: 0,
    error: null,
    errno: 0,
    layout: EMPTY_LAYOUT,
    values: new Uint32Array(512),
    traffic: unknownTraffic(),
  };
  private readonly contextView: NodeContext = { timeMs: 0, names: NODE_COUNTER_NAMES, values: new Float64Array(NODE_COUNTER_NAMES.length) };
  private readonly tickView: TickStats = { deadlineNs: 0, latenessNs: 0, missed: 0, devices: 0 };

  constructor(opts: NativeSourceOptions) {
    this.opts = opts;
    this.addon = opts.addon ?? loadNative();
    this.host = opts.host ?? sysfsHost((name) => this.addon.probe(name));
    this.log = opts.log ?? silentLogger;
  }

  /**
   * Discovers devices without starting anything, so a command can refuse a
   * bad --device before it writes a byte. `run` uses this result.
   */
  async prepare(): Promise<DiscoveryResult> {
    this.prepared ??= await discover(this.opts.selection, this.host, this.opts.extraDevices);
    return this.prepared;
  }

  get counters(): Readonly<RingCounters> {
    return this.reader?.totals ?? { overruns: 0, ticks: 0, missedTicks: 0 };
  }

  devices(): SourceDevice[] {
    return [...this.byName.values()].map((t) => ({ info: t.info, samples: t.samples }));
  }

  async run(sink: SampleSink): Promise<void> {
    if (this.native) throw new Error('NativeSource.run called twice');
    const found = await this.prepare();
    if (this.stopped) return;
    this.sink = sink;
    const layout = this.addon.ringLayout;
    const ring = createRing(layout, this.opts.ringWords ?? ringWordsFor(layout, found.selected, this.opts.intervalMs));
    this.reader = new RingReader(ring, layout);
    this.native = new this.addon.Sampler(ring, Math.round(this.opts.intervalMs * 1e6), this.opts.backoff ?? {}, {
      node: NODE_COUNTERS.map(({ path, section, field }) => ({ path, section, field })),
      traffic: TRAFFIC_NAMES,
    });
    for (const c of found.selected) this.addDevice(c);
    const err = this.native.start();
    if (err !== 0) throw new EthtoolError(err, '*', 'socket');
    const done = new Promise<void>((resolve) => {
      this.resolveRun = resolve;
    });
    const drainMs = this.opts.drainMs ?? 200;
    const idleDrainMs = this.opts.idleDrainMs ?? drainMs;
    const busy = this.opts.busy ?? (() => true);
    // The drain wakes the loop anyway: it is what event-loop lag is measured on.
    this.lag = lagHost();
    let due = 0;
    const schedule = (): void => {
      const ms = busy() ? drainMs : idleDrainMs;
      due = performance.now() + ms;
      this.drainTimer = setTimeout(onTimer, ms);
    };
    const onTimer = (): void => {
      this.lag?.late(performance.now() - due);
      this.catchUp();
      if (!this.stopped) schedule();
    };
    schedule();
    if (this.opts.rescanMs > 0) {
      this.rescanTimer = setInterval(() => {
        this.rescanning ??= this.rescan().finally(() => {
          this.rescanning = null;
        });
      }, this.opts.rescanMs);
    }
    await done;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.lag?.close();
    this.lag = null;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    if (this.native) {
      this.native.stop();
      // Everything the thread published before it stopped is delivered.
      this.drain();
      const now = Date.now();
      for (const t of [...this.byId.values()]) this.removeDevice(t, now);
    }
    this.resolveRun?.();
  }

  /**
   * For a consumer that cannot take more (a stdout nobody reads): records
   * stay in the ring, which overruns and counts what it cannot hold, instead
   * of piling up in JavaScript. stop() still delivers what the ring holds.
   */
  pauseDrain(): void {
    this.drainPaused = true;
  }

  resumeDrain(): void {
    this.drainPaused = false;
  }

  /** Drains now unless draining is paused: before answering from the samples. */
  catchUp(): void {
    if (!this.drainPaused) this.drain();
  }

  /** Ring words the native thread has published that no drain has taken yet. */
  pendingWords(): number {
    return this.reader?.pending() ?? 0;
  }

  /** Delivers what the native thread has published since the last drain. */
  drain(): void {
    this.reader?.drain(this);
  }

  /** Looks for added, removed and re-created interfaces now. */
  async rescan(): Promise<void> {
    if (this.stopped || !this.native) return;
    const started = Date.now();
    const found = await discover(this.opts.selection, this.host, this.opts.extraDevices);
    if (this.stopped) return;
    const now = Date.now();
    const seen = new Set<string>();
    for (const c of found.selected) {
      seen.add(c.info.name);
      const t = this.byName.get(c.info.name);
      if (t && t.ifindex !== 0 && c.ifindex !== 0 && t.ifindex !== c.ifindex) {
        // Same name, new interface: its counters are not a continuation.
        this.vanish(t, now);
        this.addDevice(c);
      } else if (t) {
        if (t.ifindex === 0) t.ifindex = c.ifindex;
        this.native.revalidate(t.id);
      } else if ((this.vanishedAt.get(c.info.name) ?? -Infinity) < started) {
        // Not if it vanished while we were probing: that probe saw it alive.
        this.addDevice(c);
      }
    }
    for (const t of [...this.byName.values()]) if (!seen.has(t.info.name)) this.vanish(t, now);
    for (const [name, at] of this.vanishedAt) if (at < started) this.vanishedAt.delete(name);
  }

  private addDevice(c: Candidate): void {
    const t: Tracked = { id: this.nextId++, info: c.info, ifindex: c.ifindex, layout: null, lastTimeMs: Number.NEGATIVE_INFINITY, samples: 0 };
    this.byId.set(t.id, t);
    this.byName.set(c.info.name, t);
    this.native!.add(t.id, c.info.name);
    this.log.log('info', 'sampling device', { device: c.info.name, driver: c.info.driver, stats: c.nStats });
    this.sink?.deviceAdded?.(c.info, Date.now());
  }

  /**
   * A re-scan found the interface gone (or re-created) before the sampler
   * read ENODEV from it. Consumers get the same ENODEV record either way, so
   * a recording marks the end exactly where the live exporter saw it, and
   * every disappearance is one failed read, whoever noticed it first.
   */
  private vanish(t: Tracked, timeMs: number): void {
    if (this.sink) {
      const v = this.view;
      v.device = t.info.name;
      v.driver = t.info.driver;
      // After the device's last record, whatever the clocks' resolutions:
      // a trace's times must increase.
      v.timeMs = Math.max(timeMs, t.lastTimeMs + 0.001);
      v.monoNs = Number.NaN;
      v.ioctlNs = Number.NaN;
      v.error = errnoCode(ENODEV);
      v.errno = ENODEV;
      v.layout = t.layout ?? EMPTY_LAYOUT;
      v.traffic.fill(Number.NaN);
      this.sink.sample(v);
    }
    this.vanishedAt.set(t.info.name, timeMs);
    this.removeDevice(t, timeMs);
  }

  private removeDevice(t: Tracked, timeMs: number): void {
    if (!this.byId.delete(t.id)) return;
    this.byName.delete(t.info.name);
    this.native?.remove(t.id);
    this.log.log('info', 'stopped sampling device', { device: t.info.name });
    this.sink?.deviceRemoved?.(t.info.name, timeMs);
  }

  /** @internal RingHandler */
  sample(id: number, generation: number, monoNs: number, wallNs: number, ioctlNs: number, errno: number, n: number, ring: Uint32Array, valuesAt: number, trafficAt: number): void {
    const t = this.byId.get(id);
    if (!t || !this.sink) return;
    const v = this.view;
    v.device = t.info.name;
    v.driver = t.info.driver;
    v.timeMs = wallNs / 1e6;
    t.lastTimeMs = v.timeMs;
    v.monoNs = monoNs;
    v.ioctlNs = ioctlNs;
    t.samples++;
    if (errno !== 0) {
      v.error = errnoCode(errno);
      v.errno = errno;
      v.layout = t.layout ?? EMPTY_LAYOUT;
      v.traffic.fill(Number.NaN);
      this.sink.sample(v);
      // A vanished interface is dropped now; a re-scan brings it back as a
      // new device (and a new epoch) if it returns.
      if (errno === ENODEV) {
        this.vanishedAt.set(t.info.name, Date.now());
        this.removeDevice(t, v.timeMs);
      }
      return;
    }
    if (t.layout === null || t.layout.generation !== generation || n !== t.layout.names.length) {
      // The sampler writes a generation's names before its first sample, so
      // this means a broken ring contract: dropping beats misattributing.
      this.droppedSamples++;
      return;
    }
    if (v.values.length < 2 * n) v.values = new Uint32Array(4 * n);
    const values = v.values;
    for (let i = 0; i < 2 * n; i++) values[i] = ring[valuesAt + i]!;
    const traffic = v.traffic;
    for (let i = 0; i < traffic.length; i++) traffic[i] = counterAt(ring, trafficAt + 2 * i);
    v.error = null;
    v.errno = 0;
    v.layout = t.layout;
    this.sink.sample(v);
  }

  /** @internal RingHandler */
  context(_monoNs: number, wallNs: number, _readNs: number, n: number, ring: Uint32Array, valuesAt: number): void {
    if (!this.sink?.context) return;
    const c = this.contextView;
    c.timeMs = wallNs / 1e6;
    const values = c.values;
    for (let i = 0; i < values.length; i++) values[i] = i < n ? counterAt(ring, valuesAt + 2 * i) : Number.NaN;
    this.sink.context(c);
  }

  /** @internal RingHandler */
  layout(id: number, generation: number, names: string[]): void {
    const t = this.byId.get(id);
    if (t) t.layout = makeLayout(generation, names);
  }

  /** @internal RingHandler */
  interval(id: number, reason: number, _monoNs: number, intervalNs: number, evidenceNs: number): void {
    const t = this.byId.get(id);
    if (!t) return;
    const why = this.addon.ringLayout.intervalReasons[reason] ?? `reason ${reason}`;
    const intervalMs = intervalNs / 1e6;
    this.log.log(why === 'recovered' ? 'info' : 'warn', why === 'recovered' ? 'device recovering: sampling faster' : 'device unwell: sampling slower', {
      device: t.info.name,
      reason: why,
      interval_ms: intervalMs,
      evidence_ms: +(evidenceNs / 1e6).toFixed(3),
    });
    this.sink?.deviceInterval?.(t.info.name, intervalMs, why, Date.now());
  }

  /** @internal RingHandler */
  tick(_seq: number, deadlineNs: number, latenessNs: number, missed: number, devices: number): void {
    if (!this.sink?.tick) return;
    this.tickView.deadlineNs = deadlineNs;
    this.tickView.latenessNs = latenessNs;
    this.tickView.missed = missed;
    this.tickView.devices = devices;
    this.sink.tick(this.tickView);
  }
}
