// The local aggregation pipeline: a SampleSink that turns samples into
// increases (deltas.ts), bursts (bursts.ts), per-second values (seconds.ts)
// and sliding windows (windows.ts) per device and tracked stat, and tells
// listeners about each step. The exporter (prom-client histograms, the
// /api/series ring) and `ethburst analyze` are both listeners plus readers
// of the accessors below.
//
// Per tick nothing is allocated: state lives in objects created when a
// device or layout first appears, and listeners receive reused event views.

import { BurstDetector, DEFAULT_BURST_GAP_MS } from './bursts.js';
import { DeviceContext, NodeHistory, OnsetTrack, copyOnset, unknownOnset, type OnsetFields } from './burst-context.js';
import { diagnose, onsetMeasure, onsetValue, type Diagnosis, type OnsetMeasure } from './diagnosis.js';
import type { NodeContext } from '../sampling/context.js';
import { topTalkers, type LinkMoment, type LinkSnapshot, type TopPod } from '../talkers/top-talkers.js';
import { DeviceDeltas, type DeltaReceiver, type FailedReadKind } from './deltas.js';
import type { DeviceInfo, Sample, SampleSink } from '../sampling/sample.js';
import { compareCodeUnits } from '../order.js';
import { SecondCounter } from './seconds.js';
import { trackedStatMatcher } from './stat-policy.js';
import { UpdatePeriodEstimator, type UpdatePeriod } from './update-period.js';
import { DEFAULT_WINDOW_SLOTS, DEFAULT_WINDOWS_MS, StatWindows, type WindowSnapshot } from './windows.js';

export interface AggregatorOptions {
  /** Max time between consecutive increasing samples of one burst. Default 2000. */
  burstGapMs?: number;
  /** Which stats get increases, bursts and windows. Default: `*_allowance_exceeded`. */
  trackedStat?: (name: string) => boolean;
  /** Sliding window lengths; [] turns windows off; [WHOLE_RUN] keeps one that never expires (analyze). Default 1 min, 10 min, 1 h. */
  windowsMs?: readonly number[];
  /** Sub-windows per window. Default 6. */
  windowSlots?: number;
}

/** What a burst counted: its time span, its drops and their peak rate. */
export type CountedBurst = Pick<BurstEvent, 'device' | 'stat' | 'startMs' | 'endMs' | 'durationMs' | 'increase' | 'peakRatePerSecond' | 'ticks'>;

/** A copy of what a burst counted (the event is a reused view). */
export function countedBurst(e: Readonly<CountedBurst>): CountedBurst {
  return { device: e.device, stat: e.stat, startMs: e.startMs, endMs: e.endMs, durationMs: e.durationMs, increase: e.increase, peakRatePerSecond: e.peakRatePerSecond, ticks: e.ticks };
}

/** A finished burst. */
export interface BurstEvent {
  device: string;
  stat: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  increase: number;
  peakRatePerSecond: number;
  /** Increasing samples in the burst. */
  ticks: number;
  /** The interface's traffic when the drops began (burst-context.ts); NaN fields where not known. */
  onset: OnsetFields;
  /** The node's counters (names) and how much each rose during the burst (NaN: not known). */
  nodeNames: readonly string[];
  nodeIncrease: Float64Array;
  /** The onset learned from the earlier bursts of this (device, stat), in `learnedOnsetMeasure`; NaN before 3 of them. */
  learnedOnset: number;
  learnedOnsetMeasure: OnsetMeasure;
  learnedOnsetBursts: number;
  /** What it most likely was and what to change (diagnosis.ts). A new object per burst. */
  diagnosis: Diagnosis;
  /** The pods that moved the most packets over the burst (top-talkers.ts); null when the source has no pod veths. A new array per burst. */
  topPods: TopPod[] | null;
  /** The two pod-veth snapshots topPods compares (its capture carries them, so a replay ranks the same); null with topPods. */
  topPodMoments: readonly [LinkMoment, LinkMoment] | null;
}

