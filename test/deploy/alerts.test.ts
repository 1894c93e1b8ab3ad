// Every alert, unit-tested by the real promtool: fires on its scenario and
// stays silent otherwise (quiet node, counter reset), with samples scraped
// at 15, 30 and 60 s off the evaluation grid, evaluated every 60 s (AMP's
// and Prometheus' default) and every scrape interval. promtool ignores a
// group's own `interval:`, so the evaluation interval is set per test file.

import { afterAll, describe, expect, it } from 'vitest';
import { alertNames } from '../../src/export/rules.js';
import { alertingRules, promtoolTest, scenarios } from './scenarios.js';
import { which } from '../../src/harness/which.js';
import { TempDir, missing, readRepo, run } from './tools.js';

const SKIP = missing('promtool');
const SCRAPES = [15, 30, 60] as const;

describe(`alert unit tests with promtool test rules${SKIP}`, () => {
  const dir = new TempDir();
  let failed = false;
  afterAll(() => {
    // Kept on failure so the generated test files can be rerun by hand.
    if (!failed) dir.remove();
    else console.warn(`promtool test files kept in ${dir.path}`);
  });
  const rules = dir.write('rules.yaml', readRepo('deploy/prometheus/rules.yaml'));

  it('every alert has at least one scenario where it fires', () => {
    const fired = new Set(scenarios().flatMap((s) => s.checks.flatMap((c) => Object.keys(c.firing))));
    expect([...fired].sort()).toEqual(alertNames().sort());
    expect(alertingRules().length).toBeGreaterThanOrEqual(9);
  });

  for (const scrape of SCRAPES) {
    for (const evalS of [...new Set([60, scrape])]) {
      for (const [i, s] of scenarios().entries()) {
        it.skipIf(SKIP !== '')(`scrape ${scrape}s, evaluation ${evalS}s: ${s.name}`, () => {
          const file = dir.write(`s${scrape}-e${evalS}-${i}.test.yaml`, promtoolTest(s, rules, scrape, evalS));
          const r = run(which('promtool')!, ['test', 'rules', file]);
          if (r.status !== 0) {
            failed = true;
            throw new Error(`promtool test rules ${file} failed:\n${r.stdout}${r.stderr}`);
          }
        });
      }
    }
  }
});
