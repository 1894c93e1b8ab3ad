// A synthetic ENA host: N devices with the real `ethtool -S` names (incl.
// per-queue stats), slowly rising queue and admin counters, and allowance
// bursts that are either scripted or drawn from a seeded PRNG, plus
// occasional genuine resets, all-zero failed reads and error records.
//
// The point is ground truth. Tick k of every device is at startMs + k *
// intervalMs, each scripted burst spreads its packets over known ticks, and
// resets/failed reads are never placed within two ticks of a burst of the
// same device (where they would legitimately change a burst's start or
// peak), so expectedBursts() is exactly what a correct aggregator must find.
//
// Context is simulated too: the node's counters (a node line per tick) and
// traffic that explains each burst. While a burst's drops are counted, its
// device carries the traffic of its limit: about ONSET_PPS (more per device
// index) for pps and link-local bursts, ONSET_BITS for bandwidth bursts,
// and conntrack_allowance_available runs low before conntrack bursts; every
// second pps burst of a device comes with the node creating IP fragments.
// None of this draws from the PRNG, so the bursts and events of a seed are
// what they were before context existed.
//
// With `pods`, eth0 also carries pods (host-side veths with addresses and
// names, as the netlink poller and the Kubernetes API would give them),
// snapshotted every second: between bursts they share its traffic evenly;
// during a burst one pod per allowance (its index in ALLOWANCE_STATS modulo
// the pods) sends 80 % of it, so each burst has a known top pod.
//
// Deterministic for a given seed and options. step() is synchronous and
// allocation-free between bursts, for tests and benchmarks.

import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { lagHost } from '../lag-hosts.js';
import type { CountedBurst } from '../aggregation/aggregator.js';
import { enaStatNames, type EnaStatOptions } from '../aggregation/ena-stats.js';
import { ALLOWANCE_STATS, CONNTRACK_AVAILABLE } from '../aggregation/stat-policy.js';
import { NODE_COUNTER_NAMES, type NodeContext } from '../sampling/context.js';
import { compareCodeUnits } from '../order.js';
import { makeLayout, unknownTraffic, type DeviceLayout, type Sample, type SampleSink, type StatsSource } from '../sampling/sample.js';

/** A scripted burst: `packets` spread over the ticks in (startMs, startMs + durationMs]. */
export interface SimBurst {
  device: string;
  stat: string;
  /** Unix ms; must be at or after the simulation's first tick. */
  startMs: number;
  durationMs: number;
  packets: number;
}

export type SimEventKind = 'reset' | 'zero-read' | 'error';

/** Something the simulator did to a device, for tests to compare against. */
export interface SimEvent {
  device: string;
  timeMs: number;
  kind: SimEventKind;
  /**
   * Whether an aggregator can see it: errors always are, and so is a zero
   * read that zeroes conntrack_allowance_available too; otherwise a zero
   * read or reset is visible only when some allowance counter was non-zero
   * before it.
   */
  detectable: boolean;
  /** For resets: the allowance stats that were non-zero (their resets are counted). */
  statsReset: string[];
}

export interface SimulateOptions {
  /** Number of devices, named eth0, eth1, ... Default 1. */
  devices?: number;
  /** Per-queue stats for this many queues. Default 4. */
  queues?: number;
  /** Other layout options (SRD, PHC, ...). */
  stats?: Partial<EnaStatOptions>;
  intervalMs?: number;
  /** Time of tick 0, unix ms. Default 1764000000000 (virtual) or now (realtime). */
  startMs?: number;
  /** Length of the simulation. Default 60 s for the virtual clock, unbounded in real time. */
  durationMs?: number;
  /** 'virtual' (default): as fast as possible. 'realtime': one tick per interval of wall time. */
  clock?: 'virtual' | 'realtime';
  seed?: number;
  /** Scripted bursts. Without a script, bursts are seeded-random. */
  script?: readonly SimBurst[];
  /** Random bursts even with a script. Default: only when there is no script. */
  randomBursts?: boolean;
  /** Mean quiet time between random bursts of one (device, stat). Default 20 s. */
  meanBurstGapMs?: number;
  /** Mean time between events per device; 0 disables. Defaults: resets 5 min, zero reads 45 s, errors 60 s. */
  resetEveryMs?: number;
  zeroReadEveryMs?: number;
  errorEveryMs?: number;
  /** Pods behind eth0 (0-8, module comment). Default 0. */
  pods?: number;
}

