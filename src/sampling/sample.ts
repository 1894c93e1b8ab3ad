// The one shape every source (native sampler, trace replay, simulator)
// delivers and every consumer (recorder, aggregator, exporter) reads.
//
// A Sample is a *view* that the source reuses for the next sample: consumers
// copy what they keep. That is what lets the 100 ms path run without
// allocating per sample.

import { TRAFFIC_NAMES, type NodeContext } from './context.js';
import type { LinkSnapshot } from '../talkers/top-talkers.js';

/** The stat names of a device at one point in time. */
export interface DeviceLayout {
  /** Changes whenever the names (or their count) change; starts at 1. */
  readonly generation: number;
  /** Names in the driver's order, exactly as `ethtool -S` prints them. */
  readonly names: readonly string[];
  /** name -> position in `names`. */
  readonly index: ReadonlyMap<string, number>;
}

export function makeLayout(generation: number, names: readonly string[]): DeviceLayout {
  const index = new Map<string, number>();
  names.forEach((n, i) => index.set(n, i));
  return { generation, names, index };
}

/** Whether two name lists are the same, in the same order (a layout, a trace's node counters). */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What ETHTOOL_GDRVINFO says about a device. */
export interface DeviceInfo {
  readonly name: string;
  readonly driver: string;
  readonly driverVersion: string;
  readonly firmwareVersion: string;
  readonly busInfo: string;
  /** Hardware address (/sys/class/net/DEV/address): an ENI's MAC names it in the VPC. Unknown: absent. */
  readonly mac?: string;
}

export interface Sample {
  /** Interface name, e.g. "eth0". */
  device: string;
  /** Driver name, e.g. "ena", "virtio_net". */
  driver: string;
  /** Wall-clock time of the read, unix epoch milliseconds (fractional). */
  timeMs: number;
  /** CLOCK_MONOTONIC time of the read in ns; NaN when the source has none. */
  monoNs: number;
  /** How long the GSTATS ioctl took, ns; NaN when not applicable. */
  ioctlNs: number;
  /** null on success; otherwise the Node error code ("ENODEV", "ENOTSUP"). */
  error: string | null;
  /** Positive errno for `error`, 0 on success or when unknown. */
  errno: number;
  /** Stat names for `values`. Meaningful only when error === null. */
  layout: DeviceLayout;
  /**
   * Raw u64 values as u32 halves: value i is (values[2i], values[2i + 1]) =
   * (lo, hi). Only the first 2 * layout.names.length entries are meaningful.
   * Reused by the source; see src/sampling/u64.ts for exact arithmetic.
   */
  values: Uint32Array;
  /**
   * The interface's own packet and byte counters at this read, in
   * TRAFFIC_NAMES order (src/sampling/context.ts); NaN where not known (a
   * failed read, a trace without them). Above 2^53 they lose exactness,
   * which no rate notices. Reused by the source.
   */
  traffic: Float64Array;
}

/** A fresh traffic array with nothing known, for a source's reused view. */
export function unknownTraffic(): Float64Array {
  return new Float64Array(TRAFFIC_NAMES.length).fill(Number.NaN);
}

/** Per-tick facts from the native sampler's own clock. */
export interface TickStats {
  /** The tick's deadline on CLOCK_MONOTONIC, ns: always on the grid start + k × interval. */
  deadlineNs: number;
  /** How late the tick started after its deadline, ns. */
  latenessNs: number;
  /** Deadlines skipped (not queued) since the previous tick. */
  missed: number;
  /** Devices read in this tick (fewer than all while some are backed off). */
  devices: number;
}

export interface SampleSink {
  /** One per device per tick, successful or failed. */
  sample(s: Readonly<Sample>): void;
  /** The node's counters, once per tick before that tick's samples (a reused view). */
  context?(c: Readonly<NodeContext>): void;
  /** The pods' host-side veths, every second or so (a snapshot the sink may keep). */
  links?(l: Readonly<LinkSnapshot>): void;
  /** A device started being sampled (discovery or first line in a trace). */
  deviceAdded?(info: DeviceInfo, timeMs: number): void;
  /** A device is no longer sampled: removed from the host or deselected. */
  deviceRemoved?(device: string, timeMs: number): void;
  /** Native sampler only: cadence facts for one tick. */
  tick?(t: Readonly<TickStats>): void;
  /** Native sampler only: a device's effective interval changed (back-off or recovery). */
  deviceInterval?(device: string, intervalMs: number, reason: string, timeMs: number): void;
}

/**
 * A source of samples. `run` delivers to the sink until the input ends
 * (replay) or `stop()` is called, then resolves. Errors that make the source
 * unusable as a whole reject `run`; per-device failures arrive as samples
 * with `error` set, never as rejections.
 */
export interface StatsSource {
  run(sink: SampleSink): Promise<void>;
  stop(): void;
}

/** The values of a sample as exact decimal strings or numbers (for traces and tests; allocates). */
export function sampleValue(s: Readonly<Sample>, i: number): number | bigint {
  const lo = s.values[2 * i]!;
  const hi = s.values[2 * i + 1]!;
  return hi <= 0x1fffff ? hi * 4294967296 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}
