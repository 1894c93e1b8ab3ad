import { describe, expect, it } from 'vitest';
import { enaStatNames } from '../../src/aggregation/ena-stats.js';
import { ALLOWANCE_HELP, ALLOWANCE_STATS, CONNTRACK_AVAILABLE, exportedStatMatcher, shortStatName, statPolicyView, statRank, trackedStatMatcher } from '../../src/aggregation/stat-policy.js';

describe('stat policy', () => {
  it('names the five allowance counters and the conntrack gauge in the driver order, each with a help text', () => {
    const names = enaStatNames({ queues: 1 });
    const i = names.indexOf(ALLOWANCE_STATS[0]!);
    expect(names.slice(i, i + 6)).toEqual([...ALLOWANCE_STATS, CONNTRACK_AVAILABLE]);
    expect(ALLOWANCE_STATS).toHaveLength(5);
    for (const s of [...ALLOWANCE_STATS, CONNTRACK_AVAILABLE]) expect(ALLOWANCE_HELP[s]).toMatch(/^[A-Z].+[a-z]$/);
  });

  it('tracks *_allowance_exceeded plus --burst-stat patterns', () => {
    const tracked = trackedStatMatcher([/drops$/]);
    expect(ALLOWANCE_STATS.every(tracked)).toBe(true);
    expect(tracked('rx_drops')).toBe(true);
    expect(tracked(CONNTRACK_AVAILABLE)).toBe(false);
    expect(trackedStatMatcher()('rx_drops')).toBe(false);
  });

  it('exports the tracked stats, the gauge and --stat-include matches, less --stat-exclude matches', () => {
    const plain = exportedStatMatcher();
    expect([...ALLOWANCE_STATS, CONNTRACK_AVAILABLE].every(plain)).toBe(true);
    expect(plain('queue_0_tx_cnt')).toBe(false);
    const flags = exportedStatMatcher({ burstStats: [/drops$/], include: [/^queue_\d+_tx_cnt$/], exclude: [/^bw_/, /^queue_1_/] });
    expect(['rx_drops', 'queue_0_tx_cnt', 'pps_allowance_exceeded', CONNTRACK_AVAILABLE].every(flags)).toBe(true);
    expect(['bw_in_allowance_exceeded', 'queue_1_tx_cnt', 'tx_timeout'].some(flags)).toBe(false);
  });

  it('labels and orders stats for the views', () => {
    expect(ALLOWANCE_STATS.map(shortStatName)).toEqual(['bw_in', 'bw_out', 'pps', 'conntrack', 'linklocal']);
    expect(shortStatName('rx_drops')).toBe('rx_drops');
    expect(['rx_drops', 'linklocal_allowance_exceeded', 'bw_in_allowance_exceeded'].sort((a, b) => statRank(a) - statRank(b))).toEqual(['bw_in_allowance_exceeded', 'linklocal_allowance_exceeded', 'rx_drops']);
  });

  it('tells the page its view of the policy', () => {
    expect(statPolicyView([/drops$/])).toEqual({
      allowanceStats: ALLOWANCE_STATS,
      shortNames: Object.fromEntries(ALLOWANCE_STATS.map((s) => [s, shortStatName(s)])),
      gaugeStat: CONNTRACK_AVAILABLE,
      tracked: ['_allowance_exceeded$', 'drops$'],
    });
  });
});