/** The simulated pods: host-side veth, address, namespace/name. */
export const SIM_PODS: readonly { veth: string; ip: string; pod: string }[] = [
  { veth: 'eni3f2a9c1b7e0', ip: '10.1.0.10', pod: 'shop/web-7d9f8' },
  { veth: 'eni8c41d0e5a92', ip: '10.1.0.11', pod: 'shop/checkout-5c6b4' },
  { veth: 'eni0b7e63f4c18', ip: '10.1.0.12', pod: 'batch/export-2x9k7' },
  { veth: 'eni5d92a8b0f36', ip: '10.1.0.13', pod: 'kube-system/coredns-6f4d2' },
  { veth: 'enia1c7f30d845', ip: '10.1.0.14', pod: 'shop/cart-84b1c' },
  { veth: 'eni6e08b2d9c71', ip: '10.1.0.15', pod: 'search/indexer-3k2p0' },
  { veth: 'eni2f95c4a1e60', ip: '10.1.0.16', pod: 'shop/images-9h5t1' },
  { veth: 'enic3d81f7b2a4', ip: '10.1.0.17', pod: 'monitoring/agent-q8w2e' },
];
/** Share of eth0's traffic the pods carry between bursts, and the share the burst's pod carries during one. */
const POD_SHARE = 0.8;

export const DEFAULT_SIM_START_MS = 1_764_000_000_000;

/** Traffic of the limits the simulated bursts hit (module comment). */
export const ONSET_PPS = 400_000;
export const ONSET_PPS_PER_DEVICE = 50_000;
export const ONSET_BITS = 9.5e9;
export const FRAGMENTS_PER_SECOND = 3000;
/** The node's counters rise at these rates per second, in NODE_COUNTER_NAMES order (the two conntrack gauges are set, not raised). */
const NODE_RATES = NODE_COUNTER_NAMES.map((n) => ({ udp_in_datagrams: 300, udp_out_datagrams: 300, tcp_active_opens: 20, tcp_passive_opens: 25, tcp_retrans_segs: 1 })[n] ?? 0);
const FRAG = NODE_COUNTER_NAMES.indexOf('ip_frag_creates');
const CONNTRACK_COUNT = NODE_COUNTER_NAMES.indexOf('nf_conntrack_count');
const CONNTRACK_MAX = NODE_COUNTER_NAMES.indexOf('nf_conntrack_max');
const TWO_32 = 4294967296;
/** Events keep this many ticks away from any burst tick of their device. */
const EVENT_MARGIN = 2;
/** ... and from each other, so each held zero read is judged by a clean sample. */
const EVENT_SPACING = 3;

/** xorshift32: tiny, fast, deterministic; quality is irrelevant here. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed | 0) === 0 ? 0x9e3779b9 : seed | 0;
    for (let i = 0; i < 8; i++) this.next();
  }
  /** Uniform in [0, 1). */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return (x >>> 0) / TWO_32;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}

/** A burst laid onto ticks. */
interface Placed {
  readonly burst: SimBurst;
  readonly kFirst: number;
  readonly kLast: number;
  readonly base: number;
  readonly extra: number;
}

class StatSchedule {
  readonly placed: Placed[] = [];
  /** First burst whose last tick + margin is not yet behind us. */
  next = 0;
  constructor(
    readonly stat: string,
    readonly pos: number,
    /** Relative frequency of random bursts. */
    readonly weight: number,
  ) {}
}

