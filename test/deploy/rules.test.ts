// Static checks of the generated rules: promtool accepts all three outputs
// (lint included), every rule uses only contract metric names, and every
// runbook_url points at a section of deploy/RUNBOOK.md.

import { afterAll, describe, expect, it } from 'vitest';
import { stringify as yamlStringify } from 'yaml';
import { GENERATED_FILES, ruleGroups } from '../../src/export/rules.js';
import { which } from '../../src/harness/which.js';
import { TempDir, at, contract, exposedNames, metricNamesIn, missing, ok, readRepo, yamlDocs, yamlOne } from './tools.js';

const SKIP = missing('promtool');

/** The Prometheus rules file inside each output. */
function rulesFileOf(format: keyof typeof GENERATED_FILES): string {
  const text = readRepo(GENERATED_FILES[format]);
  if (format === 'prometheus') return text;
  const [doc] = yamlDocs(text);
  if (format === 'operator') return yamlStringify(at(doc, 'spec'));
  return at(doc, 'spec.configuration') as string;
}

describe(`promtool check rules${SKIP}`, () => {
  const dir = new TempDir();
  afterAll(() => dir.remove());
  for (const format of Object.keys(GENERATED_FILES) as (keyof typeof GENERATED_FILES)[]) {
    it.skipIf(SKIP !== '')(`${GENERATED_FILES[format]} passes with --lint=all --lint-fatal`, () => {
      const file = dir.write(`${format}.yaml`, rulesFileOf(format));
      expect(ok(which('promtool')!, ['check', 'rules', '--lint=all', '--lint-fatal', file])).toMatch(/SUCCESS: 14 rules found/);
    });
  }
  it.skipIf(SKIP !== '')('promtool rejects a broken rule (the check can fail)', () => {
    const file = dir.write('broken.yaml', 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: increase(foo[5m] > 0\n');
    expect(() => ok(which('promtool')!, ['check', 'rules', file])).toThrow(/exited 1/);
  });
});

describe('rule contents', () => {
  const groups = ruleGroups();
  const recorded = new Set(groups.flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : []))));

  it('uses only metric names the exporter exposes (deploy/metric-names.json) or that a rule records', () => {
    const known = exposedNames();
    for (const g of groups) {
      for (const r of g.rules) {
        for (const name of metricNamesIn(r.expr)) {
          expect(known.has(name) || recorded.has(name), `${'alert' in r ? r.alert : r.record} uses ${name}`).toBe(true);
        }
      }
    }
  });

  it('selects only histogram buckets listed in the contract', () => {
    const used = contract().histogramBucketsUsed;
    for (const g of groups) {
      for (const r of g.rules) {
        for (const m of r.expr.matchAll(/([a-z_]+)_bucket\{[^}]*le="([^"]+)"/g)) {
          expect(used[m[1]!] ?? [], `${m[1]} le=${m[2]}`).toContain(m[2]);
        }
      }
    }
  });

  it('every alert has severity, summary, description and a runbook_url with a section in deploy/RUNBOOK.md', () => {
    const anchors = new Set(
      readRepo('deploy/RUNBOOK.md')
        .split('\n')
        .filter((l) => /^#{2,3} /.test(l))
        .map((l) => l.replace(/^#+ /, '').trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')),
    );
    for (const g of groups) {
      for (const r of g.rules) {
        if (!('alert' in r)) continue;
        expect(['warning', 'critical']).toContain(r.labels['severity']);
        expect(r.annotations['summary']).toMatch(/\{\{ \$labels\.instance \}\}/);
        expect(r.annotations['description']!.length).toBeGreaterThan(40);
        const anchor = r.annotations['runbook_url']!.split('#')[1]!;
        expect(anchors, `RUNBOOK.md has no section for #${anchor}`).toContain(anchor);
      }
    }
  });

  it('the metric-name scanner finds names and skips functions, labels and keywords', () => {
    expect(metricNamesIn('sum without (code) (increase(a_total{x="y"}[5m])) > ignoring (device) group_left b offset 5m or absent(up{job="j"})')).toEqual(['a_total', 'b', 'up']);
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(c_bucket[$__rate_interval]))) > 1e3')).toEqual(['c_bucket']);
  });

  it('the plain rules file is a single YAML document with two groups', () => {
    expect((yamlOne(readRepo(GENERATED_FILES.prometheus)) as { groups: unknown[] }).groups).toHaveLength(2);
  });
});
