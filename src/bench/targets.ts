// The issue's targets, as data. The bench compares each measurement with
// its target at run time and prints PASS or MISS next to it; nothing here
// is a result.

export type Verdict = 'PASS' | 'MISS' | 'SKIP';

export interface TargetDef {
  readonly id: string;
  /** What is compared, in the table's words. */
  readonly what: string;
  readonly op: '<=' | '>=' | '==';
  readonly limit: number;
  readonly unit: string;
}

export const TARGETS = {
  costBOverA: { id: 'cost.b_over_a', what: '(b)/(a): full path vs bare ioctl', op: '<=', limit: 3, unit: '×' },
  costCOverB: { id: 'cost.c_over_b', what: '(c)/(b): ethtool -S spawn vs ethburst', op: '>=', limit: 100, unit: '×' },
  serveCpu: { id: 'serve.cpu', what: 'serve CPU at 10 Hz', op: '<=', limit: 1, unit: '% of one core' },
  serveCpuVsNodeExporter: { id: 'serve.cpu_vs_node_exporter', what: 'serve CPU at 10 Hz / node_exporter CPU at 15 s scrapes, same devices', op: '<=', limit: 4, unit: '×' },
  serveIdleCpu: { id: 'serve.idle_cpu', what: 'serve CPU with nothing to sample', op: '<=', limit: 0.05, unit: '% of one core' },
  serveRss: { id: 'serve.rss', what: 'serve RSS', op: '<=', limit: 64, unit: 'MB' },
  serveRssGrowth: { id: 'serve.rss_growth', what: 'serve RSS growth over the window', op: '<=', limit: 1, unit: 'MB' },
  latenessIdle: { id: 'cadence.idle_p99', what: 'tick lateness p99, idle', op: '<=', limit: 2, unit: 'ms' },
  latenessLoad: { id: 'cadence.load_p99', what: 'tick lateness p99, 50 scrapes/s', op: '<=', limit: 5, unit: 'ms' },
  blockedMissed: { id: 'cadence.blocked_missed', what: 'missed ticks, loop blocked 1 s/10 s', op: '==', limit: 0, unit: 'ticks' },
  blockedLost: { id: 'cadence.blocked_lost', what: 'lost samples, loop blocked 1 s/10 s', op: '==', limit: 0, unit: 'samples' },
  scrapeP99: { id: 'scrape.p99_8dev', what: '/metrics p99, 8 devices, defaults', op: '<=', limit: 5, unit: 'ms' },
  scrapeVsNodeExporter: { id: 'scrape.vs_node_exporter', what: '/metrics p50, 8 devices / node_exporter ethtool scrape p50', op: '<=', limit: 0.33, unit: '×' },
  seriesPerDevice: { id: 'series.per_device', what: 'series per ENA device, defaults', op: '<=', limit: 60, unit: 'series' },
  fidelityFound: { id: 'fidelity.found', what: 'scripted bursts not found', op: '==', limit: 0, unit: 'bursts' },
  fidelityIncrease: { id: 'fidelity.increase', what: 'largest burst increase error', op: '==', limit: 0, unit: 'packets' },
  fidelityDuration: { id: 'fidelity.duration', what: 'largest burst duration error', op: '<=', limit: 1, unit: 'intervals' },
} as const satisfies Record<string, TargetDef>;

export interface TargetResult {
  id: string;
  what: string;
  /** e.g. "<= 3 ×". */
  target: string;
  value: number | null;
  unit: string;
  verdict: Verdict;
  /** Why it was skipped, or a qualifier ("over 10 s, the target is over 10 min"). */
  note?: string;
}

export function describeTarget(def: TargetDef): string {
  const op = def.op === '<=' ? '≤' : def.op === '>=' ? '≥' : '=';
  return `${op} ${def.limit}${def.unit === '×' ? '×' : ` ${def.unit}`}`;
}

/** Compares a value with its target; a missing or non-finite value is a SKIP with the reason. */
export function judge(def: TargetDef, value: number | null | undefined, note?: string): TargetResult {
  const base = { id: def.id, what: def.what, target: describeTarget(def), unit: def.unit };
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return { ...base, value: null, verdict: 'SKIP', note: note ?? 'not measured' };
  }
  const ok = def.op === '<=' ? value <= def.limit : def.op === '>=' ? value >= def.limit : value === def.limit;
  return { ...base, value, verdict: ok ? 'PASS' : 'MISS', ...(note ? { note } : {}) };
}

export function skipped(def: TargetDef, reason: string): TargetResult {
  return judge(def, null, reason);
}
