import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregation/aggregator.js';
import { analyzeTrace } from '../../src/commands/analyze.js';
import { InputError } from '../../src/errors.js';
import { ReplaySource } from '../../src/sources/replay.js';
import type { Sample, SampleSink } from '../../src/sampling/sample.js';
import { SimulateSource } from '../../src/sources/simulate.js';
import { formatTraceLine } from '../../src/sources/trace.js';
import { collect, ena, T0, tempDir, traceFile } from './helpers.js';

interface Seen {
  device: string;
  t: number;
  error: string | null;
  generation: number;
  names: string;
}

async function replayAll(path: string, opts = {}): Promise<{ seen: Seen[]; added: string[] }> {
  const seen: Seen[] = [];
  const added: string[] = [];
  const sink: SampleSink = {
    sample(s: Readonly<Sample>) {
      seen.push({ device: s.device, t: s.timeMs, error: s.error, generation: s.layout.generation, names: s.layout.names.join(',') });
    },
    deviceAdded(info) {
      added.push(info.name);
    },
  };
  await new ReplaySource(path, opts).run(sink);
  return { seen, added };
}

async function replayError(path: string, opts = {}): Promise<string> {
  try {
    await replayAll(path, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected the replay to fail');
}

describe('ReplaySource', () => {
  it('delivers samples and error records, bumping the layout generation when names change', async () => {
    const path = traceFile([
      { t: T0, stats: { a_allowance_exceeded: 1 } },
      '',
      { t: T0 + 100, error: 'ENODEV' },
      { t: T0 + 200, stats: { a_allowance_exceeded: 2 } },
      { t: T0 + 150, device: 'eth1', stats: { x: 1 } },
      { t: T0 + 300, stats: { a_allowance_exceeded: 3, b: 0 } },
      { t: T0 + 400, stats: { a_allowance_exceeded: 3, b: 0 } },
    ]);
    const { seen, added } = await replayAll(path);
    expect(added).toEqual(['eth0', 'eth1']);
    expect(seen.map((s) => [s.device, s.t - T0, s.error, s.generation])).toEqual([
      ['eth0', 0, null, 1],
      ['eth0', 100, 'ENODEV', 1],
      ['eth0', 200, null, 1],
      ['eth1', 150, null, 1],
      ['eth0', 300, null, 2],
      ['eth0', 400, null, 2],
    ]);
  });

  it('reports a malformed line as FILE:LINE: reason', async () => {
    const path = traceFile([{ t: T0, stats: { a: 1 } }, { t: T0 + 100, stats: { a: 2 } }, '{"t": 5, "device": "eth0", "stats": [1]}']);
    expect(await replayError(path)).toBe(`${path}:3: "stats" must be an object of name: value`);
    const bad = traceFile(['{"t": 1, "device": "eth0", "stats": {}}', 'not json']);
    expect(await replayError(bad)).toBe(`${bad}:2: not valid JSON`);
  });

  it('requires t to increase strictly per device', async () => {
    const path = traceFile([
      { t: T0, stats: { a: 1 } },
      { t: T0, device: 'eth1', stats: { a: 1 } },
      { t: T0, stats: { a: 2 } },
    ]);
    expect(await replayError(path)).toMatch(new RegExp(`^${path}:3: "t" ${T0} is not after the previous record of eth0`));
  });

  it('rejects bytes that are not UTF-8 instead of replacing them', async () => {
    const dir = tempDir();
    const path = join(dir, 'latin1.jsonl');
    const good = Buffer.from(`${JSON.stringify({ t: T0, device: 'eth0', stats: { a: 1 } })}\n`);
    const bad = Buffer.concat([Buffer.from('{"t": 2, "device": "eth'), Buffer.from([0xe9]), Buffer.from('", "stats": {}}\n')]);
    writeFileSync(path, Buffer.concat([good, bad]));
    expect(await replayError(path)).toBe(`${path}:2: not valid UTF-8`);
  });

  it('rejects an over-long line without reading the whole file', async () => {
    const dir = tempDir();
    const path = join(dir, 'long.jsonl');
    const line = `{"t": 1, "device": "eth0", "stats": {"a": 1}, "pad": "${'x'.repeat((1 << 20) + 10)}"}`;
    writeFileSync(path, `${JSON.stringify({ t: 0, device: 'eth0', stats: { a: 1 } })}\n${line}\n`);
    expect(await replayError(path)).toBe(`${path}:2: line longer than 1048576 bytes`);
    // Also when the long line has no newline and is the last line.
    writeFileSync(path, line);
    expect(await replayError(path, { maxLineBytes: 4096 })).toBe(`${path}:1: line longer than 4096 bytes`);
  });

  it('accepts CRLF line ends and a last line without newline', async () => {
    const dir = tempDir();
    const path = join(dir, 'crlf.jsonl');
    writeFileSync(path, `${JSON.stringify({ t: 1, device: 'eth0', stats: { a: 1 } })}\r\n${JSON.stringify({ t: 2, device: 'eth0', stats: { a: 2 } })}`);
    expect((await replayAll(path)).seen).toHaveLength(2);
  });

  it('fails with one line for a missing file', async () => {
    expect(await replayError('/nonexistent/trace.jsonl')).toBe('/nonexistent/trace.jsonl: cannot read: no such file');
  });

  it('stops early on stop()', async () => {
    const path = traceFile(Array.from({ length: 50 }, (_, i) => ({ t: T0 + i * 100, stats: { a: i } })));
    const src = new ReplaySource(path);
    let n = 0;
    await src.run({
      sample() {
        if (++n === 10) src.stop();
      },
    });
    expect(n).toBe(10);
  });

  it('paces at recorded speed', async () => {
    const path = traceFile([
      { t: T0, stats: { a: 1 } },
      { t: T0 + 120, stats: { a: 2 } },
    ]);
    const start = performance.now();
    await new ReplaySource(path, { speed: 'recorded' }).run({ sample() {} });
    // A lower bound only (no upper bound: CI machines stall).
    expect(performance.now() - start).toBeGreaterThanOrEqual(100);
  });
});

describe('replay of a written trace gives the increases computed by hand from the file', () => {
  it('matches an independent BigInt computation over the file', async () => {
    // A trace written exactly as `record` writes it (formatTraceLine), from
    // the simulator, with resets, failed reads and error records.
    const sim = new SimulateSource({ devices: 2, queues: 2, durationMs: 120_000, seed: 11, zeroReadEveryMs: 5000, resetEveryMs: 20_000, errorEveryMs: 8000 });
    const lines: string[] = [];
    while (sim.step({ sample: (s) => lines.push(formatTraceLine(s)) }));
    const dir = tempDir();
    const path = join(dir, 'sim.jsonl');
    writeFileSync(path, `${lines.join('\n')}\n`);

    const agg = new Aggregator({ windowsMs: [] });
    const c = collect(agg);
    await new ReplaySource(path).run(agg);
    agg.finish();

    // By hand: parse the file with BigInt, apply the rules literally
    // (issue 11: bogus reads, suspect runs, total_resets as evidence).
    const expected: string[] = [];
    const prev = new Map<string, Record<string, bigint>>();
    const held = new Map<string, { t: number; v: Record<string, bigint> }[]>();
    const allowance = (v: Record<string, bigint>): string[] => Object.keys(v).filter((k) => k.endsWith('_allowance_exceeded'));
    const emit = (dev: string, t: number, v: Record<string, bigint>): void => {
      const p = prev.get(dev);
      for (const k of allowance(v)) {
        const d = p === undefined ? 0n : v[k]! < p[k]! ? v[k]! : v[k]! - p[k]!;
        expected.push(`${dev} ${k} ${t} ${d}`);
      }
      prev.set(dev, v);
    };
    // A genuine run is accepted as its first and its latest sample.
    const release = (dev: string, run: { t: number; v: Record<string, bigint> }[]): void => {
      emit(dev, run[0]!.t, run[0]!.v);
      if (run.length > 1) emit(dev, run.at(-1)!.t, run.at(-1)!.v);
    };
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line) continue;
      const rec = JSON.parse(line) as { t: number; device: string; stats?: Record<string, number | string> };
      if (!rec.stats) continue;
      const v: Record<string, bigint> = {};
      for (const [k, x] of Object.entries(rec.stats)) v[k] = BigInt(x);
      if ('conntrack_allowance_available' in v && v['conntrack_allowance_available'] === 0n && allowance(v).every((k) => v[k] === 0n)) continue;
      const p = prev.get(rec.device);
      const run = held.get(rec.device) ?? [];
      if (p && allowance(v).every((k) => v[k] === 0n) && allowance(p).some((k) => p[k]! > 0n)) {
        run.push({ t: rec.t, v });
        held.set(rec.device, run);
        if ((v['total_resets'] ?? 0n) > (p['total_resets'] ?? 0n)) {
          held.delete(rec.device);
          release(rec.device, run);
        }
        continue;
      }
      if (run.length > 0) {
        held.delete(rec.device);
        if (allowance(v).some((k) => v[k]! < p![k]!)) release(rec.device, run);
      }
      emit(rec.device, rec.t, v);
    }
    const got = c.ticks.map((t) => `${t.device} ${t.stat} ${t.timeMs} ${t.increase}`);
    expect(got.sort()).toEqual(expected.sort());
    expect(sim.events.filter((e) => e.kind === 'zero-read' && e.detectable).length).toBeGreaterThan(5);
    expect(sim.events.filter((e) => e.kind === 'reset' && e.detectable).length).toBeGreaterThan(2);
  });
});