class SimDevice {
  readonly view: Sample;
  readonly cur: Float64Array;
  readonly schedules: StatSchedule[];
  readonly allowPos: Int32Array;
  readonly movingPos: Int32Array;
  /** Positions of the per-queue counters summed into each traffic value. */
  readonly trafficPos: Int32Array[];
  readonly movingStep: Float64Array;
  readonly gaugePos: number;
  /** What conntrack_allowance_available reads this tick while connections run out (0: its own value). */
  conntrackLow = 0;
  /** Positions of queue 0's packet and byte counters (-1: none), where a burst's traffic goes. */
  readonly queue0: { rxCnt: number; txCnt: number; rxBytes: number; txBytes: number };
  readonly totalResetsPos: number;
  lastEventTick = -1_000_000;

  constructor(
    readonly name: string,
    /** Position among the simulated devices (eth0 is 0). */
    readonly index: number,
    readonly layout: DeviceLayout,
    rng: Rng,
    intervalMs: number,
  ) {
    const n = layout.names.length;
    this.view = { device: name, driver: 'ena', timeMs: 0, monoNs: Number.NaN, ioctlNs: Number.NaN, error: null, errno: 0, layout, values: new Uint32Array(2 * n), traffic: unknownTraffic() };
    this.cur = new Float64Array(n);
    const idx = layout.index;
    const weights = [1, 1, 1.5, 0.3, 0.5];
    this.schedules = ALLOWANCE_STATS.map((s, i) => new StatSchedule(s, idx.get(s) ?? -1, weights[i] ?? 1)).filter((s) => s.pos >= 0);
    this.allowPos = Int32Array.from(this.schedules.map((s) => s.pos));
    this.gaugePos = idx.get(CONNTRACK_AVAILABLE) ?? -1;
    this.queue0 = { rxCnt: idx.get('queue_0_rx_cnt') ?? -1, txCnt: idx.get('queue_0_tx_cnt') ?? -1, rxBytes: idx.get('queue_0_rx_bytes') ?? -1, txBytes: idx.get('queue_0_tx_bytes') ?? -1 };
    this.totalResetsPos = idx.get('total_resets') ?? -1;

    // Counters that move every tick, with their mean step per tick.
    const moving: number[] = [];
    const steps: number[] = [];
    const add = (name: string, step: number): void => {
      const p = idx.get(name);
      if (p !== undefined) {
        moving.push(p);
        steps.push(step);
      }
    };
    add('ena_admin_q_submitted_cmd', 1);
    add('ena_admin_q_completed_cmd', 1);
    for (let q = 0; ; q++) {
      if (!idx.has(`queue_${q}_tx_cnt`)) break;
      // Packets per tick, from a per-second rate drawn per queue.
      const pps = (rng.int(200, 4000) * intervalMs) / 1000;
      add(`queue_${q}_tx_cnt`, pps);
      add(`queue_${q}_tx_bytes`, pps * 900);
      add(`queue_${q}_tx_doorbells`, pps / 8);
      add(`queue_${q}_tx_napi_comp`, pps / 16);
      add(`queue_${q}_tx_tx_poll`, pps / 16);
      add(`queue_${q}_rx_cnt`, pps * 1.3);
      add(`queue_${q}_rx_bytes`, pps * 1.3 * 700);
      add(`queue_${q}_rx_csum_good`, pps * 1.2);
    }
    // The interface's traffic is what its queues carried (TRAFFIC_NAMES order).
    const queueStat = ['rx_cnt', 'tx_cnt', 'rx_bytes', 'tx_bytes'];
    this.trafficPos = queueStat.map((stat) => {
      const ps: number[] = [];
      for (let q = 0; idx.has(`queue_${q}_${stat}`); q++) ps.push(idx.get(`queue_${q}_${stat}`)!);
      return Int32Array.from(ps);
    });
    this.movingPos = Int32Array.from(moving);
    this.movingStep = Float64Array.from(steps);

    // Realistic starting values: a host that has been up for days, byte
    // counters past 2^32 (exercises the high u32 half), small non-zero
    // allowance counters so the first failed read is recognisable.
    for (let i = 0; i < moving.length; i++) this.cur[moving[i]!] = Math.floor(steps[i]! * rng.int(1_000_000, 3_000_000));
    for (const s of this.schedules) this.cur[s.pos] = rng.next() < 0.7 ? rng.int(1, 50_000) : 0;
    if (this.gaugePos >= 0) this.cur[this.gaugePos] = rng.int(30_000, 60_000);
    const up = idx.get('interface_up');
    if (up !== undefined) this.cur[up] = 1;
    for (let i = 0; i < n; i++) writeU64(this.view.values, i, this.cur[i]!);
  }

