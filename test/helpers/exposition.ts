// Parses Prometheus text / OpenMetrics exposition into something tests can
// assert on: samples by name and label set, and TYPE/HELP lines.

export interface Parsed {
  types: Map<string, string>;
  helps: Map<string, string>;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

export function parseExposition(text: string): Parsed {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Parsed['samples'] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue;
    let m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) {
      helps.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]!] = lm[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, helps, samples };
}

/** The value of the one sample with this name whose labels include `want`; throws if not exactly one. */
export function value(p: Parsed, name: string, want: Record<string, string> = {}): number {
  const hits = p.samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(want)}, found ${hits.length}`);
  return hits[0]!.value;
}

export function has(p: Parsed, name: string, want: Record<string, string> = {}): boolean {
  return p.samples.some((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
}
