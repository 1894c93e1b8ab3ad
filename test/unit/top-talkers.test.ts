// Ranking a node's pods over a burst from two snapshots of their veths.

import { describe, expect, it } from 'vitest';
import { topTalkers, type LinkSnapshot } from '../../src/talkers/top-talkers.js';

function snap(timeMs: number, rows: Record<string, [number, number, number, number]>): LinkSnapshot {
  const names = Object.keys(rows);
  return { timeMs, names, values: Float64Array.from(names.flatMap((n) => rows[n]!)), ips: names.map((n) => [`192.0.2.${names.indexOf(n) + 10}`]) };
}

describe('top talkers', () => {
  it('ranks by packets both ways, then bytes, with each one’s share of the device’s packets', () => {
    const before = snap(0, { eniA: [100, 100, 1e4, 1e4], eniB: [0, 0, 0, 0], eniC: [50, 50, 500, 500], eniD: [7, 7, 70, 70] });
    const after = snap(2000, { eniA: [1100, 1100, 1.1e5, 1.1e5], eniB: [3000, 0, 3e6, 0], eniC: [1050, 1050, 1050, 1050], eniD: [7, 7, 70, 70] });
    const top = topTalkers(before, after, 10_000);
    expect(top.map((t) => [t.veth, t.packets, t.bytes, t.share])).toEqual([
      ['eniB', 3000, 3e6, 0.3],
      ['eniA', 2000, 2e5, 0.2],
      ['eniC', 2000, 1100, 0.2],
    ]);
    // Its pod addresses come along (the snapshot after the burst is the current mapping).
    expect(top[0]!.ips).toEqual(['192.0.2.11']);
  });

  it('leaves out pods that came, went or were re-created (their traffic over the burst is unknown), and keeps the top n', () => {
    const before = snap(0, { eniOld: [5, 5, 5, 5], eniRe: [900, 900, 900, 900], eniA: [0, 0, 0, 0] });
    const after = snap(1000, { eniNew: [500, 500, 500, 500], eniRe: [10, 10, 10, 10], eniA: [1, 0, 60, 0] });
    expect(topTalkers(before, after, 0).map((t) => [t.veth, t.share])).toEqual([['eniA', null]]);
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`eni${i}`, [i, 0, i, 0] as [number, number, number, number]]));
    const zero = Object.fromEntries(Object.keys(many).map((k) => [k, [0, 0, 0, 0] as [number, number, number, number]]));
    expect(topTalkers(snap(0, zero), snap(1, many), 100, 3).map((t) => t.veth)).toEqual(['eni8', 'eni7', 'eni6']);
  });
});