describe('analyzeTrace', () => {
  it('gives bursts sorted by start, device, stat and totals by device, stat', async () => {
    const path = traceFile([
      { t: T0, device: 'eth1', stats: ena({}) },
      { t: T0, stats: ena({}) },
      { t: T0 + 100, device: 'eth1', stats: ena({ pps: 3, bw_in: 1 }) },
      { t: T0 + 100, stats: ena({ bw_out: 2 }) },
    ]);
    const r = await analyzeTrace(path);
    expect(r.bursts.map((b) => `${b.device}/${b.stat}`)).toEqual(['eth0/bw_out_allowance_exceeded', 'eth1/bw_in_allowance_exceeded', 'eth1/pps_allowance_exceeded']);
    expect(r.totals.map((t) => `${t.device}/${t.stat}`)).toEqual([
      'eth0/bw_in_allowance_exceeded',
      'eth0/bw_out_allowance_exceeded',
      'eth0/conntrack_allowance_exceeded',
      'eth0/linklocal_allowance_exceeded',
      'eth0/pps_allowance_exceeded',
      'eth1/bw_in_allowance_exceeded',
      'eth1/bw_out_allowance_exceeded',
      'eth1/conntrack_allowance_exceeded',
      'eth1/linklocal_allowance_exceeded',
      'eth1/pps_allowance_exceeded',
    ]);
  });
});
