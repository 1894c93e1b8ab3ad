// What every metric family is built from: the device registry it reads at
// scrape time (and follows per event, for histograms), and serve's options.

import type { DeviceRecord, DeviceRegistry } from '../../state/device-registry.js';
import type { Labels } from './collected.js';
import type { CaptureDirStats } from './recorder.js';
import type { KubernetesStats } from './kubernetes.js';
import type { EmfSinkStats } from '../cloudwatch/emf-sink.js';

export interface MetricsOptions {
  /** Which raw stats get ethtool_<stat>(_total) series. */
  readonly exportStat: (stat: string) => boolean;
  readonly compatShowmax: boolean;
  readonly version: string;
  /** Wall clock, for windows read at scrape time when no sample has come yet. */
  readonly now?: () => number;
  /** `--capture-dir`, when given. */
  readonly captureDir?: CaptureDirStats | null;
  /** The node's name (`--node-name`: NODE_NAME in a pod, else the host name), on ethtool_info. */
  readonly nodeName?: string;
  /** The pod directory and Node events, where they run. */
  readonly kubernetes?: KubernetesStats;
  /** `--emf`'s sink, when given. */
  readonly emf?: (() => EmfSinkStats) | null;
}

export interface MetricsContext {
  readonly registry: DeviceRegistry;
  readonly opts: MetricsOptions;
}

/** Emits once per device sampled now: `fn(device record, device name)`. */
export function eachDevice(registry: DeviceRegistry, fn: (d: DeviceRecord, device: string) => void): void {
  for (const d of registry.list()) fn(d, d.info.name);
}

/** Emits once per tracked stat of every device sampled now. */
export function eachStat(registry: DeviceRegistry, emit: (labels: Labels, device: DeviceRecord, stat: string) => void): void {
  for (const d of registry.list()) for (const stat of d.stats.keys()) emit({ device: d.info.name, stat }, d, stat);
}
