// deploy/grafana/ethburst.json: the shape Grafana needs for file
// provisioning and import, and every query parses (promtool, as recording
// rules) and names only metrics the exporter exposes.

import { afterAll, describe, expect, it } from 'vitest';
import { stringify as yamlStringify } from 'yaml';
import { which } from '../../src/harness/which.js';
import { TempDir, exposedNames, metricNamesIn, missing, ok, readRepo, type Obj } from './tools.js';

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
  format?: string;
  legendFormat?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  options?: Obj;
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
}

const text = readRepo('deploy/grafana/ethburst.json');
const dash = JSON.parse(text) as { uid: string; schemaVersion: number; panels: Panel[]; templating: { list: Variable[] } } & Obj;
const targets = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const variableQueries = dash.templating.list.filter((v) => v.type === 'query').map((v) => (typeof v.query === 'string' ? v.query : v.query.query));

/** Grafana macros and variables replaced the way a recording rule can hold them. */
function concrete(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '.*');
}

describe('Grafana dashboard model', () => {
  it('has a stable uid, schemaVersion 39 and no __inputs', () => {
    expect(dash.uid).toBe('ethburst-ena-allowances');
    expect(dash.uid.length).toBeLessThanOrEqual(40);
    expect(dash.schemaVersion).toBe(39);
    expect(dash).not.toHaveProperty('__inputs');
    expect(text).not.toMatch(/DS_PROMETHEUS|\$\{DS_/);
  });

  it('has a Prometheus datasource variable, and node and device variables', () => {
    const byName = new Map(dash.templating.list.map((v) => [v.name, v]));
    expect(byName.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(byName.get('instance')?.type).toBe('query');
    expect(byName.get('device')?.type).toBe('query');
  });

  it('every panel and target uses the datasource variable', () => {
    for (const p of dash.panels.filter((p) => p.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets ?? []) expect(t.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('has the panels the issue asks for', () => {
    const exprs = targets.map((t) => t.expr).join('\n');
    for (const s of ['bw_in', 'bw_out', 'pps', 'conntrack', 'linklocal']) expect(exprs).toContain(`rate(ethtool_${s}_allowance_exceeded_total`);
    expect(exprs).toContain('increase(ethtool_drop_seconds_total');
    expect(exprs).toContain('histogram_quantile(0.5, sum by (stat) (increase(ethtool_burst_size{');
    expect(exprs).toContain('increase(ethtool_burst_duration_seconds_count');
    expect(exprs).toContain('ethtool_peak_rate_per_second');
    expect(exprs).toContain('ethtool_conntrack_allowance_available');
    expect(exprs).toMatch(/\bup\{/);
    const heatmap = dash.panels.find((p) => p.type === 'heatmap' && p.title === 'Burst duration');
    expect(heatmap?.targets?.[0]).toMatchObject({
      expr: 'sum by (le) (increase(ethtool_burst_duration_seconds_bucket{instance=~"$instance", device=~"$device"}[$__rate_interval]))',
      format: 'heatmap',
      legendFormat: '{{le}}',
    });
    expect(heatmap?.options).toMatchObject({ calculate: false });
  });

  it('panels have unique ids and fit the 24-column grid without overlapping', () => {
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dash.panels) {
      const g = p.gridPos;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('queries use only metric names from deploy/metric-names.json', () => {
    const known = exposedNames();
    for (const t of targets) for (const name of metricNamesIn(concrete(t.expr))) expect(known.has(name), `${t.panel}: ${name}`).toBe(true);
    for (const q of variableQueries) {
      const m = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q);
      expect(m, q).not.toBeNull();
      expect(known.has(m![1]!), q).toBe(true);
    }
  });
});

const SKIP = missing('promtool');

describe(`dashboard queries parse${SKIP}`, () => {
  const dir = new TempDir();
  afterAll(() => dir.remove());
  it.skipIf(SKIP !== '')('every target expression, as a recording rule, passes promtool check rules', () => {
    const rules = targets.map((t, i) => ({ record: `dashboard:query_${i}`, expr: concrete(t.expr) }));
    const file = dir.write('dashboard-rules.yaml', yamlStringify({ groups: [{ name: 'dashboard', rules }] }));
    expect(ok(which('promtool')!, ['check', 'rules', file])).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});