/** A completed unix second of one (device, stat). */
export interface SecondEvent {
  device: string;
  stat: string;
  /** Unix time in seconds (the second [second, second + 1)). */
  second: number;
  increase: number;
}

/** One accepted sample of one tracked stat (also when the increase is 0). */
export interface TickEvent {
  device: string;
  stat: string;
  timeMs: number;
  /** Time of the previous accepted sample; NaN at an epoch start (no increase). */
  prevTimeMs: number;
  increase: number;
  /** The counter went backwards; `increase` is then its new value. */
  reset: boolean;
  /** increase / (timeMs - prevTimeMs) in per-second units; 0 at an epoch start. */
  ratePerSecond: number;
}

export interface FailedReadEvent {
  device: string;
  timeMs: number;
  kind: FailedReadKind;
}

export interface EpochEvent {
  device: string;
  timeMs: number;
  generation: number;
  /** The stats tracked in this epoch, in layout order. */
  trackedStats: readonly string[];
}

/**
 * Hooks for consumers. Every event object is a view reused for the next
 * event: copy what you keep. Listeners run synchronously on the sampling
 * path, so keep them cheap and allocation-free if they run per tick.
 */
export interface AggregationListener {
  onTick?(e: Readonly<TickEvent>): void;
  onSecond?(e: Readonly<SecondEvent>): void;
  onBurst?(e: Readonly<BurstEvent>): void;
  onFailedRead?(e: Readonly<FailedReadEvent>): void;
  onEpoch?(e: Readonly<EpochEvent>): void;
}

/** Where drops of a (device, stat) began, learned from its bursts (burst-context.ts). */
export interface LearnedOnset {
  device: string;
  stat: string;
  measure: OnsetMeasure;
  /** Median onset of the last bursts, in `measure`. */
  value: number;
  /** Bursts it is learned from (at most LEARNED_ONSETS). */
  bursts: number;
}

export interface StatTotals {
  device: string;
  stat: string;
  increase: number;
  resets: number;
  failedReads: number;
  samples: number;
  secondsWithIncrease: number;
  maxSecondIncrease: number;
  bursts: number;
}

export interface OpenBurst {
  startMs: number;
  endMs: number;
  increase: number;
  peakRatePerSecond: number;
}

/** Last good raw counters of a device. `values` is live: read it, never write it. */
export interface RawCounters {
  device: string;
  driver: string;
  names: readonly string[];
  values: Uint32Array;
  timeMs: number;
}

/** Pod-veth snapshots kept: a burst's end is matched by the first after it, before the burst gap has passed. */
const LINK_MOMENTS = 16;

class StatTrack {
  increase = 0;
  resets = 0;
  failedReads = 0;
  samples = 0;
  secondsWithIncrease = 0;
  maxSecondIncrease = 0;
  bursts = 0;
  readonly burst: BurstDetector;
  readonly seconds = new SecondCounter();
  readonly windows: StatWindows | null;
  readonly onsets = new OnsetTrack();

  constructor(
    readonly device: string,
    readonly stat: string,
    gapMs: number,
    windowsMs: readonly number[],
    slots: number,
  ) {
    this.burst = new BurstDetector(gapMs);
    this.windows = windowsMs.length > 0 ? new StatWindows(windowsMs, slots) : null;
  }
}

class DeviceState {
  readonly deltas: DeviceDeltas;
  /** Aligned with deltas.trackedNames for the current epoch. */
  tracks: StatTrack[] = [];
  readonly byName = new Map<string, StatTrack>();
  alive = false;
  /** Failed reads of the device over its whole life here, re-appearances included. */
  failedReads = 0;
  /** How often the device refreshes its counters, from the samples themselves. */
  readonly period = new UpdatePeriodEstimator();
  /** Its traffic in the last samples, for burst onsets. */
  readonly context = new DeviceContext();

