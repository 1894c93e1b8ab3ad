import { describe, expect, it } from 'vitest';
import type { Candidate } from '../../src/sampling/discovery.js';
import { loadNative } from '../../src/sampling/native.js';
import { ringWordsFor } from '../../src/sampling/native-source.js';
import { NODE_COUNTERS } from '../../src/sampling/context.js';

const layout = loadNative().ringLayout;

const dev = (nStats: number): Candidate => ({ info: { name: 'x', driver: 'ena', driverVersion: '', firmwareVersion: '', busInfo: '' }, ifindex: 1, nStats });

describe('ring sizing', () => {
  it('holds 10 s of every found device’s samples', () => {
    // 8 ENA devices with 32 queues (1224 stats) at 100 ms: per tick 8 samples
    // of 10 + 1224 words, a tick record of 5 and a node record of 5 + 14,
    // × 100 ticks.
    expect(layout.sampleHeaderWords).toBe(10);
    expect(ringWordsFor(layout, Array.from({ length: 8 }, () => dev(1224)), 100)).toBe((8 * 1234 + 5 + 5 + NODE_COUNTERS.length) * 100);
    expect(NODE_COUNTERS.length).toBe(14);
  });
  it('never less than 2 MiB, for devices hot-plugged later', () => {
    expect(ringWordsFor(layout, [dev(20)], 100)).toBe(1 << 18);
    expect(ringWordsFor(layout, [], 100)).toBe(1 << 18);
  });
  it('never more than 16 MiB, however fast the interval', () => {
    expect(ringWordsFor(layout, Array.from({ length: 8 }, () => dev(1224)), 10)).toBe(1 << 21);
  });
});
