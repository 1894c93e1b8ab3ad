// What a burst most likely was, and what to change. Derived from the burst,
// the interface's traffic when the drops began, the node's counters during
// the burst and the onsets learned from the earlier bursts of the same
// (device, stat). One function for /api/bursts, the log line, the page and
// `ethburst analyze`, so all of them say the same thing about a burst. The
// facts behind the sentences, with their public sources, are in
// deploy/RUNBOOK.md ("Reading a burst's diagnosis").

/** The short name of a cause, for tables, metrics and filters. */
export type Cause = 'linklocal' | 'fragments' | 'pps' | 'conntrack' | 'bandwidth_in' | 'bandwidth_out' | 'below_onset' | 'other';

export interface Diagnosis {
  readonly cause: Cause;
  /** What happened, in a sentence with the burst's own numbers. */
  readonly summary: string;
  /** What to change. */
  readonly remedy: string;
}

/** Traffic when the drops began: rates over the sampling interval in which the first drops were counted. NaN: not known. */
export interface Onset {
  readonly rxPacketsPerSecond: number;
  readonly txPacketsPerSecond: number;
  readonly rxBitsPerSecond: number;
  readonly txBitsPerSecond: number;
  /** conntrack_allowance_available in the sample before the first drop. */
  readonly conntrackAvailable: number;
}

export interface DiagnosisInput {
  readonly device: string;
  readonly stat: string;
  readonly durationMs: number;
  readonly increase: number;
  readonly onset: Onset;
  /** IP fragments the node created during the burst (NaN: not known). */
  readonly fragmentsCreated: number;
  /** The onset learned from earlier bursts, in the stat's onset measure (NaN before there are enough). */
  readonly learnedOnset: number;
}

/** The per-interface limits AWS documents. */
export const LINKLOCAL_PPS_LIMIT = 1024;
export const FRAGMENT_PPS_LIMIT = 1024;

/**
 * Fragments per second during a pps burst from which it is put down to the
 * fragment limit: half the limit, because the counter is the node's (all
 * interfaces) and the limit the interface's, and because a burst's
 * duration includes its first and last interval.
 */
export const FRAGMENT_RATE_THRESHOLD = FRAGMENT_PPS_LIMIT / 2;

/** Below this share of the learned onset, drops are "far below" where they began before. */
export const BELOW_ONSET_SHARE = 0.5;

/** The traffic measure a stat's onset is learned in. */
export type OnsetMeasure = 'packets_per_second' | 'rx_bits_per_second' | 'tx_bits_per_second' | 'conntrack_available';

export function onsetMeasure(stat: string): OnsetMeasure {
  if (stat === 'bw_in_allowance_exceeded') return 'rx_bits_per_second';
  if (stat === 'bw_out_allowance_exceeded') return 'tx_bits_per_second';
  if (stat === 'conntrack_allowance_exceeded') return 'conntrack_available';
  return 'packets_per_second';
}

/** The onset of a burst in its stat's measure (NaN: not known). */
export function onsetValue(stat: string, o: Onset): number {
  switch (onsetMeasure(stat)) {
    case 'rx_bits_per_second':
      return o.rxBitsPerSecond;
    case 'tx_bits_per_second':
      return o.txBitsPerSecond;
    case 'conntrack_available':
      return o.conntrackAvailable;
    default:
      return o.rxPacketsPerSecond + o.txPacketsPerSecond;
  }
}

const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function rate(perSecond: number, unit: string): string {
  return `${count.format(perSecond)} ${unit}/s`;
}

function bits(perSecond: number): string {
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toPrecision(3)} Gbit/s`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toPrecision(3)} Mbit/s`;
  return `${count.format(perSecond / 1e3)} kbit/s`;
}

