// Context: what the node and each interface were doing, read in the same
// tick as the allowance counters, so a burst can be set against the traffic
// around it. This module is the one definition of which kernel counters
// those are and what ethburst calls them; the native sampler is told the
// files and fields at start-up and knows no names.
//
// Everything here is a plain file any process in the host network
// namespace may read (hostNetwork, no capability): /proc/net/snmp is the
// node's IP, UDP and TCP MIB, /proc/sys/net/netfilter the kernel's own
// connection tracking (present only where nf_conntrack is loaded), and
// /sys/class/net/DEV/statistics an interface's packet and byte counters.

/** A node counter and where the kernel publishes it. */
export interface NodeCounterDef {
  /** ethburst's name: in traces, the API, and `ethburst_node_<name>` metrics. */
  readonly name: string;
  readonly path: string;
  /** Section of a "Section: names" / "Section: values" line pair; '' for a file holding one number. */
  readonly section: string;
  readonly field: string;
  readonly type: 'counter' | 'gauge';
  /** What it counts, for HELP texts and the runbook. */
  readonly help: string;
}

const SNMP = '/proc/net/snmp';
const NF = '/proc/sys/net/netfilter/';

export const NODE_COUNTERS: readonly NodeCounterDef[] = [
  { name: 'ip_frag_creates', path: SNMP, section: 'Ip', field: 'FragCreates', type: 'counter', help: 'IP fragments this node created (Ip FragCreates)' },
  { name: 'ip_frag_fails', path: SNMP, section: 'Ip', field: 'FragFails', type: 'counter', help: 'IP datagrams that needed fragmenting and could not be (Ip FragFails)' },
  { name: 'ip_reasm_reqds', path: SNMP, section: 'Ip', field: 'ReasmReqds', type: 'counter', help: 'IP fragments received for reassembly (Ip ReasmReqds)' },
  { name: 'ip_reasm_fails', path: SNMP, section: 'Ip', field: 'ReasmFails', type: 'counter', help: 'IP reassembly failures (Ip ReasmFails)' },
  { name: 'udp_in_datagrams', path: SNMP, section: 'Udp', field: 'InDatagrams', type: 'counter', help: 'UDP datagrams delivered to sockets (Udp InDatagrams)' },
  { name: 'udp_out_datagrams', path: SNMP, section: 'Udp', field: 'OutDatagrams', type: 'counter', help: 'UDP datagrams sent (Udp OutDatagrams)' },
  { name: 'udp_no_ports', path: SNMP, section: 'Udp', field: 'NoPorts', type: 'counter', help: 'UDP datagrams to a port nothing listened on (Udp NoPorts)' },
  { name: 'udp_rcvbuf_errors', path: SNMP, section: 'Udp', field: 'RcvbufErrors', type: 'counter', help: 'UDP datagrams dropped on a full socket receive buffer (Udp RcvbufErrors)' },
  { name: 'udp_sndbuf_errors', path: SNMP, section: 'Udp', field: 'SndbufErrors', type: 'counter', help: 'UDP datagrams dropped on a full socket send buffer (Udp SndbufErrors)' },
  { name: 'tcp_active_opens', path: SNMP, section: 'Tcp', field: 'ActiveOpens', type: 'counter', help: 'TCP connections this node opened (Tcp ActiveOpens)' },
  { name: 'tcp_passive_opens', path: SNMP, section: 'Tcp', field: 'PassiveOpens', type: 'counter', help: 'TCP connections this node accepted (Tcp PassiveOpens)' },
  { name: 'tcp_retrans_segs', path: SNMP, section: 'Tcp', field: 'RetransSegs', type: 'counter', help: 'TCP segments retransmitted (Tcp RetransSegs)' },
  { name: 'nf_conntrack_count', path: `${NF}nf_conntrack_count`, section: '', field: '', type: 'gauge', help: "Connections in the node's own conntrack table (nf_conntrack_count)" },
  { name: 'nf_conntrack_max', path: `${NF}nf_conntrack_max`, section: '', field: '', type: 'gauge', help: "Size of the node's own conntrack table (nf_conntrack_max)" },
];

export const NODE_COUNTER_NAMES: readonly string[] = NODE_COUNTERS.map((c) => c.name);

/**
 * An interface's traffic, in the order of a sample's `traffic` (and of the
 * ring's traffic words): the files of /sys/class/net/DEV/statistics.
 */
export const TRAFFIC_NAMES = ['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'] as const;
export type TrafficName = (typeof TRAFFIC_NAMES)[number];

/** The node's counters at one tick, as a source delivers them (a reused view, like Sample). */
export interface NodeContext {
  /** Wall-clock time of the read, unix epoch ms. */
  timeMs: number;
  /** Names of `values`: NODE_COUNTER_NAMES, or a trace's own. */
  names: readonly string[];
  /** One per name; NaN where the kernel did not say (no nf_conntrack, an older trace). */
  values: Float64Array;
}
