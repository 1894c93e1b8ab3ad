// The `ethtool -S` names of an ENA interface, in the driver's order, for the
// amzn out-of-tree driver 2.16+ (see /work/shared/notes/ena-driver.md §3).
// Data, not logic: the simulator and a future LD_PRELOAD fake-ENA shim both
// build layouts from these tables, so a driver change is one edit here.
//
// Which names appear depends on device capabilities and on the kernel config
// the driver was compiled against; the options below select them. The
// customer metrics (allowance counters and conntrack gauge) are named in
// stat-policy.ts, with what they mean and how ethburst treats them.

import { CONNTRACK_AVAILABLE, CUSTOMER_METRIC_NAMES } from './stat-policy.js';

/** Global block (2.10.0+ order; 2.11-2.13 additions included). */
export const ENA_GLOBAL_STATS: readonly string[] = [
  'total_resets',
  'reset_fail',
  'tx_timeout',
  'wd_expired',
  'admin_q_pause',
  'bad_tx_req_id',
  'bad_rx_req_id',
  'bad_rx_desc_num',
  'missing_intr',
  'suspected_poll_starvation',
  'missing_tx_cmpl',
  'rx_desc_malformed',
  'tx_desc_malformed',
  'invalid_state',
  'os_netdev_wd',
  'missing_admin_interrupt',
  'admin_to',
  'device_request_reset',
  'missing_first_intr',
  'suspend',
  'resume',
  'interface_down',
  'interface_up',
];

/**
 * Customer metrics in bit order (`enum ena_admin_customer_metrics_id`). The
 * driver prints only the names whose bit the device reports, in this order;
 * the ENI fallback path prints the first five.
 */
export const ENA_CUSTOMER_METRICS: readonly string[] = CUSTOMER_METRIC_NAMES;

/** ENA Express (SRD) block, present when the device has the SRD capability. */
export const ENA_SRD_STATS: readonly string[] = [
  'ena_srd_mode',
  'ena_srd_tx_pkts',
  'ena_srd_eligible_tx_pkts',
  'ena_srd_rx_pkts',
  'ena_srd_resource_utilization',
];

/** Admin queue counters, printed as `ena_admin_q_<name>`. */
export const ENA_ADMIN_Q_STATS: readonly string[] = ['aborted_cmd', 'submitted_cmd', 'completed_cmd', 'out_of_space', 'no_completion'];

/** PTP hardware clock counters, present only while PHC is active. */
export const ENA_PHC_STATS: readonly string[] = ['phc_cnt', 'phc_exp', 'phc_skp', 'phc_err'];

/**
 * 2.16.0 added this after the admin/PHC block (ena-driver.md §3). Its exact
 * position is read from the notes, not from the 2.16 source.
 */
export const ENA_ACTIVE_QUEUES_STAT = 'num_of_active_io_queues';

/** Per TX queue, 2.14+ order: the per-queue-only stats first, then the ones the driver can also accumulate. */
export const ENA_TX_QUEUE_STATS: readonly string[] = [
  'tx_poll',
  'doorbells',
  'unmask_interrupt',
  'cnt',
  'bytes',
  'queue_stop',
  'queue_wakeup',
  'dma_mapping_err',
  'linearize',
  'linearize_failed',
  'napi_comp',
  'prepare_ctx_err',
  'bad_req_id',
  'llq_buffer_copy',
  'missed_tx',
];
/** Appended to each TX queue when the kernel has AF_XDP zero-copy support. */
export const ENA_TX_AF_XDP_STATS: readonly string[] = ['xsk_cnt', 'xsk_bytes', 'xsk_need_wakeup_set', 'xsk_wakeup_request'];
/** Appended after the AF_XDP ones with XDP multi-buffer support. */
export const ENA_TX_XDP_MB_STATS: readonly string[] = ['xdp_frags_exceeded', 'xdp_short_linear_part'];

