// `ethburst analyze` with more bursts than it keeps in memory: the order and
// format are those of a full in-memory sort, the spill files vanish on every
// path, and output that cannot be written is an error, never exit 0.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregation/aggregator.js';
import { BurstSorter } from '../../src/analysis/burst-sort.js';
import { analyzeTrace } from '../../src/commands/analyze.js';
import { compareCodeUnits } from '../../src/order.js';
import { CLI, usageFailure } from '../helpers/cli.js';
import { collect, ena, feed, parseAnalyzeJson, T0, tempDir, traceFile, type Rec } from './helpers.js';

/** A seeded trace of several devices whose bursts close far out of start order. */
function tangled(seed: number): Rec[] {
  let x = seed;
  const rnd = (n: number): number => ((x = (x * 1103515245 + 12345) % 2147483648), x % n);
  const recs: Rec[] = [];
  const level = new Map<string, Record<string, number>>();
  for (let k = 0; k < 400; k++) {
    for (const device of ['eth0', 'eth1', 'eth2']) {
      // eth2 samples rarely, so its bursts stay open while others close.
      if (device === 'eth2' && k % 37 !== 0) continue;
      const v = level.get(device) ?? { pps: 0, bw_in: 0, bw_out: 0 };
      for (const s of ['pps', 'bw_in', 'bw_out'] as const) if (rnd(3) === 0) v[s]! += 1 + rnd(5);
      level.set(device, v);
      recs.push({ t: T0 + k * 100 + rnd(50), device, stats: ena(v) });
    }
  }
  return recs;
}

describe('bursts sorted past the in-memory bound', () => {
  it('come out exactly as a full in-memory sort would order them', async () => {
    for (const seed of [1, 2, 3]) {
      const recs = tangled(seed);
      const agg = new Aggregator({ burstGapMs: 150, windowsMs: [] });
      const c = collect(agg);
      feed(agg, recs);
      agg.finish();
      const expected = c.bursts.slice().sort((a, b) => a.startMs - b.startMs || compareCodeUnits(a.device, b.device) || compareCodeUnits(a.stat, b.stat));
      expect(expected.length).toBeGreaterThan(150);
      // The aggregator finishes bursts out of start order: the sort has work to do.
      expect(c.bursts).not.toEqual(expected);
      const path = traceFile(recs);
      for (const runLength of [1, 7, 1000]) {
        const r = await analyzeTrace(path, { burstGapMs: 150, runLength });
        expect(r.bursts).toEqual(expected);
      }
    }
  });

  it('keep equal keys in the order they were added, also through merges of merges', () => {
    const s = new BurstSorter<number>({ runLength: 1 });
    const keys: [number, string, string][] = [];
    for (let i = 0; i < 300; i++) keys.push([(i * 7919) % 13, `eth${i % 3}`, `s${i % 2}`]);
    keys.forEach(([t, d, st], i) => s.add(t, d, st, i));
    expect(s.spilledRuns).toBeGreaterThan(64);
    const got = [...s.sorted()];
    s.dispose();
    const want = keys.map((k, i) => ({ k, i })).sort((a, b) => a.k[0] - b.k[0] || compareCodeUnits(a.k[1], b.k[1]) || compareCodeUnits(a.k[2], b.k[2]));
    expect(got).toEqual(want.map((w) => w.i));
  });
});

/** One device; all five allowance stats rise on every other sample: 5 bursts per rise at a 100ms gap. */
function manyBursts(rises: number): string {
  const lines: string[] = [];
  for (let i = 0; i <= 2 * rises; i++) {
    const v = Math.floor((i + 1) / 2);
    lines.push(JSON.stringify({ t: T0 + i * 100, device: 'eth0', driver: 'ena', stats: ena({ pps: v, bw_in: v, bw_out: v, conntrack: v, linklocal: v }) }));
  }
  return `${lines.join('\n')}\n`;
}

describe('the CLI with more bursts than fit in one in-memory run', () => {
  // 40,000 bursts: more than one in-memory run, so they go through files.
  const text = manyBursts(8000);
  const path = join(tempDir(), 'many.jsonl');
  writeFileSync(path, text);

  function analyzeIn(tmp: string, args: string[], stdout?: number): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [CLI, 'analyze', ...args], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', stdout ?? 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr };
  }

  it('prints every burst in order in both formats and leaves no temporary file', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ethburst-tmp-'));
    const j = analyzeIn(tmp, [path, '--burst-gap', '100ms', '--format', 'json']);
    expect([j.status, j.stderr]).toEqual([0, '']);
    const bursts = parseAnalyzeJson(j.stdout).bursts;
    expect(bursts).toHaveLength(40_000);
    const stats = ['bw_in_allowance_exceeded', 'bw_out_allowance_exceeded', 'conntrack_allowance_exceeded', 'linklocal_allowance_exceeded', 'pps_allowance_exceeded'];
    bursts.forEach((b, i) => {
      expect(b.start_ms).toBe(T0 + 200 * Math.floor(i / 5));
      expect(b.stat).toBe(stats[i % 5]);
    });
    const t = analyzeIn(tmp, [path, '--burst-gap', '100ms']);
    expect(t.status).toBe(0);
    const lines = t.stdout.split('\n');
    expect(lines[0]).toBe('40000 bursts (burst gap 100ms; times UTC):');
    expect(lines[40_001]).toMatch(/^2025-11-24 16:26:39\.800\s+16:26:39\.900\s+100ms\s+eth0\s+pps_allowance_exceeded\s+1\s+10\s+–\s+pps$/);
    // Columns line up: the last one (the cause) starts at the same place on every line, the header's included.
    expect(new Set(lines.slice(1, 40_002).map((l) => l.replace(/\S+$/, '').length)).size).toBe(1);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('a bad line after many bursts: one line, exit 2, nothing on stdout, no temporary file left', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ethburst-tmp-'));
    const bad = join(tempDir(), 'bad.jsonl');
    writeFileSync(bad, `${text}{"t": 1, "device": "eth0", "stats": {}}\n`);
    const r = analyzeIn(tmp, [bad, '--burst-gap', '100ms', '--format', 'json']);
    expect(usageFailure({ ...r, signal: null })).toMatch(new RegExp(`^${bad}:16002: "t" 1 is not after the previous record of eth0`));
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('output that cannot be written (/dev/full) is one line and exit 1, not 0', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ethburst-tmp-'));
    const full = openSync('/dev/full', 'w');
    try {
      for (const small of [false, true]) {
        const r = analyzeIn(tmp, [small ? traceFile([{ t: T0, stats: ena({}) }]) : path, '--burst-gap', '100ms'], full);
        expect(r.status).toBe(1);
        expect(r.stderr).toBe('ethburst analyze: cannot write the results: ENOSPC\n');
      }
    } finally {
      closeSync(full);
    }
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('a reader that goes away (EPIPE) is one line and exit 1, not 0', () => {
    // `head -c 1` reads one byte and exits; the rest of the output has nowhere to go.
    const err = join(tempDir(), 'stderr');
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" analyze "${path}" --burst-gap 100ms 2>"${err}" | head -c 1 >/dev/null`], { timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(readFileSync(err, 'utf8')).toBe('ethburst analyze: cannot write the results: EPIPE\n');
  });
});