  constructor(
    readonly device: string,
    isTracked: (name: string) => boolean,
  ) {
    this.deltas = new DeviceDeltas(device, isTracked);
  }
}

export class Aggregator implements SampleSink {
  readonly burstGapMs: number;
  /** Latest sample time seen from any device: the clock windows are read on. */
  clockMs = Number.NaN;

  /** Window lengths every (device, tracked stat) keeps; [] when windows are off. */
  readonly windowsMs: readonly number[];
  private readonly isTracked: (name: string) => boolean;
  private readonly slots: number;
  private readonly devices = new Map<string, DeviceState>();
  private listeners: AggregationListener[] = [];
  private secondListeners: AggregationListener[] = [];
  private readonly receiver: Receiver;
  /** The node's counters in the last ticks (traces without node lines: none). */
  private readonly node = new NodeHistory();
  /** The last pod-veth snapshots, oldest first. */
  private readonly linkMoments: LinkMoment[] = [];
  private nodeIncrease = new Float64Array(0);

  // Reused event views.
  private readonly tickEv: TickEvent = { device: '', stat: '', timeMs: 0, prevTimeMs: 0, increase: 0, reset: false, ratePerSecond: 0 };
  private readonly secondEv: SecondEvent = { device: '', stat: '', second: 0, increase: 0 };
  private readonly burstEv: BurstEvent = {
    device: '',
    stat: '',
    startMs: 0,
    endMs: 0,
    durationMs: 0,
    increase: 0,
    peakRatePerSecond: 0,
    ticks: 0,
    onset: unknownOnset(),
    nodeNames: [],
    nodeIncrease: new Float64Array(0),
    learnedOnset: Number.NaN,
    learnedOnsetMeasure: 'packets_per_second',
    learnedOnsetBursts: 0,
    diagnosis: { cause: 'other', summary: '', remedy: '' },
    topPods: null,
    topPodMoments: null,
  };
  private readonly failedEv: FailedReadEvent = { device: '', timeMs: 0, kind: 'error' };
  private readonly epochEv: EpochEvent = { device: '', timeMs: 0, generation: 0, trackedStats: [] };

  constructor(options: AggregatorOptions = {}) {
    this.burstGapMs = options.burstGapMs ?? DEFAULT_BURST_GAP_MS;
    this.isTracked = options.trackedStat ?? trackedStatMatcher();
    this.windowsMs = options.windowsMs ?? DEFAULT_WINDOWS_MS;
    this.slots = options.windowSlots ?? DEFAULT_WINDOW_SLOTS;
    this.receiver = new Receiver(this);
  }

  addListener(l: AggregationListener): void {
    this.listeners = [...this.listeners, l];
    this.secondListeners = this.listeners.filter((x) => x.onSecond !== undefined);
  }

  removeListener(l: AggregationListener): void {
    this.listeners = this.listeners.filter((x) => x !== l);
    this.secondListeners = this.listeners.filter((x) => x.onSecond !== undefined);
  }

  // --- SampleSink -------------------------------------------------------

  sample(s: Readonly<Sample>): void {
    const dev = this.device(s.device);
    dev.alive = true;
    if (!(s.timeMs <= this.clockMs)) this.clockMs = s.timeMs;
    this.receiver.dev = dev;
    if (s.error === null) dev.context.record(s);
    dev.deltas.process(s, this.receiver);
    // The interface is gone: its bursts end here, live or replayed, and
    // whatever answers under its name later starts a new epoch.
    if (s.error === 'ENODEV') this.endLife(dev);
  }

  /** The node's counters for a tick, before that tick's samples. */
  context(c: Readonly<NodeContext>): void {
    this.node.record(c);
  }

