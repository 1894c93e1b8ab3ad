import { describe, expect, it } from 'vitest';
import { skip } from '../../src/bench/context.js';
import { collectTargets, formatTable, renderReport, sig, type BenchReport } from '../../src/bench/report.js';
import { TARGETS, describeTarget, judge } from '../../src/bench/targets.js';

describe('table formatting', () => {
  it('aligns columns, leaves the last cell unpadded, prints one-cell rows as headings', () => {
    const text = formatTable(
      [
        ['1 heading that is longer than any cell'],
        ['  a', '1', 'x'],
        ['  bbbb', '22', 'a long last cell'],
      ],
      '',
      ' | ',
    );
    expect(text.split('\n')).toEqual(['1 heading that is longer than any cell', '  a    | 1  | x', '  bbbb | 22 | a long last cell']);
  });

  it('formats numbers with three significant digits', () => {
    expect(sig(1.23456)).toBe('1.23');
    expect(sig(0.000123456)).toBe('0.000123');
    expect(sig(12345.6)).toBe('12,346');
    expect(sig(1e7)).toBe('1.00e7');
    expect(sig(Number.NaN)).toBe('—');
    expect(sig(null)).toBe('—');
    expect(sig(Number.POSITIVE_INFINITY)).toBe('∞');
    expect(sig(0)).toBe('0');
  });
});

describe('targets', () => {
  it('judges at run time against the issue targets', () => {
    expect(judge(TARGETS.costBOverA, 2.9).verdict).toBe('PASS');
    expect(judge(TARGETS.costBOverA, 3.1).verdict).toBe('MISS');
    expect(judge(TARGETS.costCOverB, 100).verdict).toBe('PASS');
    expect(judge(TARGETS.costCOverB, 99).verdict).toBe('MISS');
    expect(judge(TARGETS.blockedLost, 0).verdict).toBe('PASS');
    expect(judge(TARGETS.blockedLost, 1).verdict).toBe('MISS');
    expect(judge(TARGETS.serveCpu, Number.NaN).verdict).toBe('SKIP');
    expect(describeTarget(TARGETS.costBOverA)).toBe('≤ 3×');
    expect(describeTarget(TARGETS.latenessIdle)).toBe('≤ 2 ms');
  });

  it('every target of a skipped section is a SKIP carrying the reason', () => {
    const targets = collectTargets({
      mode: 'quick',
      cost: skip('no readable network device'),
      overhead: skip('serve did not start'),
      cadence: skip('no readable network device'),
      scrape: skip('interrupted'),
      fidelity: skip('interrupted'),
    });
    expect(targets.length).toBe(Object.keys(TARGETS).length);
    for (const t of targets) {
      expect(t.verdict).toBe('SKIP');
      expect(t.note).toMatch(/\S/);
    }
  });

  it('the rendered report says PASS, MISS and SKIP plainly and lists why', () => {
    const report: BenchReport = {
      tool: 'ethburst bench',
      version: '0.0.0',
      mode: 'quick',
      startedAt: '2026-01-01T00:00:00.000Z',
      elapsedS: 1,
      machine: { cpuModel: 'Test CPU', cores: 2, kernel: 'Linux 6.1', node: 'v20.0.0', memTotalMiB: 1024, loadStart: [0.1, 0.1, 0.1], loadEnd: [0.2, 0.1, 0.1] },
      devices: { list: [], notes: ['no devices here'] },
      cost: skip('no readable network device'),
      overhead: skip('no readable network device'),
      cadence: skip('no readable network device'),
      scrape: {
        status: 'ok',
        configs: [
          { devices: 8, stats: 'defaults', latencyMs: { n: 10, p50: 3, p99: 12, max: 13, mean: 4 }, wireBytes: 8000, bytes: 140_000, series: 1600, seriesPerDeviceMax: 190 },
          { devices: 1, stats: 'all', latencyMs: { n: 10, p50: 1, p99: 2, max: 2, mean: 1 }, wireBytes: 4000, bytes: 50_000, series: 470, seriesPerDeviceMax: 400 },
        ],
      },
      fidelity: skip('interrupted'),
      fleet: { status: 'ok', pods: 30, vethStats: 10, enaStats: 336, seriesPerDeviceMax: 190, rows: [{ what: 'ethburst, text format', enis: 1, series: 250 }] },
      ena: skip('no ENA device'),
      comparisons: [{ name: '(d) node_exporter ethtool collector', status: 'skipped', reason: 'node_exporter not installed' }],
      targets: [],
      notes: [],
      svgFile: null,
      interrupted: false,
      timings: {},
    };
    report.targets = collectTargets(report);
    const text = renderReport(report);
    expect(text).toContain('machine: Test CPU · 2 cores · Linux 6.1 · Node v20.0.0');
    expect(text).toMatch(/8 devices, defaults\s+3 \/ 12 ms\s+≤ 5 ms\s+MISS/);
    expect(text).toContain('MISS /metrics p99, 8 devices, defaults: 12 ms, target ≤ 5 ms');
    expect(text).toMatch(/series per ENA device, worst case\s+190\s+≤ 60 series\s+MISS/);
    // 250 series every 30 s: 8.33 samples/s per node; 100 nodes make 2.16e9 a month, 1,000 nodes 2.16e10.
    expect(text).toMatch(/ethburst, text format, 1 ENI\s+250 series\s+samples 16\.7\/s at 15 s, 8\.33\/s at 30 s, 4\.17\/s at 60 s; per month at 30 s: 2\.16e9 for 100 nodes, 2\.16e10 for 1,000 nodes/);
    expect(text).toContain('MISS series per ENA device, defaults: 190 series, target ≤ 60 series');
    expect(text).toContain('(d) node_exporter ethtool collector: node_exporter not installed');
    // Section 6 is there even without ENA, saying why it did not run.
    expect(text).toMatch(/6 ENA: GSTATS latency and counter refresh period\n\s+skipped\s+SKIP\s+no ENA device/);
    expect(text).toMatch(/targets: 0 PASS, 2 MISS, 15 SKIP/);
  });
});
