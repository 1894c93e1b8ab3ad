// A small SVG chart: time on x, a log-scale rate on y, stems for per-tick
// values and step lines for what a scrape shows. Hand-written so the bench
// needs no plotting dependency; every series is one <path> carrying
// data-series, so tests (and people) can find it.

export interface ChartSeries {
  label: string;
  color: string;
  /** stems: one vertical line per point; steps: the value holds until the next point. */
  kind: 'stems' | 'steps';
  /** [x, y]; y <= 0 or null draws at the baseline (a gap for steps). */
  points: readonly (readonly [number, number | null])[];
  dash?: string;
  width?: number;
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  xMin: number;
  xMax: number;
  /** Log scale bounds (> 0). */
  yMin: number;
  yMax: number;
  /** Distance between x ticks. */
  xStep: number;
  series: readonly ChartSeries[];
  width?: number;
  height?: number;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r1 = (x: number): string => (Math.round(x * 10) / 10).toString();

export function renderChart(o: ChartOptions): string {
  const W = o.width ?? 960;
  const H = o.height ?? 420;
  const left = 78;
  const right = 20;
  const top = o.subtitle ? 62 : 44;
  const bottom = 52;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const ly0 = Math.log10(o.yMin);
  const ly1 = Math.log10(o.yMax);
  const X = (x: number): number => left + ((x - o.xMin) / (o.xMax - o.xMin)) * pw;
  const Y = (v: number | null): number => {
    if (v === null || !(v > o.yMin)) return top + ph;
    return top + ph - ((Math.min(Math.log10(v), ly1) - ly0) / (ly1 - ly0)) * ph;
  };
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);
  if (o.subtitle) out.push(`<text x="${left}" y="42" fill="#444">${escapeXml(o.subtitle)}</text>`);
  // Grid: decades on y, xStep on x.
  out.push('<g stroke="#e3e3e3" stroke-width="1">');
  for (let d = Math.ceil(ly0); d <= Math.floor(ly1); d++) out.push(`<line x1="${left}" x2="${left + pw}" y1="${r1(Y(10 ** d))}" y2="${r1(Y(10 ** d))}"/>`);
  for (let x = o.xMin; x <= o.xMax + 1e-9; x += o.xStep) out.push(`<line x1="${r1(X(x))}" x2="${r1(X(x))}" y1="${top}" y2="${top + ph}"/>`);
  out.push('</g>');
  out.push('<g fill="#333">');
  for (let d = Math.ceil(ly0); d <= Math.floor(ly1); d++) {
    out.push(`<text x="${left - 6}" y="${r1(Y(10 ** d) + 4)}" text-anchor="end">${d === 0 ? '1' : `10^${d}`}</text>`);
  }
  for (let x = o.xMin; x <= o.xMax + 1e-9; x += o.xStep) out.push(`<text x="${r1(X(x))}" y="${top + ph + 16}" text-anchor="middle">${r1(x)}</text>`);
  out.push(`<text x="${left + pw / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text x="16" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + ph / 2})">${escapeXml(o.yLabel)}</text>`);
  out.push('</g>');
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const s of o.series) {
    let d = '';
    if (s.kind === 'stems') {
      for (const [x, y] of s.points) if (y !== null && y > o.yMin) d += `M${r1(X(x))} ${top + ph}V${r1(Y(y))}`;
    } else {
      let open = false;
      for (let i = 0; i < s.points.length; i++) {
        const [x, y] = s.points[i]!;
        const next = s.points[i + 1]?.[0] ?? o.xMax;
        if (y === null) {
          open = false;
          continue;
        }
        d += open ? `V${r1(Y(y))}H${r1(X(next))}` : `M${r1(X(x))} ${r1(Y(y))}H${r1(X(next))}`;
        open = true;
      }
    }
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<path data-series="${escapeXml(s.label)}" d="${d || `M${left} ${top + ph}`}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.5}"${dash}/>`);
  }
  // Legend.
  out.push('<g>');
  o.series.forEach((s, i) => {
    const y = top + 14 + i * 16;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<line x1="${left + pw - 300}" x2="${left + pw - 276}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${left + pw - 270}" y="${y}" fill="#222">${escapeXml(s.label)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