  /** The pods' veths: kept with each device's packets at this moment, the last few of them. */
  links(l: Readonly<LinkSnapshot>): void {
    const devicePackets = new Map<string, number>();
    const deviceTimes = new Map<string, number>();
    for (const [name, dev] of this.devices) {
      devicePackets.set(name, dev.context.newestPackets());
      deviceTimes.set(name, dev.context.newestTime());
    }
    // Sources hand over snapshots they do not touch again; the names, addresses and pods are shared.
    const snap: LinkSnapshot = { timeMs: l.timeMs, names: l.names, values: l.values.slice(), ips: l.ips, ...(l.pods ? { pods: l.pods } : {}) };
    const m: LinkMoment = { snap, devicePackets, deviceTimes };
    this.linkMoments.push(m);
    if (this.linkMoments.length > LINK_MOMENTS) this.linkMoments.shift();
    // The open bursts that had no snapshot after their end yet have one now.
    for (const dev of this.devices.values()) {
      const tracks = dev.tracks;
      for (let j = 0; j < tracks.length; j++) {
        const tr = tracks[j]!;
        const o = tr.onsets;
        if (tr.burst.open && o.links !== null && o.linksAfter === null && m.snap.timeMs >= tr.burst.endMs) o.linksAfter = m;
      }
    }
  }

  deviceAdded(info: DeviceInfo, timeMs: number): void {
    const dev = this.device(info.name);
    if (dev.alive) this.endLife(dev);
    dev.deltas.markNewEpoch();
    if (!(timeMs <= this.clockMs)) this.clockMs = timeMs;
  }

  deviceRemoved(device: string, timeMs: number): void {
    const dev = this.devices.get(device);
    if (!dev) return;
    this.endLife(dev);
    if (!(timeMs <= this.clockMs)) this.clockMs = timeMs;
  }

  /**
   * End of input or shutdown: discards held suspect reads, finalises open
   * bursts and completes the current seconds of every device. Samples after
   * this start new epochs.
   */
  finish(timeMs: number = this.clockMs): void {
    for (const dev of this.devices.values()) this.endLife(dev);
    if (!(timeMs <= this.clockMs)) this.clockMs = timeMs;
  }

  // --- Readers (allocate; not for the tick path) ------------------------

  deviceNames(): string[] {
    return [...this.devices.keys()].sort(compareCodeUnits);
  }

  /** Totals of every (device, tracked stat) seen, sorted by device then stat. */
  totals(): StatTotals[] {
    const out: StatTotals[] = [];
    for (const dev of this.devices.values()) {
      for (const t of dev.byName.values()) {
        out.push({
          device: t.device,
          stat: t.stat,
          increase: t.increase,
          resets: t.resets,
          failedReads: t.failedReads,
          samples: t.samples,
          secondsWithIncrease: t.secondsWithIncrease,
          maxSecondIncrease: t.maxSecondIncrease,
          bursts: t.bursts,
        });
      }
    }
    return out.sort((a, b) => compareCodeUnits(a.device, b.device) || compareCodeUnits(a.stat, b.stat));
  }

  /** Where drops began for each (device, tracked stat) with enough bursts: the median onset of its last bursts. */
  learnedOnsets(): LearnedOnset[] {
    const out: LearnedOnset[] = [];
    for (const dev of this.devices.values()) {
      for (const t of dev.byName.values()) {
        const value = t.onsets.learned();
        if (Number.isFinite(value)) out.push({ device: t.device, stat: t.stat, measure: onsetMeasure(t.stat), value, bursts: t.onsets.count });
      }
    }
    return out.sort((a, b) => compareCodeUnits(a.device, b.device) || compareCodeUnits(a.stat, b.stat));
  }

  /** Whether any (device, stat) has a burst in progress (the pod-veth poller polls faster then). */
  anyOpenBurst(): boolean {
    for (const dev of this.devices.values()) for (const t of dev.tracks) if (t.burst.open) return true;
    return false;
  }

  /** The burst in progress for (device, stat), or null. */
  openBurst(device: string, stat: string): OpenBurst | null {
    const t = this.devices.get(device)?.byName.get(stat);
    if (!t || !t.burst.open) return null;
    return { startMs: t.burst.startMs, endMs: t.burst.endMs, increase: t.burst.increase, peakRatePerSecond: t.burst.peakRatePerSecond };
  }

