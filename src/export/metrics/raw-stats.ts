// The driver's own counters as Prometheus sees them: one family per exported
// stat (`ethtool_<stat>_total`, gauges without the suffix, per-queue stats
// under `ethtool_queue_` with a `queue` label; naming in ../metric-names.ts),
// and optionally the flat `node_net_ethtool` family of the Showmax exporter.
// Families are registered as stats appear; every scrape reads one snapshot
// of the last good values (never a bogus or held zero).

import { ALLOWANCE_HELP } from '../../aggregation/stat-policy.js';
import { u64ToNumber } from '../../sampling/u64.js';
import { statMetric } from '../metric-names.js';
import type { Exposition } from './registry.js';
import { CollectedMetric, type Labels } from './collected.js';
import type { MetricsContext } from './context.js';

export const SHOWMAX_FAMILY = 'node_net_ethtool';

/** The help text of a raw stat's family. */
export function rawStatHelp(stat: string): string {
  const m = statMetric(stat);
  const base = ALLOWANCE_HELP[stat] ?? `ethtool statistic ${m.queue !== null ? `${stat.replace(/\d+/, 'N')} (per queue)` : stat}`;
  return `${base}. Raw ${m.type} from ETHTOOL_GSTATS; last good sample.`;
}

export class RawStatFamilies {
  private readonly families = new Map<string, CollectedMetric>();
  private snapshot = new Map<string, { labels: Labels; value: number }[]>();

  constructor(
    private readonly ctx: MetricsContext,
    private readonly exposition: Exposition,
  ) {
    if (ctx.opts.compatShowmax) {
      exposition.register(
        new CollectedMetric(SHOWMAX_FAMILY, 'ethtool stats in the shape prometheus-ethtool-exporter (Showmax) wrote them, for rules written against it', 'gauge', ['device', 'type'], (emit) => {
          for (const { labels, value } of this.snapshot.get(SHOWMAX_FAMILY) ?? []) emit(labels, value);
        }),
      );
    }
  }

  /** Builds the snapshot every raw family reads from (registering new families); call once before rendering. */
  prepare(): void {
    const { registry, opts } = this.ctx;
    const snap = new Map<string, { labels: Labels; value: number }[]>();
    const showmax: { labels: Labels; value: number }[] = [];
    const seen = new Set<string>();
    for (const d of registry.list()) {
      const device = d.info.name;
      const raw = registry.rawCounters(device);
      if (!raw) continue;
      for (let i = 0; i < raw.names.length; i++) {
        const stat = raw.names[i]!;
        if (!opts.exportStat(stat)) continue;
        const m = statMetric(stat);
        const labels: Labels = m.queue === null ? { device } : { device, queue: m.queue };
        // Two spellings of one stat on one device would be one series twice.
        const key = `${m.metric}\u0000${device}\u0000${m.queue ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const value = u64ToNumber(raw.values[2 * i]!, raw.values[2 * i + 1]!);
        let list = snap.get(m.metric);
        if (!list) {
          list = [];
          snap.set(m.metric, list);
          this.ensureFamily(m.metric, stat, m.queue !== null);
        }
        list.push({ labels, value });
        if (opts.compatShowmax) showmax.push({ labels: { device, type: stat }, value });
      }
    }
    if (opts.compatShowmax) snap.set(SHOWMAX_FAMILY, showmax);
    this.snapshot = snap;
  }

  private ensureFamily(metric: string, stat: string, perQueue: boolean): void {
    if (this.families.has(metric)) return;
    const family = new CollectedMetric(metric, rawStatHelp(stat), statMetric(stat).type, perQueue ? ['device', 'queue'] : ['device'], (emit) => {
      for (const { labels, value } of this.snapshot.get(metric) ?? []) emit(labels, value);
    });
    this.families.set(metric, family);
    this.exposition.register(family);
  }
}
