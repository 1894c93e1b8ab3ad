// A finished burst as JSON: what /api/bursts serves, the page and watch
// show, and `ethburst analyze --format json` prints. Built in one place
// from the aggregation's burst event, so live and offline say the same.

import type { BurstEvent, CountedBurst } from './aggregator.js';
import type { Diagnosis, OnsetMeasure } from './diagnosis.js';
import { NODE_COUNTERS } from '../sampling/context.js';

/** The burst itself: what was counted. */
export interface BurstBasics {
  /** Live only: the burst's number, stable for the life of the process (its capture is /api/bursts/{id}/trace). */
  id?: number;
  device: string;
  stat: string;
  start_ms: number;
  end_ms: number;
  duration_ms: number;
  increase: number;
  peak_rate_per_second: number;
}

/** A finished burst with what was going on around it. */
export interface BurstRecord extends BurstBasics {
  /** The interface's traffic in the interval the first drops were counted in, and the conntrack gauge just before (null: not known). */
  onset: {
    rx_packets_per_second: number | null;
    tx_packets_per_second: number | null;
    rx_bits_per_second: number | null;
    tx_bits_per_second: number | null;
    conntrack_available: number | null;
  };
  /** Where earlier bursts of this (device, stat) began: the median of their onsets, in `measure` (null until there are 3). */
  learned_onset: { measure: OnsetMeasure; value: number | null; bursts: number };
  /** How much the node's counters (not its gauges) rose during the burst (only those the kernel gave). */
  node_increase: Record<string, number>;
  diagnosis: Diagnosis;
  /** The pods that moved the most packets over the burst (null: no pod veths in the source). */
  top_pods: { veth: string; ips: string[]; pod: string | null; packets: number; bytes: number; share: number | null }[] | null;
}

const NODE_GAUGES = new Set(NODE_COUNTERS.filter((c) => c.type === 'gauge').map((c) => c.name));

/** To 0.1, or null when not known (Math.round, not toFixed: this runs a few times per burst and toFixed is slow). */
const known = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

/** What a burst counted, in the documented order. */
export function burstBasics(e: Readonly<CountedBurst>): BurstBasics {
  return { device: e.device, stat: e.stat, start_ms: e.startMs, end_ms: e.endMs, duration_ms: e.durationMs, increase: e.increase, peak_rate_per_second: e.peakRatePerSecond };
}

/** The burst as JSON; live, with its `id` first (undefined offline, which JSON leaves out). */
export function burstRecord(e: Readonly<BurstEvent>, id?: number): BurstRecord {
  const node: Record<string, number> = {};
  for (let i = 0; i < e.nodeNames.length; i++) {
    const v = e.nodeIncrease[i]!;
    const name = e.nodeNames[i]!;
    // Gauges (the conntrack table's fill) do not "rise during" a burst in a sense worth a number here.
    if (Number.isFinite(v) && !NODE_GAUGES.has(name)) node[name] = v;
  }
  // One literal of one shape, no spreads: this runs for every burst.
  return {
    id,
    device: e.device,
    stat: e.stat,
    start_ms: e.startMs,
    end_ms: e.endMs,
    duration_ms: e.durationMs,
    increase: e.increase,
    peak_rate_per_second: e.peakRatePerSecond,
    onset: {
      rx_packets_per_second: known(e.onset.rxPacketsPerSecond),
      tx_packets_per_second: known(e.onset.txPacketsPerSecond),
      rx_bits_per_second: known(e.onset.rxBitsPerSecond),
      tx_bits_per_second: known(e.onset.txBitsPerSecond),
      conntrack_available: known(e.onset.conntrackAvailable),
    },
    learned_onset: { measure: e.learnedOnsetMeasure, value: known(e.learnedOnset), bursts: e.learnedOnsetBursts },
    node_increase: node,
    diagnosis: e.diagnosis,
    top_pods: e.topPods === null ? null : e.topPods.map((p) => ({ veth: p.veth, ips: p.ips, pod: p.pod, packets: p.packets, bytes: p.bytes, share: p.share === null ? null : Math.round(p.share * 1000) / 1000 })),
  };
}
