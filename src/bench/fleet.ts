// Measurement 8: the fleet on paper. What one node sends to a metrics
// backend (series, samples per second) with 1, 3 and 8 ENIs, counted from
// ethburst's own exposition of simulated ENA devices after bursts on every
// allowance (the worst steady case: every family present), as Prometheus
// stores it from the text format and from the protobuf format with native
// histograms; next to node_exporter's ethtool collector, counted from the
// stats an ENA device and a pod veth report (it exports one series per stat
// per device, plus node_ethtool_info). Monthly samples are series ÷ scrape
// interval × 30 days × nodes: the unit Amazon Managed Service for
// Prometheus meters.

import { exportedStatMatcher, trackedStatMatcher } from '../aggregation/stat-policy.js';
import { enaStatNames } from '../aggregation/ena-stats.js';
import { Exporter } from '../export/exporter.js';
import { PROTOBUF_CONTENT_TYPE, decodeFamilies } from '../export/metrics/protobuf.js';
import { IOCTL_BUCKETS } from '../export/metrics/reads.js';
import { silentLogger } from '../log.js';
import { SimulateSource } from '../sources/simulate.js';
import { DeviceRegistry } from '../state/device-registry.js';
import { countSeries, seriesPerDeviceMax } from './scrape.js';

export const FLEET_ENIS = [1, 3, 8] as const;
export const FLEET_INTERVALS_S = [15, 30, 60] as const;
export const FLEET_NODES = [100, 1000] as const;
const MONTH_S = 30 * 86_400;
/** ENA queues per ENI (an 8-vCPU instance's default). */
export const FLEET_QUEUES = 8;

export interface FleetRow {
  /** Who exports, as the table says it. */
  what: string;
  enis: number;
  /** Series per node. */
  series: number;
}

export interface FleetResult {
  status: 'ok';
  pods: number;
  vethStats: number;
  enaStats: number;
  /** The most series one ENA device has in the text format: bursts on every allowance, onsets learned, its error codes and the ioctl histogram. */
  seriesPerDeviceMax: number;
  rows: FleetRow[];
}

/** Series a Prometheus stores from one protobuf scrape: one per native histogram, buckets + _sum + _count per classic one. */
function protobufSeries(body: Uint8Array): number {
  let n = 0;
  for (const f of decodeFamilies(body) as { metric?: { histogram?: { zeroThreshold?: number; bucket?: unknown[] }; summary?: { quantile?: unknown[] } }[] }[]) {
    for (const m of f.metric ?? []) {
      if (m.histogram) n += m.histogram.zeroThreshold !== undefined ? 1 : (m.histogram.bucket?.length ?? 0) + 3;
      else if (m.summary) n += (m.summary.quantile?.length ?? 0) + 2;
      else n++;
    }
  }
  return n;
}

/** ethburst's series for a node with `enis` ENA devices: [text, native, the most one device has in the text format]. */
async function ethburstSeries(enis: number): Promise<[number, number, number]> {
  const registry = new DeviceRegistry({ intervalMs: 100, burstGapMs: 2000, trackedStat: trackedStatMatcher() });
  const e = new Exporter(registry, { exportStat: exportedStatMatcher(), compatShowmax: false, log: silentLogger, version: 'bench', defaultMetrics: true });
  // Ten simulated minutes: bursts on every allowance of every device.
  await new SimulateSource({ devices: enis, queues: FLEET_QUEUES, durationMs: 600_000, seed: 16 }).run(registry);
  const [, text] = await e.renderText(undefined);
  const ioctl = IOCTL_BUCKETS.length + 3;
  const [, body] = await e.render(PROTOBUF_CONTENT_TYPE);
  // A simulated device makes no ioctl: a real ENA device adds the ioctl histogram (its buckets, +Inf, _sum, _count; 1 native series).
  return [countSeries(text) + ioctl * enis, protobufSeries(body as Buffer) + enis, seriesPerDeviceMax(text) + ioctl];
}

export async function measureFleet(opts: { pods: number; vethStats: number }): Promise<FleetResult> {
  const enaStats = enaStatNames({ queues: FLEET_QUEUES }).length;
  const rows: FleetRow[] = [];
  let seriesPerDeviceMax = 0;
  for (const enis of FLEET_ENIS) {
    const [text, native, perDevice] = await ethburstSeries(enis);
    seriesPerDeviceMax = Math.max(seriesPerDeviceMax, perDevice);
    rows.push({ what: 'ethburst, text format', enis, series: text });
    rows.push({ what: 'ethburst, native histograms', enis, series: native });
    // node_exporter: one series per stat per device, plus node_ethtool_info; its link metrics not counted.
    rows.push({ what: `node_exporter ethtool, defaults (every device, ${opts.pods} pod veths)`, enis, series: enis * (enaStats + 1) + opts.pods * (opts.vethStats + 1) });
    rows.push({ what: 'node_exporter ethtool, EKS guide flags (ENIs, every stat)', enis, series: enis * (enaStats + 1) });
  }
  return { status: 'ok', pods: opts.pods, vethStats: opts.vethStats, enaStats, seriesPerDeviceMax, rows };
}

/** Samples per second and per 30-day month for `nodes` nodes, at one scrape interval. */
export function ingestion(series: number, intervalS: number, nodes = 1): { perSecond: number; perMonth: number } {
  const perSecond = (series / intervalS) * nodes;
  return { perSecond, perMonth: perSecond * MONTH_S };
}
