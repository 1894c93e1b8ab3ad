// Which pods moved the packets during a burst: the host-side veths'
// counters at two moments (one at or before the burst's start, one at or
// after its end), ranked by packets and then bytes, each with its share of
// the device's packets over the same interval. Pure arithmetic on
// snapshots, so live and replayed bursts rank the same.

/** The pod veths' counters at one moment. */
export interface LinkSnapshot {
  timeMs: number;
  /** Host-side veth names. */
  names: readonly string[];
  /** 4 per name, in TRAFFIC_NAMES order: rx_packets, tx_packets, rx_bytes, tx_bytes. */
  values: Float64Array;
  /** The pod addresses routed to each name (its host routes), in the order of `names`. */
  ips: readonly (readonly string[])[];
  /** The pod behind each name as namespace/name, null where not known (no Kubernetes API, or no pod has the address). */
  pods?: readonly (string | null)[];
}

export interface TopPod {
  veth: string;
  ips: string[];
  /** namespace/name, when the Kubernetes API named the pod at the time. */
  pod: string | null;
  /** Packets both ways through the veth between the two snapshots. */
  packets: number;
  bytes: number;
  /**
   * packets / the device's packets over the same interval (null when those are not known or 0).
   * Above 1 when the pod's traffic stayed on the node (to another pod) instead of crossing the device.
   */
  share: number | null;
}

/** A snapshot as the aggregation keeps it: with each device's packets (rx + tx) at that moment, from its newest sample. */
export interface LinkMoment {
  readonly snap: LinkSnapshot;
  readonly devicePackets: ReadonlyMap<string, number>;
  /** The time of the sample each device's packets are from (NaN: none yet): where a capture puts the snapshot so a replay sees the same. */
  readonly deviceTimes: ReadonlyMap<string, number>;
}

/** A pod as one line says it: its name (else its veth), address and share ("shop/web-7d9f8 10.1.0.10 42%"). */
export function topPodText(p: Readonly<TopPod>): string {
  return `${p.pod ?? p.veth}${p.ips.length ? ` ${p.ips[0]}` : ''}${p.share === null ? '' : ` ${Math.round(p.share * 100)}%`}`;
}

/** Talkers listed per burst. */
export const TOP_PODS = 5;

/**
 * The veths that moved packets between `before` and `after`, most first (ties:
 * more bytes first, then by name), at most `n`. A veth in only one of them
 * (a pod that came or went) or whose counters went down (re-created under
 * the same name) is left out: its traffic over the interval is not known.
 */
export function topTalkers(before: LinkSnapshot, after: LinkSnapshot, devicePackets: number, n = TOP_PODS): TopPod[] {
  const index = new Map<string, number>();
  for (let i = 0; i < before.names.length; i++) index.set(before.names[i]!, i);
  const out: TopPod[] = [];
  for (let j = 0; j < after.names.length; j++) {
    const i = index.get(after.names[j]!);
    if (i === undefined) continue;
    const d = (k: number): number => after.values[4 * j + k]! - before.values[4 * i + k]!;
    const rx = d(0);
    const tx = d(1);
    const rxb = d(2);
    const txb = d(3);
    if (!(rx >= 0 && tx >= 0 && rxb >= 0 && txb >= 0) || rx + tx === 0) continue;
    const packets = rx + tx;
    out.push({
      veth: after.names[j]!,
      ips: [...(after.ips[j] ?? [])],
      // The name at the end, else at the start (a pod deleted during the burst is named by the one before).
      pod: after.pods?.[j] ?? before.pods?.[i] ?? null,
      packets,
      bytes: rxb + txb,
      share: devicePackets > 0 && Number.isFinite(devicePackets) ? packets / devicePackets : null,
    });
  }
  out.sort((x, y) => y.packets - x.packets || y.bytes - x.bytes || (x.veth < y.veth ? -1 : x.veth > y.veth ? 1 : 0));
  return out.slice(0, n);
}