  /** Any allowance counter non-zero: what makes a zero read or reset visible. */
  anyAllowance(): boolean {
    for (let j = 0; j < this.allowPos.length; j++) if (this.cur[this.allowPos[j]!]! > 0) return true;
    return false;
  }
}

function writeU64(values: Uint32Array, i: number, v: number): void {
  const lo = v % TWO_32;
  values[2 * i] = lo;
  values[2 * i + 1] = (v - lo) / TWO_32;
}

/** Adds n (rounded) to a device's counter at a layout position (-1: the layout has none). */
function addTraffic(dev: SimDevice, pos: number, n: number): void {
  if (pos < 0) return;
  const v = dev.cur[pos]! + Math.round(n);
  dev.cur[pos] = v;
  writeU64(dev.view.values, pos, v);
}

export class SimulateSource implements StatsSource {
  readonly intervalMs: number;
  readonly startMs: number;
  readonly durationMs: number;
  readonly clock: 'virtual' | 'realtime';
  /** Every burst the simulator produced or will produce, scripted and random, in creation order. */
  readonly script: SimBurst[] = [];
  readonly events: SimEvent[] = [];
  /** Ticks done (each tick samples every device). */
  tick = 0;

  private readonly rng: Rng;
  private readonly devs: SimDevice[];
  /** The node's counters (a reused view). */
  private readonly node: NodeContext = { timeMs: 0, names: NODE_COUNTER_NAMES, values: new Float64Array(NODE_COUNTER_NAMES.length) };
  private readonly nodeExact = Float64Array.from(NODE_COUNTER_NAMES, (_, i) => 1e6 * (i + 1));

  private readonly random: boolean;
  private readonly meanBurstGapMs: number;
  private readonly pReset: number;
  private readonly pZero: number;
  private readonly pError: number;
  private readonly lastTick: number;
  private stopped = false;
  private started = false;
  /** The pods' counters (4 per pod, TRAFFIC_NAMES order), exact; eth0's traffic at its last sample. */
  private readonly podCount: number;
  private readonly podExact: Float64Array;
  private readonly podPrev = new Float64Array(4).fill(Number.NaN);
  private podCulprit = -1;
  private readonly podSums = new Float64Array(4);

  constructor(options: SimulateOptions = {}) {
    this.intervalMs = options.intervalMs ?? 100;
    this.clock = options.clock ?? 'virtual';
    this.startMs = options.startMs ?? (this.clock === 'virtual' ? DEFAULT_SIM_START_MS : Math.round(Date.now()));
    this.durationMs = options.durationMs ?? (this.clock === 'virtual' ? 60_000 : Number.POSITIVE_INFINITY);
    this.lastTick = Math.floor(this.durationMs / this.intervalMs);
    this.rng = new Rng(options.seed ?? 1);
    this.random = options.randomBursts ?? options.script === undefined;
    this.meanBurstGapMs = options.meanBurstGapMs ?? 20_000;
    const p = (every: number | undefined, def: number): number => {
      const e = every ?? def;
      return e > 0 ? this.intervalMs / e : 0;
    };
    this.pReset = p(options.resetEveryMs, 300_000);
    this.pZero = p(options.zeroReadEveryMs, 45_000);
    this.pError = p(options.errorEveryMs, 60_000);
    this.podCount = Math.max(0, Math.min(SIM_PODS.length, options.pods ?? 0));
    this.podExact = new Float64Array(4 * this.podCount);

    const names = enaStatNames({ queues: options.queues ?? 4, ...options.stats });
    const count = options.devices ?? 1;
    this.devs = [];
    for (let d = 0; d < count; d++) this.devs.push(new SimDevice(`eth${d}`, d, makeLayout(1, names), this.rng, this.intervalMs));
    for (const b of options.script ?? []) this.addBurst(b);
  }

