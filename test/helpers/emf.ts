// Checks a CloudWatch Embedded Metric Format record the way CloudWatch
// Logs would: the specification's JSON schema (emf-schema.json, source named
// there) plus the rules the schema cannot say — every dimension reference is
// a string member of the root, every metric reference a number or an array
// of at most 100 numbers, a record within the 256 KB log event limit, and
// nothing after the JSON object on its line.

import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

const schema = JSON.parse(readFileSync(new URL('./emf-schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

export interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string; StorageResolution?: number }[];
}
export type EmfDocument = Record<string, unknown> & { _aws: { Timestamp: number; LogGroupName?: string; CloudWatchMetrics: EmfDirective[] } };

/** The problems with one line of EMF output (empty: valid). */
export function emfProblems(line: string): string[] {
  if (Buffer.byteLength(line) > 256 * 1024) return [`record of ${Buffer.byteLength(line)} bytes is over the 256 KB limit`];
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    return [`not one JSON value: ${(err as Error).message}`];
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return ['not a JSON object'];
  if (!validate(doc)) return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
  const root = doc as EmfDocument;
  const out: string[] = [];
  for (const d of root._aws.CloudWatchMetrics) {
    for (const set of d.Dimensions) {
      for (const key of set) if (typeof root[key] !== 'string') out.push(`dimension ${key}: the root has no string member of that name`);
      if (new Set(set).size !== set.length) out.push(`dimension set ${JSON.stringify(set)} repeats a key`);
    }
    for (const m of d.Metrics) {
      const v = root[m.Name];
      const ok = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
      if (Array.isArray(v)) {
        if (v.length > 100) out.push(`metric ${m.Name}: ${v.length} values (at most 100)`);
        if (!v.every(ok)) out.push(`metric ${m.Name}: an array member is not a finite number`);
      } else if (!ok(v)) out.push(`metric ${m.Name}: the root has no numeric member of that name`);
    }
  }
  // A key in two dimension sets is one problem.
  return [...new Set(out)];
}

/** Parses EMF output (one record per line) and throws on the first invalid record, naming it. */
export function parseEmf(text: string): EmfDocument[] {
  const lines = text.split('\n').filter((l) => l !== '');
  return lines.map((l, i) => {
    const p = emfProblems(l);
    if (p.length > 0) throw new Error(`EMF record ${i + 1} is invalid: ${p.join('; ')}\n${l.slice(0, 500)}`);
    return JSON.parse(l) as EmfDocument;
  });
}