  /** Last accepted raw counters (never a bogus or held zero read), or undefined before the first accepted sample. */
  rawCounters(device: string): RawCounters | undefined {
    const d = this.devices.get(device)?.deltas;
    if (!d || !d.hasGoodEver) return undefined;
    return { device, driver: d.driver, names: d.shownNames, values: d.shownValues, timeMs: d.goodTimeMs };
  }

  /** Exact decimal text of a raw counter's last good value. */
  rawValue(device: string, stat: string): string | undefined {
    return this.devices.get(device)?.deltas.rawString(stat);
  }

  /** Sliding windows of (device, stat) as read at nowMs (default: the sample clock). */
  windows(device: string, stat: string, nowMs: number = this.clockMs): WindowSnapshot[] | undefined {
    const t = this.devices.get(device)?.byName.get(stat);
    if (!t || !t.windows || !(nowMs === nowMs)) return undefined;
    return t.windows.snapshot(nowMs);
  }

  /** Highest per-tick rate of (device, stat) in its window of windowMs, read at nowMs (default: the sample clock); NaN without such a window. */
  peakTickRate(device: string, stat: string, windowMs: number, nowMs: number = this.clockMs): number {
    const w = this.devices.get(device)?.byName.get(stat)?.windows;
    return w ? w.peakTickRate(windowMs, nowMs) : Number.NaN;
  }

  /** How often the device refreshes its counters, as far as its samples show. */
  updatePeriod(device: string): UpdatePeriod | undefined {
    return this.devices.get(device)?.period.estimate();
  }

  /** Failed reads of a device (errors, bogus reads, dropped suspects): the same number live and offline. */
  failedReads(device: string): number {
    return this.devices.get(device)?.failedReads ?? 0;
  }

  /** Diagnostics of a device's delta stage. */
  deviceCounters(device: string): { accepted: number; errors: number; bogusDropped: number; suspectsDropped: number; suspectsGenuine: number; suspectsDiscarded: number; epochs: number } | undefined {
    const d = this.devices.get(device)?.deltas;
    if (!d) return undefined;
    return { accepted: d.accepted, errors: d.errors, bogusDropped: d.bogusDropped, suspectsDropped: d.suspectsDropped, suspectsGenuine: d.suspectsGenuine, suspectsDiscarded: d.suspectsDiscarded, epochs: d.epochs };
  }

  // --- Internals (called by Receiver) -----------------------------------

  private device(name: string): DeviceState {
    let dev = this.devices.get(name);
    if (!dev) {
      dev = new DeviceState(name, this.isTracked);
      this.devices.set(name, dev);
    }
    return dev;
  }

  private endLife(dev: DeviceState): void {
    this.receiver.dev = dev;
    dev.deltas.discardSuspect(this.receiver);
    dev.deltas.markNewEpoch();
    for (const t of dev.byName.values()) this.endStat(t);
    dev.alive = false;
  }

  /** @internal */
  endStat(t: StatTrack): void {
    if (t.burst.flush()) this.emitBurst(t);
    if (t.seconds.flush()) this.emitSeconds(t);
  }

  /** @internal */
  epochStarted(dev: DeviceState, d: DeviceDeltas): void {
    const names = d.trackedNames;
    if (dev.tracks.length !== names.length || dev.tracks.some((t, i) => t.stat !== names[i])) {
      const tracks: StatTrack[] = [];
      for (const name of names) {
        let t = dev.byName.get(name);
        if (!t) {
          t = new StatTrack(dev.device, name, this.burstGapMs, this.windowsMs, this.slots);
          dev.byName.set(name, t);
        }
        tracks.push(t);
      }
      // A stat the new layout lacks can no longer be observed: its open
      // burst and second end here rather than hang until the device goes.
      for (const old of dev.tracks) if (!names.includes(old.stat)) this.endStat(old);
      dev.tracks = tracks;
    }
    const ls = this.listeners;
    if (ls.length > 0) {
      const e = this.epochEv;
      e.device = dev.device;
      e.timeMs = d.eventMs;
      e.generation = d.generation;
      e.trackedStats = names;
      for (let i = 0; i < ls.length; i++) ls[i]!.onEpoch?.(e);
    }
  }