  deviceNames(): string[] {
    return this.devs.map((d) => d.name);
  }

  layout(device: string): DeviceLayout | undefined {
    return this.devs.find((d) => d.name === device)?.layout;
  }

  tickTime(k: number): number {
    return this.startMs + k * this.intervalMs;
  }

  /** Whether step() has ticks left. */
  get done(): boolean {
    return this.stopped || this.tick > this.lastTick;
  }

  stop(): void {
    this.stopped = true;
  }

  async run(sink: SampleSink): Promise<void> {
    if (this.clock === 'virtual') {
      while (!this.done) {
        for (let i = 0; i < 1000 && this.step(sink); i++);
        // Let stop() and I/O in: a virtual hour is 36,000 ticks per device.
        await yieldToLoop();
      }
      return;
    }
    const wallStart = Date.now();
    // Its ticks wake the loop anyway: event-loop lag is measured on them.
    const lag = lagHost();
    try {
      while (!this.done) {
        const due = wallStart + this.tick * this.intervalMs;
        const wait = due - Date.now();
        if (wait > 0) {
          await sleep(wait);
          lag.late(Date.now() - due);
        }
        if (this.stopped) return;
        this.step(sink);
      }
    } finally {
      lag.close();
    }
  }

  /** Produces the next tick for every device. Returns false (and does nothing) when done. */
  step(sink: SampleSink): boolean {
    if (this.done) return false;
    const k = this.tick;
    const t = this.tickTime(k);
    if (!this.started) {
      this.started = true;
      // Locally administered MACs, one per simulated ENI.
      for (const d of this.devs) sink.deviceAdded?.({ name: d.name, driver: 'ena', driverVersion: '2.16.0g', firmwareVersion: '', busInfo: '', mac: `02:eb:00:00:00:${d.index.toString(16).padStart(2, '0')}` }, t);
    }
    // The pods' veths once a second, before the tick (after the samples their traffic is from).
    if (this.podCount > 0 && k > 0 && (k * this.intervalMs) % 1000 === 0) this.stepPods(t, sink);
    this.stepNode(k, t, sink);
    for (let i = 0; i < this.devs.length; i++) this.stepDevice(this.devs[i]!, k, t, sink);
    this.tick = k + 1;
    return true;
  }

  /** The bursts a correct aggregator reports with this burst gap, sorted like `analyze` output. */
  expectedBursts(gapMs = 2000): CountedBurst[] {
    const byStat = new Map<string, Placed[]>();
    for (const d of this.devs) {
      for (const s of d.schedules) byStat.set(`${d.name}\0${s.stat}`, s.placed.filter((p) => p.kFirst <= this.lastTick));
    }
    const out: CountedBurst[] = [];
    for (const placed of byStat.values()) {
      let cur: CountedBurst | null = null;
      for (const p of placed) {
        // Bursts cut by the end of the simulation end at its last tick.
        const kLast = Math.min(p.kLast, this.lastTick);
        const n = kLast - p.kFirst + 1;
        let inc = 0;
        for (let i = 0; i < n; i++) inc += p.base + (i < p.extra ? 1 : 0);
        const peak = ((p.base + (p.extra > 0 ? 1 : 0)) * 1000) / this.intervalMs;
        const start = this.tickTime(p.kFirst - 1);
        const end = this.tickTime(kLast);
        if (cur && this.tickTime(p.kFirst) - cur.endMs <= gapMs) {
          cur.endMs = end;
          cur.durationMs = end - cur.startMs;
          cur.increase += inc;
          cur.ticks += n;
          if (peak > cur.peakRatePerSecond) cur.peakRatePerSecond = peak;
          continue;
        }
        if (cur) out.push(cur);
        cur = { device: p.burst.device, stat: p.burst.stat, startMs: start, endMs: end, durationMs: end - start, increase: inc, peakRatePerSecond: peak, ticks: n };
      }
      if (cur) out.push(cur);
    }
    return out.sort((a, b) => a.startMs - b.startMs || compareCodeUnits(a.device, b.device) || compareCodeUnits(a.stat, b.stat));
  }