export const ENA_RX_QUEUE_STATS_HEAD: readonly string[] = [
  'cnt',
  'bytes',
  'rx_copybreak_pkt',
  'csum_good',
  'refil_partial',
  'csum_bad',
  'page_alloc_fail',
  'skb_alloc_fail',
  'dma_mapping_err',
  'bad_desc_num',
];
/** Only on kernels with busy-poll support (old kernels). */
export const ENA_RX_BUSY_POLL_STATS: readonly string[] = ['bp_yield', 'bp_missed', 'bp_cleaned'];
export const ENA_RX_QUEUE_STATS_MID: readonly string[] = ['bad_req_id', 'empty_rx_ring', 'csum_unchecked'];
/** With XDP support (any recent kernel). */
export const ENA_RX_XDP_STATS: readonly string[] = ['xdp_aborted', 'xdp_drop', 'xdp_pass', 'xdp_tx', 'xdp_invalid', 'xdp_redirect'];
export const ENA_RX_LPC_STATS: readonly string[] = ['lpc_warm_up', 'lpc_full', 'lpc_wrong_numa'];
export const ENA_RX_AF_XDP_STATS: readonly string[] = ['xsk_need_wakeup_set', 'zc_queue_pkt_copy'];

/**
 * Gauges: values that go up and down. A decrease is not a reset and an
 * "increase" means nothing; consumers export them as they are.
 */
export const ENA_GAUGE_STATS: ReadonlySet<string> = new Set([
  CONNTRACK_AVAILABLE,
  'ena_srd_mode',
  'ena_srd_resource_utilization',
  ENA_ACTIVE_QUEUES_STAT,
]);

export function isEnaGauge(name: string): boolean {
  return ENA_GAUGE_STATS.has(name);
}

export interface EnaStatOptions {
  /** Per-queue stats for queues 0..queues-1 (2.16+: max_num_io_queues). */
  queues: number;
  /** XDP TX queues after the IO queues (TX stats only, `queue_<i>_xdp_tx_*`). Default 0. */
  xdpQueues?: number;
  /** Customer-metric bits the device reports (bit i = ENA_CUSTOMER_METRICS[i]). Default 0x3f, all six. */
  customerMetricsMask?: number;
  /** SRD capability. Default true. */
  srd?: boolean;
  /** PHC active. Default false. */
  phc?: boolean;
  /** `num_of_active_io_queues` (driver 2.16+). Default true. */
  activeQueuesStat?: boolean;
  /** Kernel config of the build. Defaults: xdp true, afXdp false, xdpMultiBuffer false, busyPoll false. */
  xdp?: boolean;
  afXdp?: boolean;
  xdpMultiBuffer?: boolean;
  busyPoll?: boolean;
}

/** The TX stat suffixes of one queue for the given build options. */
export function enaTxQueueStats(o: Omit<EnaStatOptions, 'queues'> = {}): string[] {
  return [...ENA_TX_QUEUE_STATS, ...(o.afXdp ? ENA_TX_AF_XDP_STATS : []), ...(o.xdpMultiBuffer ? ENA_TX_XDP_MB_STATS : [])];
}

/** The RX stat suffixes of one queue for the given build options. */
export function enaRxQueueStats(o: Omit<EnaStatOptions, 'queues'> = {}): string[] {
  return [
    ...ENA_RX_QUEUE_STATS_HEAD,
    ...(o.busyPoll ? ENA_RX_BUSY_POLL_STATS : []),
    ...ENA_RX_QUEUE_STATS_MID,
    ...((o.xdp ?? true) ? ENA_RX_XDP_STATS : []),
    ...ENA_RX_LPC_STATS,
    ...(o.afXdp ? ENA_RX_AF_XDP_STATS : []),
  ];
}

/** All stat names of one ENA interface, in `ethtool -S` order. */
export function enaStatNames(o: EnaStatOptions): string[] {
  const mask = o.customerMetricsMask ?? 0x3f;
  const names: string[] = [...ENA_GLOBAL_STATS];
  for (let bit = 0; bit < ENA_CUSTOMER_METRICS.length; bit++) {
    if (mask & (1 << bit)) names.push(ENA_CUSTOMER_METRICS[bit]!);
  }
  if (o.srd ?? true) names.push(...ENA_SRD_STATS);
  for (const s of ENA_ADMIN_Q_STATS) names.push(`ena_admin_q_${s}`);
  if (o.phc) names.push(...ENA_PHC_STATS);
  if (o.activeQueuesStat ?? true) names.push(ENA_ACTIVE_QUEUES_STAT);
  const tx = enaTxQueueStats(o);
  const rx = enaRxQueueStats(o);
  const total = o.queues + (o.xdpQueues ?? 0);
  for (let q = 0; q < total; q++) {
    const xdp = q >= o.queues;
    const txPrefix = `queue_${q}_${xdp ? 'xdp_tx' : 'tx'}_`;
    for (const s of tx) names.push(txPrefix + s);
    if (xdp) continue;
    for (const s of rx) names.push(`queue_${q}_rx_${s}`);
  }
  return names;
}
