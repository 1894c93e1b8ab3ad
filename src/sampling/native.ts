// The native boundary, typed in one place. Nothing else loads the .node
// file, so most tests run against the fake in test/ without it.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import type { RingLayout } from './ring.js';

/** What `probe` finds out about a device (GDRVINFO + GSSET_INFO). */
export interface NativeProbe {
  /** 0, or the positive errno of the failing call. */
  errno: number;
  /** The call that failed: 'ETHTOOL_GDRVINFO', 'ETHTOOL_GSSET_INFO' or 'socket'. */
  op: string;
  driver: string;
  driverVersion: string;
  firmwareVersion: string;
  busInfo: string;
  nStats: number;
}

export interface NativeBenchResult {
  errno: number;
  calls: number;
  totalNs: number;
  minNs: number;
  maxNs: number;
  nStats: number;
}

/** The sampler thread. See native/sampler.h and native/ring.h; everything it reads arrives in the ring. */
export interface NativeSampler {
  /** 0, or the errno that kept the thread from starting. */
  start(): number;
  /** Stops and joins the thread (waits for an ioctl in flight). */
  stop(): void;
  add(id: number, device: string): void;
  remove(id: number): void;
  revalidate(id: number): void;
  setDeviceInterval(id: number, intervalNs: number): void;
  readonly running: boolean;
}

/** Adaptive back-off of slow or failing devices; see native/sampler.h. */
export interface NativeBackoffOptions {
  enabled?: boolean;
  /** p99 of recent ioctl durations above this backs a device off. Default 20 ms. */
  thresholdNs?: number;
  /** The slowest a backed-off device is sampled. Default 1 s. */
  maxIntervalNs?: number;
  /** Healthy calls in a row before stepping back toward the configured interval. Default 10. */
  recoverAfter?: number;
}

/** What the sampler reads besides GSTATS (src/sampling/context.ts says which). */
export interface NativeContextOptions {
  /** Node counters, read once per tick: a field of a /proc/net/snmp-style table, or a one-number file (section and field ''). */
  node?: readonly { path: string; section: string; field: string }[];
  /** Files of /sys/class/net/DEV/statistics, one per traffic value of a sample. */
  traffic?: readonly string[];
}

export interface NativeAddon {
  /** native/ring.h's layout: the one definition the reader and the fakes use. */
  readonly ringLayout: RingLayout;
  Sampler: new (ring: Uint32Array, intervalNs: number, backoff?: NativeBackoffOptions, context?: NativeContextOptions) => NativeSampler;
  probe(device: string): Promise<NativeProbe>;
  probeSync(device: string): NativeProbe;
  benchGstats(device: string, iterations: number): NativeBenchResult;
  /**
   * Every interface's counters from one netlink RTM_GETSTATS dump (native/links.h),
   * off the event loop: [ifindex, rx_packets, tx_packets, rx_bytes, tx_bytes] per
   * interface into `out`, as many as fit. Resolves with how many interfaces there
   * were (more than fit: call again with a bigger array), or -errno.
   */
  linkCounters(out: Float64Array): Promise<number>;
}

let addon: NativeAddon | undefined;

/** Path of the built addon (build/Release/ethburst.node at the package root). */
export function addonPath(): string {
  // This file runs from src/sampling/ (vitest) or build/dist/src/sampling/ (compiled).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'build', 'Release', 'ethburst.node');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error("the native addon is not built (run 'npm install' or 'npm run build')");
}

export function loadNative(): NativeAddon {
  addon ??= createRequire(import.meta.url)(addonPath()) as NativeAddon;
  return addon;
}