  private addBurst(b: SimBurst): void {
    const dev = this.devs.find((d) => d.name === b.device);
    if (!dev) throw new Error(`script: no device ${b.device}`);
    const sch = dev.schedules.find((s) => s.stat === b.stat);
    if (!sch) throw new Error(`script: ${b.device} has no stat ${b.stat}`);
    if (!(b.packets >= 1) || !Number.isSafeInteger(b.packets)) throw new Error('script: packets must be a positive integer');
    if (!(b.startMs >= this.startMs) || !(b.durationMs >= 0)) throw new Error('script: a burst must start at or after the first tick');
    const kFirst = Math.floor((b.startMs - this.startMs) / this.intervalMs) + 1;
    let kLast = Math.max(kFirst, Math.floor((b.startMs + b.durationMs - this.startMs) / this.intervalMs));
    if (b.packets < kLast - kFirst + 1) kLast = kFirst + b.packets - 1;
    const n = kLast - kFirst + 1;
    const prev = sch.placed[sch.placed.length - 1];
    if (prev && kFirst <= prev.kLast) throw new Error(`script: bursts of ${b.device} ${b.stat} overlap or are out of order`);
    sch.placed.push({ burst: b, kFirst, kLast, base: Math.floor(b.packets / n), extra: b.packets % n });
    this.script.push(b);
  }

  /** Draws the next random burst of a stat, starting after tick `afterTick`. */
  /** Whether a device is in the ticks of a fragmenting pps burst (every second one of each device) at tick k. */
  private fragmentingAt(k: number): boolean {
    for (let d = 0; d < this.devs.length; d++) {
      const schedules = this.devs[d]!.schedules;
      for (let j = 0; j < schedules.length; j++) {
        const sch = schedules[j]!;
        if (sch.stat !== 'pps_allowance_exceeded') continue;
        for (let i = sch.next; i < sch.placed.length && sch.placed[i]!.kFirst <= k; i++) {
          const p = sch.placed[i]!;
          if (i % 2 === 1 && k <= p.kLast) return true;
        }
      }
    }
    return false;
  }

  /** The traffic of a limit on the device's first queue during a burst's ticks (the counters stay consistent). */
  private limitTraffic(dev: SimDevice, stat: string): void {
    const dt = this.intervalMs / 1000;
    const q = dev.queue0;
    if (stat === 'pps_allowance_exceeded' || stat === 'linklocal_allowance_exceeded') {
      const pps = (stat === 'pps_allowance_exceeded' ? ONSET_PPS + ONSET_PPS_PER_DEVICE * dev.index : ONSET_PPS / 10) * dt;
      addTraffic(dev, q.rxCnt, pps / 2);
      addTraffic(dev, q.txCnt, pps / 2);
      addTraffic(dev, q.rxBytes, (pps / 2) * 120);
      addTraffic(dev, q.txBytes, (pps / 2) * 120);
    } else if (stat === 'bw_in_allowance_exceeded' || stat === 'bw_out_allowance_exceeded') {
      const bytes = (ONSET_BITS / 8) * dt;
      const rx = stat === 'bw_in_allowance_exceeded';
      addTraffic(dev, rx ? q.rxBytes : q.txBytes, bytes);
      // Jumbo frames: bandwidth, not packets, is what runs out.
      addTraffic(dev, rx ? q.rxCnt : q.txCnt, bytes / 8500);
    }
  }

