// How a driver's stat name becomes a Prometheus metric: `ethtool_<stat>_total`
// for counters, `ethtool_<stat>` for known gauges, and per-queue stats with
// the queue number moved into a `queue` label under an `ethtool_queue_`
// prefix, so `rx0_drops{queue="0"}` can never be summed together with the
// device-level `rx_drops` by accident.

import { isEnaGauge } from '../aggregation/ena-stats.js';

export interface StatMetric {
  /** Full metric name, e.g. "ethtool_pps_allowance_exceeded_total". */
  readonly metric: string;
  /** Queue number for per-queue stats, else null. */
  readonly queue: string | null;
  readonly type: 'counter' | 'gauge';
}

// Per-queue naming across drivers: ENA `queue_3_tx_cnt`, veth and many
// Intel drivers `rx_queue_0_drops`, virtio and mlx5 `rx0_drops`, i40e
// `tx-0.tx_packets`.
const QUEUE_PATTERNS: readonly [RegExp, (m: RegExpExecArray) => [string, string]][] = [
  [/^queue_(\d+)_(.+)$/, (m) => [m[1]!, m[2]!]],
  [/^(rx|tx)_queue_(\d+)_(.+)$/, (m) => [m[2]!, `${m[1]}_${m[3]}`]],
  [/^(rx|tx)(\d+)_(.+)$/, (m) => [m[2]!, `${m[1]}_${m[3]}`]],
  [/^(rx|tx)-(\d+)\.(.+)$/, (m) => [m[2]!, m[3]!.startsWith(`${m[1]}_`) ? m[3]! : `${m[1]}_${m[3]}`]],
];

// Gauges outside ENA's own list: veth reports its peer's ifindex.
const OTHER_GAUGES: ReadonlySet<string> = new Set(['peer_ifindex']);

export function isGaugeStat(stat: string): boolean {
  return isEnaGauge(stat) || OTHER_GAUGES.has(stat);
}

function sanitize(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '');
}

const cache = new Map<string, StatMetric>();

export function statMetric(stat: string): StatMetric {
  const hit = cache.get(stat);
  if (hit) return hit;
  let queue: string | null = null;
  let base = stat;
  for (const [re, pick] of QUEUE_PATTERNS) {
    const m = re.exec(stat);
    if (m) {
      [queue, base] = pick(m);
      break;
    }
  }
  const type = isGaugeStat(stat) || isGaugeStat(base) ? 'gauge' : 'counter';
  const name = `ethtool_${queue === null ? '' : 'queue_'}${sanitize(base) || 'unnamed'}`;
  const result: StatMetric = { metric: type === 'counter' ? `${name}_total` : name, queue, type };
  cache.set(stat, result);
  return result;
}
