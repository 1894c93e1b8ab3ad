// Shared plumbing for the deploy/ tests: the repository root, temp dirs,
// the real promtool/amtool binaries (skipped with a visible reason when
// missing) and the metric contract.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { PassThrough } from 'node:stream';
import { which } from '../../src/harness/which.js';
import type { Command, CommandIO } from '../../src/cli/command.js';
import { parseFlags } from '../../src/cli/flags.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const repoPath = (...p: string[]): string => join(ROOT, ...p);
export const readRepo = (...p: string[]): string => readFileSync(repoPath(...p), 'utf8');

const PACKAGE: Record<string, string> = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  amtool: 'prometheus-alertmanager',
  'prometheus-alertmanager': 'prometheus-alertmanager',
  'systemd-analyze': 'systemd',
  kubectl: 'kubernetes-client',
};

/**
 * Suffix for a describe() title: empty when every tool exists, else the
 * reason the block is skipped, so the skip shows in the test report.
 */
export function missing(...names: string[]): string {
  const gone = names.filter((n) => which(n) === null);
  if (gone.length === 0) return '';
  const why = gone.map((n) => `${n} not found (apt-get install ${PACKAGE[n] ?? n})`).join(', ');
  console.warn(`deploy tests skipped: ${why}`);
  return ` [SKIPPED: ${why}]`;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, input: opts.input ?? '', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and throws with the tool's own output when it does not exit 0. */
export function ok(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'ethburst-deploy-'));
  write(name: string, text: string): string {
    const p = join(this.path, name);
    writeFileSync(p, text);
    return p;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export function yamlDocs(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('; '));
    return d.toJS() as unknown;
  });
}

export function yamlOne(text: string): unknown {
  return parseYaml(text, { strict: true, uniqueKeys: true }) as unknown;
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Walks a dotted path, failing with the path when a step is missing. */
export function at(v: unknown, path: string): unknown {
  let cur: unknown = v;
  for (const step of path.split('.')) {
    if (!isObj(cur) || !(step in cur)) throw new Error(`missing ${path} (at ${step})`);
    cur = cur[step];
  }
  return cur;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labels: readonly string[];
  readonly native?: true;
  readonly text?: false;
}

export interface MetricContract {
  readonly families: readonly MetricFamily[];
  readonly histogramBucketsUsed: Readonly<Record<string, readonly string[]>>;
  readonly prefixesFromDefaults: readonly string[];
}

export function contract(): MetricContract {
  return JSON.parse(readRepo('deploy/metric-names.json')) as MetricContract;
}

/** Every sample name the exporter exposes (histograms as _bucket/_sum/_count), plus Prometheus' own `up`. */
export function exposedNames(c: MetricContract = contract()): Set<string> {
  const out = new Set<string>(['up']);
  for (const f of c.families) {
    // A native histogram is one series under the family's own name; classic ones are _bucket/_sum/_count.
    if (f.type === 'histogram' && f.text !== false) for (const s of ['_bucket', '_sum', '_count']) out.add(f.name + s);
    if (f.type !== 'histogram' || f.native) out.add(f.name);
  }
  return out;
}

const NOT_METRICS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan', 'atan2', 'start', 'end',
]);

/**
 * Metric names an expression selects. A small scanner, not a PromQL parser:
 * strings, label matchers, ranges and grouping lists are blanked out, then
 * every identifier not followed by "(" and not a keyword is a metric name.
 * {__name__=...} selectors are refused, since they would hide names.
 */
export function metricNamesIn(expr: string): string[] {
  if (/__name__/.test(expr)) throw new Error(`__name__ selector in ${expr}`);
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\boffset\s+-?[0-9]+[a-z]+/g, ' ');
  const names = new Set<string>();
  const re = /(?<![A-Za-z0-9_:.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g;
  for (const m of s.matchAll(re)) {
    if (m[2]) continue;
    const id = m[1]!;
    if (NOT_METRICS.has(id.toLowerCase())) continue;
    names.add(id);
  }
  return [...names].sort();
}

/** Runs a command in-process with its own flag parser and returns its exit code and stdout. */
export async function runCommand(command: Command, name: string, args: string[]): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const io: CommandIO = { stdout, stderr: new PassThrough(), env: {}, signal: new AbortController().signal };
  const parsed = parseFlags(name, command.flags, args, {});
  const code = await command.run(parsed.flags, parsed.positionals, io);
  return { code, out };
}
