import { describe, expect, it } from 'vitest';
import { renderChart } from '../../src/bench/svg.js';
import { checkWellFormed } from './xml.js';

describe('the figure', () => {
  const svg = renderChart({
    title: 'per-tick increases vs a 30 s scrape <&>',
    subtitle: 'a "quoted" subtitle',
    xLabel: 'seconds',
    yLabel: 'packets per second (log)',
    xMin: 0,
    xMax: 300,
    yMin: 1,
    yMax: 1e8,
    xStep: 30,
    series: [
      { label: 'per-tick rate', color: '#1f77b4', kind: 'stems', points: [[12.1, 10], [19.1, 1e7], [50, 0]] },
      { label: 'rate(x[2m]) & friends', color: '#d62728', kind: 'steps', points: [[15, null], [30, 2e4], [45, 2e4], [60, null], [75, 5]] },
    ],
  });

  it('is well-formed XML with an svg root', () => {
    expect(checkWellFormed(svg)).toBeNull();
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('has one path per series, named, with the expected geometry', () => {
    const paths = [...svg.matchAll(/<path data-series="([^"]*)" d="([^"]*)"/g)];
    expect(paths.map((p) => p[1])).toEqual(['per-tick rate', 'rate(x[2m]) &amp; friends']);
    // Two stems (the zero is not drawn), each a move to the baseline and a vertical line.
    expect(paths[0]![2]!.match(/M/g)).toHaveLength(2);
    expect(paths[0]![2]!.match(/V/g)).toHaveLength(2);
    // Steps: null opens a gap, so two runs.
    expect(paths[1]![2]!.match(/M/g)).toHaveLength(2);
  });

  it('escapes text', () => {
    expect(svg).toContain('per-tick increases vs a 30 s scrape &lt;&amp;&gt;');
    expect(svg).toContain('a &quot;quoted&quot; subtitle');
  });

  it('the checker itself rejects broken XML', () => {
    expect(checkWellFormed('<svg><g></svg>')).not.toBeNull();
    expect(checkWellFormed('<svg a=1/>')).not.toBeNull();
    expect(checkWellFormed('<svg>a & b</svg>')).not.toBeNull();
    expect(checkWellFormed('<svg><g/></svg>')).toBeNull();
  });
});