  /** @internal */
  accepted(dev: DeviceState, d: DeviceDeltas): void {
    const tracks = dev.tracks;
    const t = d.timeMs;
    const prev = d.prevTimeMs;
    const ls = this.listeners;
    dev.period.observe(t, d.changed, d.gaugeChanged, prev === prev);
    const resolution = dev.period.resolutionMs();
    for (let j = 0; j < tracks.length; j++) {
      const tr = tracks[j]!;
      tr.burst.resolutionMs = resolution;
      const inc = d.inc[j]!;
      const reset = d.isReset[j] === 1;
      tr.samples++;
      if (reset) tr.resets++;
      if (tr.seconds.advance(t)) this.emitSeconds(tr);
      if (tr.burst.update(t, prev, inc)) this.emitBurst(tr);
      let rate = 0;
      if (inc > 0) {
        const o = tr.onsets;
        if (tr.burst.ticks === 1) {
          // The drops began in (prev, t]: the traffic then, the node before, the pods' veths before.
          dev.context.onset(prev, t, o.onset);
          o.links = this.linksAtOrBefore(prev);
          o.linksAfter = null;
          o.fit(this.node.names.length);
          this.node.at(prev, o.startNode);
        } else if (o.linksAfter !== null && o.linksAfter.snap.timeMs < t) {
          // The burst went on past that snapshot.
          o.linksAfter = null;
        }
        this.node.at(t, o.endNode);
        tr.increase += inc;
        tr.seconds.add(inc);
        rate = t > prev ? (inc * 1000) / Math.max(t - prev, resolution) : 0;
        if (tr.windows !== null) tr.windows.recordTickRate(t, rate);
      }
      if (ls.length > 0) {
        const e = this.tickEv;
        e.device = tr.device;
        e.stat = tr.stat;
        e.timeMs = t;
        e.prevTimeMs = prev;
        e.increase = inc;
        e.reset = reset;
        e.ratePerSecond = rate;
        for (let i = 0; i < ls.length; i++) ls[i]!.onTick?.(e);
      }
    }
  }

  /** @internal */
  failedRead(dev: DeviceState, d: DeviceDeltas, kind: FailedReadKind): void {
    dev.failedReads++;
    const tracks = dev.tracks;
    for (let j = 0; j < tracks.length; j++) tracks[j]!.failedReads++;
    const ls = this.listeners;
    if (ls.length > 0) {
      const e = this.failedEv;
      e.device = dev.device;
      e.timeMs = d.eventMs;
      e.kind = kind;
      for (let i = 0; i < ls.length; i++) ls[i]!.onFailedRead?.(e);
    }
  }