  private scheduleRandom(dev: SimDevice, sch: StatSchedule, afterTick: number): void {
    const rng = this.rng;
    const quiet = 3 * this.intervalMs + rng.exp(this.meanBurstGapMs / sch.weight);
    const startMs = this.tickTime(afterTick) + quiet;
    const r = rng.next();
    const durationMs = r < 0.6 ? rng.int(0, 900) : r < 0.93 ? rng.int(1000, 10_000) : rng.int(10_000, 60_000);
    const ticks = Math.max(1, Math.floor(durationMs / this.intervalMs));
    const perTick = rng.next() < 0.5 ? rng.int(1, 50) : rng.int(50, 20_000);
    this.addBurst({ device: dev.name, stat: sch.stat, startMs: Math.round(startMs), durationMs, packets: ticks * perTick + rng.int(0, ticks - 1) });
  }

  private stepPods(t: number, sink: SampleSink): void {
    const pods = SIM_PODS.slice(0, this.podCount);
    sink.links?.({
      timeMs: t - 0.1,
      names: pods.map((p) => p.veth),
      ips: pods.map((p) => [p.ip]),
      pods: pods.map((p) => p.pod),
      values: this.podExact.map(Math.floor),
    });
  }

  /** eth0's traffic of this tick, shared out to the pods (module comment). */
  private podTraffic(traffic: Float64Array): void {
    const n = this.podCount;
    const c = this.podCulprit;
    for (let i = 0; i < 4; i++) {
      const d = traffic[i]! - this.podPrev[i]!;
      this.podPrev[i] = traffic[i]!;
      if (!(d > 0)) continue;
      for (let j = 0; j < n; j++) {
        const share = c < 0 ? POD_SHARE / n : j === c ? POD_SHARE : n > 1 ? (1 - POD_SHARE) / 2 / (n - 1) : 0;
        this.podExact[4 * j + i]! += d * share;
      }
    }
  }

  /** The node's counters of tick k, read (as on a real node) just before the tick's samples. */
  private stepNode(k: number, t: number, sink: SampleSink): void {
    const n = this.node;
    const v = n.values;
    const exact = this.nodeExact;
    const dt = this.intervalMs / 1000;
    for (let i = 0; i < v.length; i++) exact[i] = exact[i]! + NODE_RATES[i]! * dt;
    if (this.fragmentingAt(k)) exact[FRAG]! += FRAGMENTS_PER_SECOND * dt;
    exact[CONNTRACK_COUNT] = 2000 + (Math.floor(t / 1000) % 7) * 10;
    exact[CONNTRACK_MAX] = 262144;
    // Counters are whole numbers; the rates above need not fit an interval.
    for (let i = 0; i < v.length; i++) v[i] = Math.floor(exact[i]!);
    n.timeMs = t - 0.05;
    sink.context?.(n);
  }

