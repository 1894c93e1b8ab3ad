// Stat policy: the one place that says which stats ethburst cares about and
// what they mean. The ENA allowance counters and the conntrack gauge are
// named here once, in the driver's customer-metric bit order (which is also
// the order every view shows them in), with the HELP text of their metrics;
// here too are the rules for which stats are tracked (increases, bursts,
// windows) and which are exported. The driver catalogue (ena-stats.ts), the
// aggregation, the exporter, the rules writer and the live page (through
// /api/devices) all take these facts from this module.

/**
 * ENA customer metrics (`enum ena_admin_customer_metrics_id`, bit order),
 * with AWS's description of each; the HELP text of their metrics.
 */
const CUSTOMER_METRICS = [
  ['bw_in_allowance_exceeded', 'Packets queued or dropped because inbound aggregate bandwidth exceeded the instance maximum'],
  ['bw_out_allowance_exceeded', 'Packets queued or dropped because outbound aggregate bandwidth exceeded the instance maximum'],
  ['pps_allowance_exceeded', 'Packets queued or dropped because bidirectional packets per second exceeded the instance maximum'],
  ['conntrack_allowance_exceeded', 'Packets dropped because connection tracking exceeded the instance maximum and new connections could not be established'],
  ['linklocal_allowance_exceeded', 'Packets dropped because traffic to link-local services (Amazon DNS, IMDS, Time Sync) exceeded the per-interface PPS maximum'],
  ['conntrack_allowance_available', 'Tracked connections that can still be established before the instance reaches its Connections Tracked allowance'],
] as const;

/** The suffix of every allowance drop counter, of any driver. */
const ALLOWANCE_SUFFIX = '_allowance_exceeded';

type CustomerMetric = (typeof CUSTOMER_METRICS)[number][0];
/** One of the five allowance drop counters. */
export type AllowanceStat = Extract<CustomerMetric, `${string}${typeof ALLOWANCE_SUFFIX}`>;

/** All six customer metrics by name, in bit order (the driver prints them in this order). */
export const CUSTOMER_METRIC_NAMES: readonly CustomerMetric[] = CUSTOMER_METRICS.map(([name]) => name);
/** `*_allowance_exceeded`: the stats tracked by default, whatever the driver. */
export const ALLOWANCE_EXCEEDED = new RegExp(`${ALLOWANCE_SUFFIX}$`);

/** The five ENA allowance drop counters, in display order (the driver's bit order). */
export const ALLOWANCE_STATS: readonly AllowanceStat[] = CUSTOMER_METRIC_NAMES.filter((s): s is AllowanceStat => ALLOWANCE_EXCEEDED.test(s));

/**
 * The conntrack gauge: tracked connections the instance can still
 * establish. Exported by default; its zero gives a failed read away.
 */
export const CONNTRACK_AVAILABLE = CUSTOMER_METRIC_NAMES.find((s): s is Exclude<CustomerMetric, AllowanceStat> => !ALLOWANCE_EXCEEDED.test(s))!;

/** HELP texts of the customer-metric metrics, by stat name. */
export const ALLOWANCE_HELP: Readonly<Record<string, string>> = Object.fromEntries(CUSTOMER_METRICS);

/** A stat as views label it: an allowance counter without its `_allowance_exceeded`. */
export function shortStatName(stat: string): string {
  return stat.endsWith(ALLOWANCE_SUFFIX) ? stat.slice(0, -ALLOWANCE_SUFFIX.length) : stat;
}

/** Where a stat sorts in views: the allowance counters first, in ALLOWANCE_STATS order, then the rest (rank ALLOWANCE_STATS.length). */
export function statRank(stat: string): number {
  const i = (ALLOWANCE_STATS as readonly string[]).indexOf(stat);
  return i < 0 ? ALLOWANCE_STATS.length : i;
}

/** The default tracked-stat rule plus `--burst-stat` patterns. */
export function trackedStatMatcher(extra: readonly RegExp[] = []): (name: string) => boolean {
  return (name) => ALLOWANCE_EXCEEDED.test(name) || extra.some((re) => re.test(name));
}

/** The stat patterns of `serve`'s flags. */
export interface StatPatterns {
  /** `--burst-stat`: tracked besides the allowance counters (and so exported). */
  readonly burstStats?: readonly RegExp[];
  /** `--stat-include`: exported besides the default set. */
  readonly include?: readonly RegExp[];
  /** `--stat-exclude`: never exported, whatever else matches. */
  readonly exclude?: readonly RegExp[];
}

/**
 * Which stats become metrics: the allowance counters, the conntrack gauge,
 * every tracked stat and `--stat-include` matches, less `--stat-exclude`
 * matches.
 */
export function exportedStatMatcher(p: StatPatterns = {}): (name: string) => boolean {
  const tracked = trackedStatMatcher(p.burstStats);
  const include = p.include ?? [];
  const exclude = p.exclude ?? [];
  return (name) => (tracked(name) || name === CONNTRACK_AVAILABLE || include.some((re) => re.test(name))) && !exclude.some((re) => re.test(name));
}

/** The policy as /api/devices tells it to the page. */
export interface StatPolicyView {
  /** The allowance counters, in display order. */
  readonly allowanceStats: readonly string[];
  /** Display labels of stats that have a shorter one. */
  readonly shortNames: Readonly<Record<string, string>>;
  /** The conntrack gauge's stat name. */
  readonly gaugeStat: string;
  /** Sources of the tracked-stat patterns: the default one, then `--burst-stat`'s. */
  readonly tracked: readonly string[];
}

export function statPolicyView(burstStats: readonly RegExp[] = []): StatPolicyView {
  return {
    allowanceStats: ALLOWANCE_STATS,
    shortNames: Object.fromEntries(ALLOWANCE_STATS.map((s) => [s, shortStatName(s)])),
    gaugeStat: CONNTRACK_AVAILABLE,
    tracked: [ALLOWANCE_EXCEEDED.source, ...burstStats.map((re) => re.source)],
  };
}
