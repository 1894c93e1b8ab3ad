// The real promtool (Debian's `prometheus` package): its version, `check
// metrics` on an exposition (the tests), and the scrape-view model
// (src/bench/promql.ts) checked against the real PromQL engine: `promtool
// test rules` evaluates our expressions over the scraped series and
// reports every value that differs from what the model predicted (with the
// value it got). Cheap (tens of ms), so the bench runs it on every run
// where promtool is installed.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PromtoolEval {
  /** e.g. 'increase(x[2m])'; the series is named x. */
  expr: string;
  /** Milliseconds after the first sample. */
  atMs: number;
  /** The model's value; null for "no result". */
  expected: number | null;
}

export interface PromtoolCheck {
  status: 'ok';
  version: string;
  checked: number;
  agreed: number;
  disagreements: { expr: string; atMs: number; expected: number | null; got: number | null }[];
}

export function promtoolVersion(bin = 'promtool'): string | null {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return null;
  return /version (\S+)/.exec(r.stdout + r.stderr)?.[1] ?? 'unknown';
}

/** `promtool check metrics` on an exposition: its complaints, '' when clean. */
export function promtoolCheckMetrics(text: string, bin = 'promtool'): string {
  const r = spawnSync(bin, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
  return `${r.stdout}${r.stderr}`.trim() + (r.status === 0 ? '' : `\n(exit ${r.status})`);
}

/** Go's time.Duration formatting as promtool prints it ("1m30s", "2h0m5s", "15s", "0s"). */
export function parseGoDuration(text: string): number {
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const v = Number(m[1]);
    ms += m[2] === 'h' ? v * 3_600_000 : m[2] === 'm' ? v * 60_000 : m[2] === 's' ? v * 1000 : v;
  }
  return ms;
}

function parseSampleText(text: string): number | null {
  const t = text.trim();
  if (t === 'nil' || t === '') return null;
  // "{} 5.208333333333333E-02" (one sample; we only ever query one series)
  const m = /\}\s+(\S+)/.exec(t);
  return m ? Number(m[1]) : null;
}

/** Formats a float so Go parses back the same double. */
function goFloat(x: number): string {
  return Number.isInteger(x) ? `${x}` : x.toPrecision(17);
}

/** The promtool unit-test file for one regularly scraped series. */
export function promtoolTestFile(values: readonly number[], intervalMs: number, evals: readonly PromtoolEval[]): string {
  const lines = [
    'rule_files: []',
    // promtool loads input samples step by step at this interval, up to the
    // evaluation time: a coarse step would hide the newest samples.
    'evaluation_interval: 1s',
    'tests:',
    `  - interval: ${intervalMs / 1000}s`,
    '    input_series:',
    "      - series: 'x'",
    `        values: '${values.map(goFloat).join(' ')}'`,
    '    promql_expr_test:',
  ];
  for (const e of evals) {
    lines.push(`      - expr: '${e.expr}'`, `        eval_time: ${e.atMs / 1000}s`);
    if (e.expected === null) lines.push('        exp_samples: []');
    else lines.push('        exp_samples:', "          - labels: '{}'", `            value: ${goFloat(e.expected)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Parses promtool's failure report into (expr, time) -> got. */
export function parsePromtoolFailures(output: string): { expr: string; atMs: number; got: number | null }[] {
  const out: { expr: string; atMs: number; got: number | null }[] = [];
  const re = /expr: "([^"]*)", time: ([0-9hms.]+),\s*\n\s*exp:(.*)\n\s*got:(.*)/g;
  for (let m = re.exec(output); m !== null; m = re.exec(output)) out.push({ expr: m[1]!, atMs: parseGoDuration(m[2]!), got: parseSampleText(m[4]!) });
  return out;
}

/**
 * Runs the evaluations through promtool. Values that differ by less than
 * 1e-9 relative count as agreeing (promtool compares exactly; the last
 * bit can differ with evaluation order).
 */
export function checkWithPromtool(values: readonly number[], intervalMs: number, evals: readonly PromtoolEval[], bin = 'promtool'): PromtoolCheck {
  const version = promtoolVersion(bin);
  if (version === null) throw new Error('promtool is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-bench-promtool-'));
  try {
    const file = join(dir, 'scrape-view.test.yml');
    writeFileSync(file, promtoolTestFile(values, intervalMs, evals));
    const r = spawnSync(bin, ['test', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw r.error;
    const output = `${r.stdout}\n${r.stderr}`;
    const failures = r.status === 0 ? [] : parsePromtoolFailures(output);
    if (r.status !== 0 && failures.length === 0) throw new Error(`promtool test rules failed: ${output.trim().split('\n').slice(-3).join(' ')}`);
    const byKey = new Map(failures.map((f) => [`${f.expr}@${f.atMs}`, f.got]));
    const disagreements: PromtoolCheck['disagreements'] = [];
    for (const e of evals) {
      const key = `${e.expr}@${e.atMs}`;
      if (!byKey.has(key)) continue;
      const got = byKey.get(key)!;
      const close = got !== null && e.expected !== null && Math.abs(got - e.expected) <= 1e-9 * Math.max(1, Math.abs(got));
      if (!close) disagreements.push({ expr: e.expr, atMs: e.atMs, expected: e.expected, got });
    }
    return { status: 'ok', version, checked: evals.length, agreed: evals.length - disagreements.length, disagreements };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