  private stepDevice(dev: SimDevice, k: number, t: number, sink: SampleSink): void {
    const cur = dev.cur;
    const values = dev.view.values;

    // Bursts: move each stat's pointer, and note whether any burst is near.
    let nearBurst = false;
    for (let j = 0; j < dev.schedules.length; j++) {
      const sch = dev.schedules[j]!;
      const placed = sch.placed;
      while (sch.next < placed.length && placed[sch.next]!.kLast + EVENT_MARGIN < k) sch.next++;
      if (sch.next === placed.length && this.random) {
        const last = placed[placed.length - 1];
        this.scheduleRandom(dev, sch, last ? Math.max(k, last.kLast) : k);
      }
      const p = placed[sch.next];
      if (p !== undefined && k >= p.kFirst - EVENT_MARGIN) nearBurst = true;
    }

    // Events, never near a burst of this device and never close together.
    let kind: SimEventKind | null = null;
    if (k >= 2 && !nearBurst && k - dev.lastEventTick >= EVENT_SPACING) {
      const r = this.rng.next();
      if (r < this.pReset) kind = 'reset';
      else if (r < this.pReset + this.pZero) kind = 'zero-read';
      else if (r < this.pReset + this.pZero + this.pError) kind = 'error';
    }
    if (kind !== null) {
      dev.lastEventTick = k;
      const statsReset: string[] = [];
      if (kind === 'reset') for (const s of dev.schedules) if (cur[s.pos]! > 0) statsReset.push(s.stat);
      // A zero read that zeroes conntrack_allowance_available too is always
      // recognisable (a bogus read); otherwise only after a non-zero counter.
      const detectable = kind === 'error' || (kind === 'zero-read' && dev.gaugePos >= 0) || dev.anyAllowance();
      this.events.push({ device: dev.name, timeMs: t, kind, detectable, statsReset });
      if (kind === 'reset') {
        for (let j = 0; j < dev.allowPos.length; j++) cur[dev.allowPos[j]!] = 0;
        if (dev.totalResetsPos >= 0) cur[dev.totalResetsPos]! += 1;
      }
    }

    // Counters that always move (the device keeps passing traffic).
    const mp = dev.movingPos;
    const ms = dev.movingStep;
    const jitter = 0.75 + 0.5 * this.rng.next();
    for (let i = 0; i < mp.length; i++) {
      const p = mp[i]!;
      const v = cur[p]! + Math.floor(ms[i]! * jitter);
      cur[p] = v;
      writeU64(values, p, v);
    }
    dev.conntrackLow = 0;
    if (dev.index === 0) this.podCulprit = -1;
    for (let j = 0; j < dev.schedules.length; j++) {
      const sch = dev.schedules[j]!;
      const p = sch.placed[sch.next];
      if (p !== undefined && k >= p.kFirst && k <= p.kLast) {
        cur[sch.pos]! += p.base + (k - p.kFirst < p.extra ? 1 : 0);
        this.limitTraffic(dev, sch.stat);
        if (dev.index === 0 && this.podCount > 0 && this.podCulprit < 0) this.podCulprit = ALLOWANCE_STATS.indexOf(sch.stat as (typeof ALLOWANCE_STATS)[number]) % this.podCount;
      }
      // Connections run out in the seconds before conntrack drops.
      if (p !== undefined && sch.stat === 'conntrack_allowance_exceeded' && k >= p.kFirst - 30 && k <= p.kLast) dev.conntrackLow = 5 + Math.max(0, p.kFirst - k) * 40;
      writeU64(values, sch.pos, cur[sch.pos]!);
    }
    if (dev.gaugePos >= 0) {
      const g = Math.max(0, cur[dev.gaugePos]! + this.rng.int(-50, 50));
      cur[dev.gaugePos] = g;
      writeU64(values, dev.gaugePos, dev.conntrackLow > 0 ? dev.conntrackLow : g);
    }
    if (dev.totalResetsPos >= 0) writeU64(values, dev.totalResetsPos, cur[dev.totalResetsPos]!);

    const view = dev.view;
    for (let i = 0; i < dev.trafficPos.length; i++) {
      const ps = dev.trafficPos[i]!;
      let sum = ps.length > 0 ? 0 : Number.NaN;
      for (let j = 0; j < ps.length; j++) sum += cur[ps[j]!]!;
      view.traffic[i] = kind === 'error' ? Number.NaN : sum;
      if (dev.index === 0 && this.podCount > 0) this.podSums[i] = sum;
    }
    if (dev.index === 0 && this.podCount > 0) this.podTraffic(this.podSums);
    view.timeMs = t;
    view.error = null;
    view.errno = 0;
    if (kind === 'error') {
      view.error = 'ETIMEDOUT';
      view.errno = 110;
    } else if (kind === 'zero-read') {
      // What a failed customer-metrics admin command returns: zeros for the
      // whole metrics block, gauge included (ena-driver.md §5).
      for (let j = 0; j < dev.allowPos.length; j++) writeU64(values, dev.allowPos[j]!, 0);
      if (dev.gaugePos >= 0) writeU64(values, dev.gaugePos, 0);
    }
    sink.sample(view);
  }
}