  private emitBurst(tr: StatTrack): void {
    const b = tr.burst;
    tr.bursts++;
    const duration = b.doneEndMs - b.doneStartMs;
    if (tr.windows !== null) tr.windows.recordBurst(b.doneEndMs, duration, b.doneIncrease);
    const o = tr.onsets;
    const e = this.burstEv;
    const names = this.node.names;
    if (this.nodeIncrease.length !== names.length) this.nodeIncrease = new Float64Array(names.length);
    for (let i = 0; i < names.length; i++) this.nodeIncrease[i] = i < o.endNode.length ? o.endNode[i]! - o.startNode[i]! : Number.NaN;
    copyOnset(o.onset, e.onset);
    e.nodeNames = names;
    e.nodeIncrease = this.nodeIncrease;
    e.learnedOnset = o.learned();
    e.learnedOnsetBursts = o.count;
    e.learnedOnsetMeasure = onsetMeasure(tr.stat);
    const frag = names.indexOf('ip_frag_creates');
    e.diagnosis = diagnose({
      device: tr.device,
      stat: tr.stat,
      durationMs: duration,
      increase: b.doneIncrease,
      onset: e.onset,
      fragmentsCreated: frag >= 0 ? this.nodeIncrease[frag]! : Number.NaN,
      learnedOnset: e.learnedOnset,
    });
    const after = o.links === null ? undefined : (o.linksAfter ?? this.linkMoments.find((m) => m.snap.timeMs >= b.doneEndMs));
    e.topPodMoments = o.links !== null && after !== undefined ? [o.links, after] : null;
    e.topPods = e.topPodMoments === null ? null : this.topPods(tr.device, o.links!, after!);
    o.links = null;
    o.linksAfter = null;
    // This burst's onset counts for the next ones, not for its own diagnosis.
    o.learn(onsetValue(tr.stat, e.onset));
    copyOnset(unknownOnset(), o.onset);
    const ls = this.listeners;
    if (ls.length === 0) return;
    e.device = tr.device;
    e.stat = tr.stat;
    e.startMs = b.doneStartMs;
    e.endMs = b.doneEndMs;
    e.durationMs = duration;
    e.increase = b.doneIncrease;
    e.peakRatePerSecond = b.donePeakRatePerSecond;
    e.ticks = b.doneTicks;
    for (let i = 0; i < ls.length; i++) ls[i]!.onBurst?.(e);
  }

  /** The newest pod-veth snapshot taken at or before t. */
  private linksAtOrBefore(t: number): LinkMoment | null {
    const ms = this.linkMoments;
    for (let i = ms.length - 1; i >= 0; i--) if (ms[i]!.snap.timeMs <= t) return ms[i]!;
    return null;
  }

  /** Who moved the packets from `before` (at or before the burst's start) to `after` (the first snapshot at or after its end). */
  private topPods(device: string, before: LinkMoment, after: LinkMoment): TopPod[] {
    const devicePackets = (after.devicePackets.get(device) ?? Number.NaN) - (before.devicePackets.get(device) ?? Number.NaN);
    return topTalkers(before.snap, after.snap, devicePackets);
  }

  private emitSeconds(tr: StatTrack): void {
    const sc = tr.seconds;
    const inc = sc.doneIncrease;
    if (inc > 0) {
      tr.secondsWithIncrease++;
      if (inc > tr.maxSecondIncrease) tr.maxSecondIncrease = inc;
    }
    if (tr.windows !== null) {
      tr.windows.recordSeconds(sc.doneSecond, inc, 1);
      if (sc.doneZeros > 0) tr.windows.recordSeconds(sc.doneSecond + 1, 0, sc.doneZeros);
    }
    // Only listeners that take seconds get them: a trace with a gap of years
    // in it would otherwise spin through every empty second for nobody.
    const ls = this.secondListeners;
    if (ls.length === 0) return;
    const e = this.secondEv;
    e.device = tr.device;
    e.stat = tr.stat;
    e.second = sc.doneSecond;
    e.increase = inc;
    for (let i = 0; i < ls.length; i++) ls[i]!.onSecond!(e);
    e.increase = 0;
    for (let z = 1; z <= sc.doneZeros; z++) {
      e.second = sc.doneSecond + z;
      for (let i = 0; i < ls.length; i++) ls[i]!.onSecond!(e);
    }
  }
}

/** Adapts DeviceDeltas callbacks to the device being processed, without closures. */
class Receiver implements DeltaReceiver {
  dev: DeviceState | null = null;

  constructor(private readonly agg: Aggregator) {}

  epochStarted(d: DeviceDeltas): void {
    this.agg.epochStarted(this.dev!, d);
  }

  accepted(d: DeviceDeltas): void {
    this.agg.accepted(this.dev!, d);
  }

  failedRead(d: DeviceDeltas, kind: FailedReadKind): void {
    this.agg.failedRead(this.dev!, d, kind);
  }
}
