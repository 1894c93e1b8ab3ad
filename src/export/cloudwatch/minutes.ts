// The per-second view of each device's minutes, for the EMF minute record:
// follows the aggregation's completed seconds (the same SecondEvents that
// feed ethtool_drop_seconds_total and ethtool_second_increase, so a minute
// record says what /metrics says) and hands over a device's minute once a
// second of the next minute completes. Allocation-free per second: each
// stat keeps one array of at most 60 numbers, reused.

import type { RegistryListener } from '../../state/device-registry.js';
import type { SecondEvent } from '../../aggregation/aggregator.js';
import { ALLOWANCE_STATS, type AllowanceStat } from '../../aggregation/stat-policy.js';
import type { DeviceMinute, StatMinute } from './emf.js';

/** Position of each allowance stat: a device's stats are kept, and reported, in ALLOWANCE_STATS order. */
const ALLOWANCE_INDEX = new Map<string, number>(ALLOWANCE_STATS.map((s, i) => [s, i]));

class StatSeconds implements StatMinute {
  /** The increase of each second of the minute in which the stat rose. */
  readonly seconds: number[] = [];
  /** Seconds of the minute accounted for (zeros included). */
  counted = 0;
  constructor(readonly stat: AllowanceStat) {}
}

class DeviceSeconds {
  /** Unix second the minute being gathered starts at; NaN before the first. */
  minute = Number.NaN;
  /** By ALLOWANCE_STATS position; undefined until the stat's first second. */
  readonly stats: (StatSeconds | undefined)[] = new Array<StatSeconds | undefined>(ALLOWANCE_STATS.length);
  constructor(readonly device: string) {}
}

export interface MinuteViewsOptions {
  /** A finished minute of a device (its arrays are reused afterwards: copy what you keep). */
  readonly onMinute: (m: Readonly<DeviceMinute>) => void;
  /** conntrack_allowance_available of the device now, or null when it has none. */
  readonly conntrack: (device: string) => number | null;
}

export class MinuteViews implements RegistryListener {
  private readonly devices = new Map<string, DeviceSeconds>();

  constructor(private readonly opts: MinuteViewsOptions) {}

  onSecond(e: Readonly<SecondEvent>): void {
    const at = ALLOWANCE_INDEX.get(e.stat);
    if (at === undefined) return;
    let d = this.devices.get(e.device);
    if (!d) this.devices.set(e.device, (d = new DeviceSeconds(e.device)));
    const minute = e.second - (e.second % 60);
    if (d.minute !== d.minute) d.minute = minute;
    else if (minute > d.minute) {
      // Every stat of a device completes its seconds in the same tick, so the
      // first second of a new minute means the previous one is whole.
      this.emit(d);
      d.minute = minute;
    } else if (minute < d.minute) return;
    let s = d.stats[at];
    if (!s) d.stats[at] = s = new StatSeconds(e.stat as AllowanceStat);
    s.counted++;
    if (e.increase > 0) s.seconds.push(e.increase);
  }

  onDeviceRemoved(device: string): void {
    const d = this.devices.get(device);
    if (!d) return;
    this.emit(d);
    this.devices.delete(device);
  }

  /** Shutdown or end of input (after the registry finished, so the last seconds are in): the partial minutes go out. */
  finish(): void {
    for (const d of this.devices.values()) this.emit(d);
    this.devices.clear();
  }

  private emit(d: DeviceSeconds): void {
    if (d.minute !== d.minute) return;
    let sampled = 0;
    const stats: StatSeconds[] = [];
    for (const s of d.stats) {
      if (!s) continue;
      if (s.counted > sampled) sampled = s.counted;
      stats.push(s);
    }
    if (sampled > 0) {
      this.opts.onMinute({ device: d.device, startMs: d.minute * 1000, sampledSeconds: sampled, stats, conntrackAvailable: this.opts.conntrack(d.device) });
    }
    for (const s of stats) {
      s.seconds.length = 0;
      s.counted = 0;
    }
    d.minute = Number.NaN;
  }
}
