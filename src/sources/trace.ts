// The trace format: JSON Lines, one line per device per tick.
//
//   {"t": 1764000000123.4, "device": "eth0", "driver": "ena", "stats": {"name": value, ...}}
//   {"t": 1764000000223.4, "device": "eth0", "error": "ENODEV"}
//
// `t` is unix epoch ms and may be fractional. Values are non-negative
// integers: JSON numbers up to 2^53 - 1, decimal strings above (JSON numbers
// are doubles; a 64-bit counter written as a number would silently round).
// Stats appear in the driver's order with the names `ethtool -S` prints.

import type { Sample } from '../sampling/sample.js';
import { u64IsSafe, u64Store, u64ToString } from '../sampling/u64.js';

/** One trace line (without the newline) for a sample. */
export function formatTraceLine(s: Readonly<Sample>): string {
  const head = `{"t":${s.timeMs},"device":${JSON.stringify(s.device)}`;
  if (s.error !== null) return `${head},"error":${JSON.stringify(s.error)}}`;
  const names = s.layout.names;
  const parts = new Array<string>(names.length);
  for (let i = 0; i < names.length; i++) {
    const lo = s.values[2 * i]!;
    const hi = s.values[2 * i + 1]!;
    const v = u64ToString(lo, hi);
    parts[i] = `${JSON.stringify(names[i])}:${u64IsSafe(hi) ? v : `"${v}"`}`;
  }
  return `${head},"driver":${JSON.stringify(s.driver)},"stats":{${parts.join(',')}}}`;
}

export type TraceRecord =
  | { kind: 'sample'; timeMs: number; device: string; driver: string; names: string[]; values: Uint32Array }
  | { kind: 'error'; timeMs: number; device: string; error: string };

/** Thrown by parseTraceLine; the caller adds FILE:LINE. */
export class TraceSyntaxError extends Error {
  override name = 'TraceSyntaxError';
  /**
   * The line is not JSON at all: what a line cut off mid-write looks like
   * (a strict prefix of a JSON object never parses), so the reader can tell
   * a recorder killed mid-line from a wrong record.
   */
  readonly notJson: boolean;

  constructor(message: string, notJson = false) {
    super(message);
    this.notJson = notJson;
  }
}

/** Largest |ms| a JS Date holds; beyond it no UTC time can be printed. */
export const MAX_TIME_MS = 8.64e15;

const ERROR_CODE = /^E[A-Z0-9]{1,30}$/;

/**
 * Parses one line. Returns null for a blank line. Throws TraceSyntaxError
 * with a short reason for anything else that is not a valid record.
 */
export function parseTraceLine(line: string): TraceRecord | null {
  if (line.trim() === '') return null;
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    throw new TraceSyntaxError('not valid JSON', true);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TraceSyntaxError('not a JSON object');
  const rec = obj as Record<string, unknown>;
  const t = rec['t'];
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new TraceSyntaxError('"t" must be a non-negative number (unix ms)');
  if (t > MAX_TIME_MS) throw new TraceSyntaxError(`"t" ${t} is beyond the last representable date (${MAX_TIME_MS} ms, year 275760)`);
  const device = rec['device'];
  if (typeof device !== 'string' || device === '' || device.length > 64) throw new TraceSyntaxError('"device" must be a non-empty string');
  if ('error' in rec) {
    const error = rec['error'];
    if (typeof error !== 'string' || !ERROR_CODE.test(error)) throw new TraceSyntaxError('"error" must be an error code such as "ENODEV"');
    if ('stats' in rec) throw new TraceSyntaxError('a record has either "error" or "stats", not both');
    return { kind: 'error', timeMs: t, device, error };
  }
  const driver = rec['driver'] ?? '';
  if (typeof driver !== 'string') throw new TraceSyntaxError('"driver" must be a string');
  const stats = rec['stats'];
  if (typeof stats !== 'object' || stats === null || Array.isArray(stats)) throw new TraceSyntaxError('"stats" must be an object of name: value');
  const names = Object.keys(stats);
  // JSON.parse keeps the last of two equal keys without a word. Every key
  // owns one ':' outside strings, so when the line has no more ':' than the
  // distinct keys of the record and its stats, nothing was repeated: one
  // native scan. Only lines with ':' elsewhere (in a string, in an unknown
  // nested field) pay for a real scan.
  if (countColons(line) !== Object.keys(rec).length + names.length) {
    const dup = findDuplicateKey(line);
    if (dup !== null) throw new TraceSyntaxError(dup.inStats ? `stat ${JSON.stringify(dup.key)} appears twice` : `key ${JSON.stringify(dup.key)} appears twice`);
  }
  const values = new Uint32Array(names.length * 2);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const v = (stats as Record<string, unknown>)[name];
    if (!u64Store(v, values, 2 * i)) {
      throw new TraceSyntaxError(`stat "${name}": ${JSON.stringify(v)?.slice(0, 40)} is not a non-negative integer below 2^64 (use a decimal string above 2^53 - 1)`);
    }
  }
  return { kind: 'sample', timeMs: t, device, driver, names, values };
}

function countColons(text: string): number {
  let n = 0;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) n++;
  return n;
}

/**
 * The first key repeated in the top-level object or in its "stats" object
 * of a line JSON.parse accepted (so the scan can trust the syntax).
 */
function findDuplicateKey(text: string): { key: string; inStats: boolean } | null {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  // Skips one value; inside strings a bracket is not structure.
  const skip = (): void => {
    let depth = 0;
    for (;;) {
      const c = text[i];
      if (c === undefined) return;
      if (c === '"') {
        str();
        if (depth === 0) return;
        continue;
      }
      if (c === '{' || c === '[') {
        depth++;
      } else if (c === '}' || c === ']') {
        if (depth === 0) return;
        if (--depth === 0) {
          i++;
          return;
        }
      } else if (depth === 0 && c === ',') {
        return;
      }
      i++;
    }
  };
  const object = (inStats: boolean): { key: string; inStats: boolean } | null => {
    const seen = new Set<string>();
    i++;
    ws();
    if (text[i] === '}') return null;
    for (;;) {
      ws();
      const key = str();
      if (seen.has(key)) return { key, inStats };
      seen.add(key);
      ws();
      i++; // ':'
      ws();
      if (!inStats && key === 'stats' && text[i] === '{') {
        const dup = object(true);
        if (dup !== null) return dup;
      } else {
        skip();
      }
      ws();
      if (text[i++] === '}') return null;
    }
  };
  ws();
  return object(false);
}
