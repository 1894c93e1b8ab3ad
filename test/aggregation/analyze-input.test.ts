// `ethburst analyze` on traces as they come out of the field: a recorder
// killed mid-line, a trace piped in on stdin, a record that repeats a stat,
// a time no calendar can print. Run as a user runs it: the compiled CLI.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, usageFailure } from '../helpers/cli.js';
import { ena, parseAnalyzeJson, T0, tempDir } from './helpers.js';

interface Rec {
  t: number;
  stats: Record<string, number>;
}

const recs: Rec[] = [
  { t: T0, stats: ena({ pps: 10 }) },
  { t: T0 + 100, stats: ena({ pps: 30 }) },
  { t: T0 + 200, stats: ena({ pps: 35 }) },
  { t: T0 + 5000, stats: ena({ pps: 36, bw_in: 4 }) },
];

function line(r: Rec): string {
  return JSON.stringify({ t: r.t, device: 'eth0', driver: 'ena', stats: r.stats });
}

/** Writes exactly `text` (no newline added) and returns the path. */
function file(text: string | Buffer, name = 'trace.jsonl'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

const complete = recs.map((r) => `${line(r)}\n`).join('');

function analyze(path: string, ...flags: string[]): ReturnType<typeof runCli> {
  return runCli(['analyze', path, '--format', 'json', ...flags]);
}

describe('a last line cut off by a recorder killed mid-write', () => {
  const expected = analyze(file(complete)).stdout;

  it('is reported as one warning naming the file and line; the complete lines give the result, exit 0', () => {
    expect(parseAnalyzeJson(expected).bursts).toHaveLength(3);
    for (const cut of ['{', '{"t":1764000005100,"dev', `${line({ t: T0 + 5100, stats: ena({ pps: 99 }) }).slice(0, -1)}`]) {
      const path = file(complete + cut);
      const r = analyze(path);
      expect(r.stderr).toBe(`ethburst analyze: warning: ${path}:5: last line is cut off (recorder killed mid-write?); ignored\n`);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(expected);
    }
  });

  it('also when the cut falls inside a multi-byte character', () => {
    const partial = Buffer.from(line({ t: T0 + 5100, stats: ena({ pps: 99 }, { 'rx_é': 1 }) }));
    const cut = partial.subarray(0, partial.indexOf(Buffer.from('é')) + 1);
    const path = file(Buffer.concat([Buffer.from(complete), cut]));
    const r = analyze(path);
    expect([r.status, r.stdout]).toEqual([0, expected]);
    expect(r.stderr).toMatch(/^ethburst analyze: warning: .*:5: last line is cut off/);
  });

  it('in the table output too, with the warning on stderr only', () => {
    const r = runCli(['analyze', file(`${complete}{"t":17`)]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(runCli(['analyze', file(complete)]).stdout);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });

  it('a last line without newline that parses is a complete record and counts', () => {
    const extra = line({ t: T0 + 5100, stats: ena({ pps: 99, bw_in: 4 }) });
    const withNewline = analyze(file(`${complete}${extra}\n`));
    const without = analyze(file(complete + extra));
    expect([without.status, without.stderr]).toEqual([0, '']);
    expect(without.stdout).toBe(withNewline.stdout);
    expect(without.stdout).not.toBe(expected);
  });

  it('a last line without newline that is JSON but not a valid record is still an error', () => {
    const path = file(`${complete}{"t": 1764000005100, "device": "eth0", "stats": {"a": -1}}`);
    expect(usageFailure(analyze(path))).toBe(`${path}:5: stat "a": -1 is not a non-negative integer below 2^64 (use a decimal string above 2^53 - 1)`);
  });

  it('a cut-off line anywhere else is an error: FILE:LINE, exit 2, nothing on stdout', () => {
    const lines = complete.split('\n');
    const path = file([lines[0], lines[1]!.slice(0, 30), ...lines.slice(2)].join('\n'));
    expect(usageFailure(analyze(path))).toBe(`${path}:2: not valid JSON`);
    // The cut line is last but a newline follows it: the recorder finished it.
    const terminated = file(`${complete}{"t":17\n`);
    expect(usageFailure(analyze(terminated))).toBe(`${terminated}:5: not valid JSON`);
  });
});

describe('FILE "-" reads the trace from stdin', () => {
  it('gives what the file gives', () => {
    const fromFile = runCli(['analyze', file(complete)]);
    const fromStdin = runCli(['analyze', '-'], { input: complete });
    expect([fromStdin.status, fromStdin.stderr]).toEqual([0, '']);
    expect(fromStdin.stdout).toBe(fromFile.stdout);
  });

  it('names <stdin> in errors and warnings', () => {
    expect(usageFailure(runCli(['analyze', '-', '--format', 'json'], { input: `${complete}not json\n` }))).toBe('<stdin>:5: not valid JSON');
    const r = runCli(['analyze', '-', '--format', 'json'], { input: `${complete}{"t"` });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('ethburst analyze: warning: <stdin>:5: last line is cut off (recorder killed mid-write?); ignored\n');
  });

  it('an empty stdin is an empty trace', () => {
    const r = runCli(['analyze', '-', '--format', 'json']);
    expect([r.status, r.stderr, JSON.parse(r.stdout)]).toEqual([0, '', { bursts: [], totals: [], quantiles: [], learned_onsets: [] }]);
  });
});

describe('records JSON.parse would accept but the trace format does not', () => {
  it('a stat that appears twice in one record is an input error', () => {
    // JSON.parse would keep the 1000 and invent a burst.
    const dup = '{"t": 1764000000300, "device": "eth0", "stats": {"pps_allowance_exceeded": 35, "tx_timeout": 0, "pps_allowance_exceeded": 1000}}';
    const path = file([line(recs[0]!), line(recs[1]!), line(recs[2]!), dup, ''].join('\n'));
    expect(usageFailure(analyze(path))).toBe(`${path}:4: stat "pps_allowance_exceeded" appears twice`);
  });

  it('also when the two spellings differ only in JSON escapes, or other fields hold colons and braces', () => {
    const path = file(`${line(recs[0]!)}\n{"t": 1764000000100, "device": "eth:0", "note": {"x": "a:}b"}, "stats": {"a": 1, "\\u0061": 2}}\n`);
    expect(usageFailure(analyze(path))).toBe(`${path}:2: stat "a" appears twice`);
  });

  it('colons in names and strings alone are not mistaken for repeated stats', () => {
    const path = file(`{"t": 1764000000000, "device": "eth:0", "note": {"stats": {"x": 1, "x": 2}}, "stats": {"q:0:drops": 1, "a": "2"}}\n`);
    const r = analyze(path, '--burst-stat', 'drops$');
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(parseAnalyzeJson(r.stdout).totals.map((t) => `${t.device} ${t.stat}`)).toEqual(['eth:0 q:0:drops']);
  });

  it('a time beyond what a date can hold is an input error naming the line, in both formats', () => {
    for (const [t, shown] of [
      ['1e300', '1e+300'],
      ['8640000000000001', '8640000000000001'],
    ]) {
      const path = file(`${complete}{"t": ${t}, "device": "eth0", "stats": {"pps_allowance_exceeded": 40}}\n`);
      for (const format of ['table', 'json']) {
        const msg = usageFailure(runCli(['analyze', path, '--format', format]));
        expect(msg.startsWith(`${path}:5: "t" ${shown} is beyond the last representable date`)).toBe(true);
      }
    }
  });

  it('the last representable millisecond still prints', () => {
    const end = 8.64e15;
    const path = file(`{"t": ${end - 300}, "device": "eth0", "stats": {"pps_allowance_exceeded": 1}}\n{"t": ${end}, "device": "eth0", "stats": {"pps_allowance_exceeded": 2}}\n`);
    const r = runCli(['analyze', path]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n')[2]).toMatch(/^\+275760-09-12 23:59:59\.700\s+00:00:00\.000\s+300ms\s+eth0\s+pps_allowance_exceeded\s+1\s+3\.3\s+–\s+pps$/);
  });
});
