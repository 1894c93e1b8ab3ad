// `ethburst analyze` and `ethburst simulate` as a user runs them: the
// compiled CLI in a child process.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { basics, ena, parseAnalyzeJson, T0, tempDir, threeBursts, traceFile, type BurstJson } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'build/dist/src/cli.js');

beforeAll(() => {
  // `npm test` builds first; a bare `vitest run` may not have. Type errors in
  // files other than ours must not block these tests, so only the emitted
  // files are checked.
  spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'ignore' });
  expect(existsSync(join(ROOT, 'build/dist/src/commands/analyze.js'))).toBe(true);
}, 120_000);

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ETHBURST_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sample = [
  { t: T0, stats: ena({ pps: 10, bw_in: 1 }) },
  { t: T0 + 100, stats: ena({ pps: 30, bw_in: 1 }) },
  { t: T0 + 200, stats: ena({ pps: 35, bw_in: 1 }) },
  { t: T0 + 300, error: 'ETIMEDOUT' },
  { t: T0 + 400, stats: ena({}) },
  { t: T0 + 500, stats: ena({ pps: 35, bw_in: 1 }) },
  { t: T0 + 5000, stats: ena({ pps: 36, bw_in: 4 }) },
];

describe('ethburst analyze', () => {
  it('prints the documented JSON', () => {
    const path = traceFile(sample);
    const r = cli('analyze', path, '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = parseAnalyzeJson(r.stdout);
    expect(Object.keys(doc)).toEqual(['bursts', 'totals', 'quantiles', 'learned_onsets']);
    expect(doc.bursts.map(basics)).toEqual([
      { device: 'eth0', stat: 'pps_allowance_exceeded', start_ms: T0, end_ms: T0 + 200, duration_ms: 200, increase: 25, peak_rate_per_second: 200 },
      { device: 'eth0', stat: 'bw_in_allowance_exceeded', start_ms: T0 + 500, end_ms: T0 + 5000, duration_ms: 4500, increase: 3, peak_rate_per_second: 3000 / 4500 },
      { device: 'eth0', stat: 'pps_allowance_exceeded', start_ms: T0 + 500, end_ms: T0 + 5000, duration_ms: 4500, increase: 1, peak_rate_per_second: 1000 / 4500 },
    ]);
    expect(doc.totals[0]).toEqual({
      device: 'eth0',
      stat: 'bw_in_allowance_exceeded',
      increase: 3,
      resets: 0,
      failed_reads: 2,
      samples: 5,
      seconds_with_increase: 1,
      max_second_increase: 3,
    });
    expect(doc.totals.map((t) => t.stat)).toEqual([
      'bw_in_allowance_exceeded',
      'bw_out_allowance_exceeded',
      'conntrack_allowance_exceeded',
      'linklocal_allowance_exceeded',
      'pps_allowance_exceeded',
    ]);
  });

  it('prints a table for people: one line per burst, then totals', () => {
    const r = cli('analyze', traceFile(sample));
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('3 bursts (burst gap 2s; times UTC):');
    expect(lines[1]).toMatch(/^START\s+END\s+DURATION\s+DEVICE\s+STAT\s+INCREASE\s+PEAK\/S\s+ONSET\s+CAUSE$/);
    // No traffic in this trace: the onset is not known.
    expect(lines[2]).toMatch(/^2025-11-24 16:00:00\.000\s+16:00:00\.200\s+200ms\s+eth0\s+pps_allowance_exceeded\s+25\s+200\s+–\s+pps$/);
    expect(r.stdout).toMatch(/\nDiagnosis \(the first burst of each cause; --format json has every burst's\):\n {2}pps \(2025-11-24 16:00:00\.000, eth0\): The instance's packets-per-second allowance: 25 packets dropped in 0\.2 s\.\n {4}What to change: Send fewer, larger packets/);
    expect(r.stdout).toMatch(/\nTotals:\nDEVICE\s+STAT\s+INCREASE\s+RESETS\s+FAILED READS\s+SAMPLES\s+SECONDS>0\s+MAX\/SECOND\n/);
    expect(r.stdout).toMatch(/eth0\s+pps_allowance_exceeded\s+26\s+0\s+2\s+5\s+2\s+25\n/);
  });

  it('honours --burst-gap and --burst-stat', () => {
    const path = traceFile(sample.map((s) => ('stats' in s ? { ...s, stats: { ...s.stats, rx_drops: s.t - T0 } } : s)));
    const r = cli('analyze', path, '--format=json', '--burst-gap', '5s', '--burst-stat', 'drops$');
    expect(r.code).toBe(0);
    const doc = parseAnalyzeJson(r.stdout);
    expect(doc.bursts.filter((b) => b.stat === 'pps_allowance_exceeded')).toHaveLength(1);
    expect(doc.totals.map((t) => t.stat)).toContain('rx_drops');
  });

  it('reports a malformed line as FILE:LINE: reason on stderr, exit 2, nothing on stdout', () => {
    const path = traceFile([...sample.slice(0, 3), '{"t": 1, "device": "eth0", "stats": {"a": -1}}', ...sample.slice(3)]);
    const r = cli('analyze', path, '--format', 'json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${path}:4: stat "a": -1 is not a non-negative integer below 2^64 (use a decimal string above 2^53 - 1)\n`);
  });

  it('rejects non-UTF-8 input and a missing file the same way', () => {
    const dir = tempDir();
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, Buffer.concat([Buffer.from(`${JSON.stringify({ t: 1, device: 'eth0', stats: {} })}\n`), Buffer.from([0xff, 0x0a])]));
    const r = cli('analyze', path);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `${path}:2: not valid UTF-8\n`]);
    const m = cli('analyze', join(dir, 'missing.jsonl'));
    expect([m.code, m.stdout, m.stderr]).toEqual([2, '', `${join(dir, 'missing.jsonl')}: cannot read: no such file\n`]);
  });

  it('rejects usage errors with exit 2', () => {
    expect(cli('analyze').code).toBe(2);
    const r = cli('analyze', 'x', '--format', 'yaml');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('ethburst analyze quantiles', () => {
  // threeBursts: bursts of 30, 200 and 50 packets lasting 300, 200 and 100 ms;
  // 13 seconds, three of them with drops (30, 200, 50).
  it('JSON: per (device, stat), count/p50/p90/p99/max of per-second increase, burst size and duration, after the totals', () => {
    const r = cli('analyze', traceFile(threeBursts()), '--format', 'json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const doc = parseAnalyzeJson(r.stdout);
    expect(doc.quantiles.map((q) => q.stat)).toEqual(doc.totals.map((t) => t.stat));
    expect(doc.quantiles.find((q) => q.stat === 'pps_allowance_exceeded')).toEqual({
      device: 'eth0',
      stat: 'pps_allowance_exceeded',
      second_increase: { count: 13, p50: 0, p90: 50, p99: 200, max: 200 },
      burst_size: { count: 3, p50: 50, p90: 200, p99: 200, max: 200 },
      burst_duration_ms: { count: 3, p50: 200, p90: 300, p99: 300, max: 300 },
      peak_rate_per_second: 1000,
    });
    // A stat without bursts: its seconds are all zero, its burst quantiles null.
    expect(doc.quantiles.find((q) => q.stat === 'bw_in_allowance_exceeded')).toMatchObject({
      second_increase: { count: 13, p50: 0, p90: 0, p99: 0, max: 0 },
      burst_size: { count: 0, p50: null, p90: null, p99: null, max: null },
    });
  });

  it('table: a Quantiles section, three rows per (device, stat) with drops', () => {
    const r = cli('analyze', traceFile(threeBursts()));
    expect(r.code).toBe(0);
    const section = r.stdout.slice(r.stdout.indexOf('\nQuantiles over the whole trace'));
    const lines = section.split('\n').slice(2);
    expect(lines[0]).toMatch(/^DEVICE\s+STAT\s+MEASURE\s+COUNT\s+P50\s+P90\s+P99\s+MAX$/);
    const pps = lines.filter((l) => l.includes('pps_allowance_exceeded'));
    expect(pps[0]).toMatch(/^eth0\s+pps_allowance_exceeded\s+increase\/second\s+13\s+0\s+50\s+200\s+200$/);
    expect(pps[1]).toMatch(/^eth0\s+pps_allowance_exceeded\s+burst size\s+3\s+50\s+200\s+200\s+200$/);
    expect(pps[2]).toMatch(/^eth0\s+pps_allowance_exceeded\s+burst duration\s+3\s+200ms\s+300ms\s+300ms\s+300ms$/);
    expect(section).not.toContain('bw_in_allowance_exceeded');
    // No drops at all: no section.
    expect(cli('analyze', traceFile([{ t: T0, stats: ena({}) }])).stdout).not.toContain('Quantiles');
  });
});

describe('ethburst simulate | analyze', () => {
  it('analyze prints exactly the bursts the simulator scripted', () => {
    const dir = tempDir();
    const trace = join(dir, 'sim.jsonl');
    const expected = join(dir, 'expected.json');
    const s = cli('simulate', '--simulate-devices', '2', '--duration', '5m', '--simulate-seed', '3', '--out', trace, '--expected', expected);
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    const exp = JSON.parse(readFileSync(expected, 'utf8')) as { bursts: BurstJson[] };
    expect(exp.bursts.length).toBeGreaterThan(10);
    const a = cli('analyze', trace, '--format', 'json');
    expect(a.code).toBe(0);
    expect(parseAnalyzeJson(a.stdout).bursts.map(basics)).toEqual(exp.bursts);
  });

  it('writes to stdout by default and is deterministic', () => {
    const a = cli('simulate', '--duration', '2s', '--simulate-queues', '1');
    const b = cli('simulate', '--duration', '2s', '--simulate-queues', '1');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    // 21 ticks of one device, each after the node's line.
    expect(a.stdout.trim().split('\n')).toHaveLength(42);
  });
});
