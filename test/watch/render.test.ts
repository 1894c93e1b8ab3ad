// What the watch screen says about the devices, from a snapshot (no
// terminal needed): the footer names a device that refreshes its counters
// more slowly than it is sampled, in the same words as the page.

import { describe, expect, it } from 'vitest';
import { resolutionNote } from '../../src/aggregation/update-period.js';
import { renderScreen } from '../../src/watch/render.js';
import { LocalFeed } from '../../src/watch/local.js';
import { SimulateSource } from '../../src/sources/simulate.js';
import { until } from '../../src/harness/wait.js';
import type { WatchDevice, WatchSeries, WatchSnapshot } from '../../src/watch/feed.js';
import type { Quantiles, WindowSummary } from '../../src/aggregation/window-summary.js';

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

describe('watch window lines', () => {
  const NOW = 1_764_000_000_000;
  const q = (count: number, p50: number, p90: number, p99: number, max: number): Quantiles => ({ count, p50, p90, p99, max });
  const none: Quantiles = { count: 0, p50: null, p90: null, p99: null, max: null };
  const win = (window_s: number, second: Quantiles, size: Quantiles): WindowSummary => ({
    window_s,
    from_ms: NOW - window_s * 1000,
    to_ms: NOW,
    second_increase: second,
    burst_size: size,
    burst_duration_ms: size.count > 0 ? q(size.count, 200, 300, 300, 300) : none,
    peak_rate_per_second: 1000,
  });
  const series = (device: string, stat: string, windows: WindowSummary[] | null): WatchSeries => ({ device, stat, points: [], open: null, lastBurst: null, windows });
  const snap = (s: WatchSeries[]): WatchSnapshot => ({ source: 'test', intervalMs: 100, nowMs: NOW, series: s, devices: [], problem: null });

  it('give p99 and max of drops per second over 1m, 10m and 1h, and burst size p99 over the hour, for stats with drops', () => {
    const screen = renderScreen(
      snap([
        // Drops an hour ago, none in the last 10 minutes.
        series('eth0', 'pps_allowance_exceeded', [win(60, q(61, 0, 0, 0, 0), none), win(600, q(601, 0, 0, 0, 0), none), win(3600, q(3601, 0, 0, 14_015, 16_000), q(3, 50, 200, 30_000, 30_000))]),
        series('eth0', 'bw_in_allowance_exceeded', [win(60, q(61, 0, 0, 0, 0), none), win(600, q(601, 0, 0, 0, 0), none), win(3600, q(3601, 0, 0, 0, 0), none)]),
        series('eth1', 'pps_allowance_exceeded', [win(60, q(61, 0, 0, 200, 200), q(1, 200, 200, 200, 200)), win(600, q(601, 0, 0, 200, 200), q(1, 200, 200, 200, 200)), win(3600, q(3601, 0, 0, 200, 200), q(1, 200, 200, 200, 200))]),
      ]),
      { width: 160, height: 20, color: false },
    );
    const at = screen.findIndex((l) => l.startsWith('WINDOWS'));
    expect(at).toBeGreaterThan(0);
    expect(screen[at - 1]).toBe('');
    expect(screen[at + 1]!.trimEnd()).toMatch(/^eth0\s+pps\s+1m p99 0\/s max 0\/s · 10m p99 0\/s max 0\/s · 1h p99 14k\/s max 16k\/s · burst size p99 30k \(3 bursts in 1h\)$/);
    expect(screen[at + 2]!.trimEnd()).toMatch(/^eth1\s+pps\s+1m p99 200\/s max 200\/s · 10m p99 200\/s max 200\/s · 1h p99 200\/s max 200\/s · burst size p99 200 \(1 burst in 1h\)$/);
    // A stat without drops in the hour has no line.
    expect(screen.join('\n')).not.toMatch(/bw_in\s+1m/);
  });

  it('give way to the rows, and are absent when no stat has drops or the server has no windows', () => {
    const busy = series('eth1', 'pps_allowance_exceeded', [win(60, q(61, 0, 0, 200, 200), q(1, 200, 200, 200, 200))]);
    const rows = Array.from({ length: 15 }, (_, i) => series(`eth${i + 2}`, 'pps_allowance_exceeded', null));
    // 16 rows fill a 20-line screen (16 lines between title and footer): rows first.
    expect(renderScreen(snap([busy, ...rows]), { width: 160, height: 20, color: false }).join('\n')).not.toContain('WINDOWS');
    expect(renderScreen(snap([busy]), { width: 160, height: 20, color: false }).join('\n')).toContain('WINDOWS');
    expect(renderScreen(snap(rows), { width: 160, height: 40, color: false }).join('\n')).not.toContain('WINDOWS');
  });
});

describe('watch window lines from a local feed', () => {
  it('come from the in-process exporter’s windows: the scripted burst’s exact size', async () => {
    const start = 1_764_000_000_000;
    const source = new SimulateSource({ devices: 1, clock: 'virtual', startMs: start, durationMs: 20_000, script: [{ device: 'eth0', stat: 'pps_allowance_exceeded', startMs: start + 5000, durationMs: 1000, packets: 600 }], resetEveryMs: 0, zeroReadEveryMs: 0, errorEveryMs: 0 });
    const feed = new LocalFeed(source, 'local (eth0)', 100);
    try {
      const snap = await until(async () => {
        const s = await feed.refresh();
        return s.series.find((x) => x.stat === 'pps_allowance_exceeded')?.windows?.[0]?.burst_size.count === 1 ? s : null;
      }, 'the finished burst in the windows', 10_000);
      const pps = snap.series.find((x) => x.stat === 'pps_allowance_exceeded')!;
      expect(pps.windows!.map((w) => w.window_s)).toEqual([60, 600, 3600]);
      expect(pps.windows![0]!.burst_size).toEqual({ count: 1, p50: 600, p90: 600, p99: 600, max: 600 });
      const lines = renderScreen(snap, { width: 160, height: 20, color: false });
      expect(lines.find((l) => /^eth0\s+pps\s+1m p99/.test(l))).toMatch(/burst size p99 600 \(1 burst in 1h\)/);
    } finally {
      await feed.close();
    }
  });
});
