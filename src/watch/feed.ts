// What `ethburst watch` draws, whichever way it gets it: from a server's
// JSON API (remote.ts) or from an exporter running in this process
// (local.ts). The view (render.ts) only ever sees a WatchSnapshot.

import type { BurstRecord } from '../state/recent-bursts.js';

/** How far back a row looks: the sparkline, peak rate and seconds with drops. */
export const WATCH_WINDOW_MS = 60_000;

/** The exporter's default --burst-gap; remote feeds cannot ask which one the server uses. */
export const ASSUMED_BURST_GAP_MS = 2000;

export interface WatchSeries {
  readonly device: string;
  readonly stat: string;
  /** [unix ms, per-tick increase], oldest first, covering at least the last WATCH_WINDOW_MS. */
  readonly points: readonly (readonly [number, number])[];
  /** The burst in progress, if any. */
  readonly open: { startMs: number; endMs: number; increase: number } | null;
  /** The newest finished burst, if any is known. */
  readonly lastBurst: BurstRecord | null;
  /** The server's 1 min / 10 min / 1 h windows (/api/windows), when known. */
  readonly windows?: readonly import('../aggregation/window-summary.js').WindowSummary[] | null;
}

export interface WatchDevice {
  readonly name: string;
  readonly driver: string;
  readonly up: boolean;
  readonly lastError: string | null;
  /** Effective interval, when the source says. */
  readonly intervalMs?: number;
  /** Why the device is backed off, or null/undefined when it is not. */
  readonly backoff?: string | null;
  /** How often the device refreshes its counters, when the source knows (/api/devices). */
  readonly counterUpdate?: { readonly resolutionMs: number; readonly note: string | null };
}

export interface WatchSnapshot {
  /** Where the data comes from, for the header. */
  readonly source: string;
  readonly intervalMs: number;
  /** The source's clock (unix ms): what "now" and "ago" are measured against. */
  readonly nowMs: number;
  readonly series: readonly WatchSeries[];
  readonly devices: readonly WatchDevice[];
  /** A problem to show instead of (or above) the rows, e.g. the exporter being unreachable. */
  readonly problem: string | null;
}

export interface Feed {
  /** Brings the snapshot up to date; never rejects (problems go into `problem`). */
  refresh(): Promise<WatchSnapshot>;
  close(): Promise<void>;
}

/** Which devices the user asked to see (--device, --device-include, --device-exclude). */
export interface DeviceFilter {
  readonly devices: readonly string[];
  readonly include: readonly RegExp[];
  readonly exclude: readonly RegExp[];
}

export function deviceMatches(f: DeviceFilter, name: string): boolean {
  if (f.exclude.some((re) => re.test(name))) return false;
  if (f.devices.length === 0 && f.include.length === 0) return true;
  return f.devices.includes(name) || f.include.some((re) => re.test(name));
}