function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(1)} s`;
}

/** "at 41,200 packets/s on eth1" or "" when the traffic is not known. */
function atTraffic(i: DiagnosisInput): string {
  const v = onsetValue(i.stat, i.onset);
  if (!Number.isFinite(v)) return '';
  switch (onsetMeasure(i.stat)) {
    case 'rx_bits_per_second':
      return ` when ${i.device} received ${bits(v)}`;
    case 'tx_bits_per_second':
      return ` when ${i.device} sent ${bits(v)}`;
    case 'conntrack_available':
      return ` with ${count.format(v)} tracked connections still available`;
    default:
      return ` at ${rate(v, 'packets')} on ${i.device}`;
  }
}

export function diagnose(i: DiagnosisInput): Diagnosis {
  const dropped = `${count.format(i.increase)} packets dropped in ${seconds(i.durationMs)}`;
  const onset = onsetValue(i.stat, i.onset);
  const learned = i.learnedOnset;
  const below = onsetMeasure(i.stat) !== 'conntrack_available' && Number.isFinite(onset) && Number.isFinite(learned) && learned > 0 && onset < BELOW_ONSET_SHARE * learned;
  switch (i.stat) {
    case 'linklocal_allowance_exceeded':
      return {
        cause: 'linklocal',
        summary: `Link-local traffic (Amazon DNS, IMDS, Time Sync) on ${i.device} went over its ${count.format(LINKLOCAL_PPS_LIMIT)} packets/s limit: ${dropped}. Lost DNS queries show up as timeouts and UnknownHostException.`,
        remedy:
          'Answer DNS on the node (NodeLocal DNSCache), spread CoreDNS replicas over more nodes (one ENI each), cache lookups in the application, and keep pods from polling IMDS; a DNS resolver of your own is not under this limit.',
      };
    case 'pps_allowance_exceeded': {
      const durS = Math.max(i.durationMs, 1) / 1000;
      if (Number.isFinite(i.fragmentsCreated) && i.fragmentsCreated / durS >= FRAGMENT_RATE_THRESHOLD) {
        return {
          cause: 'fragments',
          summary: `Packets dropped while the node created ${rate(i.fragmentsCreated / durS, 'IP fragments')}: outgoing fragments are limited to ${count.format(FRAGMENT_PPS_LIMIT)}/s per interface and count as pps_allowance_exceeded (${dropped}).`,
          remedy:
            'Stop fragmenting: keep datagrams within the path MTU (UDP payloads of DNS, syslog, VXLAN or WireGuard tunnels), or use the same MTU end to end; ENA driver 2.13.3+ lifts the limit with its fragment bypass (enable_frag_bypass).',
        };
      }
      if (below) return belowOnset(i, dropped, onset, learned, 'packets');
      return {
        cause: 'pps',
        summary: `The instance's packets-per-second allowance${atTraffic(i)}: ${dropped}.`,
        remedy:
          'Send fewer, larger packets (batching, GRO/GSO, fewer small UDP messages), spread the traffic over more instances, or use a larger or network-optimised instance type. The allowance is per instance: the traffic of every interface counts.',
      };
    }
    case 'conntrack_allowance_exceeded':
      return {
        cause: 'conntrack',
        summary: `The instance's connection-tracking allowance${atTraffic(i)} before the first drop: new connections were refused (${dropped}).`,
        remedy:
          'Open fewer connections (keep-alive, connection pools), shorten the idle timeouts of tracked connections (EC2 connection tracking timeouts on the ENI), or avoid tracking (security group rules that allow the traffic both ways). Drops begin as conntrack_allowance_available nears 0: alert on it.',
      };
    case 'bw_in_allowance_exceeded':
    case 'bw_out_allowance_exceeded': {
      const dir = i.stat === 'bw_in_allowance_exceeded' ? 'inbound' : 'outbound';
      if (below) return belowOnset(i, dropped, onset, learned, 'bits');
      return {
        cause: i.stat === 'bw_in_allowance_exceeded' ? 'bandwidth_in' : 'bandwidth_out',
        summary: `The instance's ${dir} bandwidth allowance${atTraffic(i)}: ${dropped}.`,
        remedy:
          'Use a larger or network-optimised instance type. Smaller instances get their peak bandwidth from credits: sustained traffic above the baseline spends them and then drops at the baseline. A single flow is limited to 5 Gbit/s (25 with ENA Express) and across placement groups or to the internet.',
      };
    }
    default:
      if (below) return belowOnset(i, dropped, onset, learned, 'packets');
      return { cause: 'other', summary: `${i.stat} rose${atTraffic(i)}: ${count.format(i.increase)} in ${seconds(i.durationMs)}.`, remedy: 'See the driver documentation for this counter.' };
  }
}

function belowOnset(i: DiagnosisInput, dropped: string, onset: number, learned: number, unit: 'packets' | 'bits'): Diagnosis {
  const fmt = (v: number): string => (unit === 'bits' ? bits(v) : rate(v, 'packets'));
  return {
    cause: 'below_onset',
    summary: `Drops at ${fmt(onset)} on ${i.device}, under half of the ${fmt(learned)} where earlier bursts began (${dropped}).`,
    remedy:
      'This interface alone did not reach the limit. The pps and bandwidth allowances are per instance: look at the other interfaces of the instance at this time, and at microbursts shorter than the sampling interval.',
  };
}
