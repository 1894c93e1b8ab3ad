// What the watch screen says about the devices, from a snapshot (no
// terminal needed): the footer names a device that refreshes its counters
// more slowly than it is sampled, in the same words as the page.

import { describe, expect, it } from 'vitest';
import { resolutionNote } from '../../src/aggregation/update-period.js';
import { renderScreen } from '../../src/watch/render.js';
import type { WatchDevice, WatchSnapshot } from '../../src/watch/feed.js';

function snapshot(devices: WatchDevice[]): WatchSnapshot {
  return { source: 'test', intervalMs: 100, nowMs: 1_764_000_000_000, series: [], devices, problem: null };
}

describe('watch footer', () => {
  it('says when a device updates its counters more slowly than it is sampled', () => {
    const slow: WatchDevice = { name: 'ena0', driver: 'ena', up: true, lastError: null, counterUpdate: { resolutionMs: 1000, note: resolutionNote('ena0', { resolutionMs: 1000 }) } };
    const fast: WatchDevice = { name: 'ena1', driver: 'ena', up: true, lastError: null, counterUpdate: { resolutionMs: 0, note: null } };
    const screen = renderScreen(snapshot([slow, fast]), { width: 120, height: 12, color: false });
    expect(screen.join('\n')).toContain('ena0 updates its counters about every 1 s: bursts shorter than that cannot be resolved');
    expect(screen.join('\n')).not.toContain('ena1 updates');
    expect(renderScreen(snapshot([fast]), { width: 120, height: 12, color: false }).join('\n')).not.toContain('updates its counters');
  });

  it('words the period in ms below a second', () => {
    expect(resolutionNote('eth1', { resolutionMs: 250 })).toBe('eth1 updates its counters about every 250 ms: bursts shorter than that cannot be resolved');
    expect(resolutionNote('eth1', { resolutionMs: 0 })).toBeNull();
  });
});
