// The trace format: JSON Lines, one line per device per tick.
//
//   {"t": 1764000000123.4, "device": "eth0", "driver": "ena", "stats": {"name": value, ...}}
//   {"t": 1764000000223.4, "device": "eth0", "error": "ENODEV"}
//
// `t` is unix epoch ms and may be fractional. Values are non-negative
// integers: JSON numbers up to 2^53 - 1, decimal strings above (JSON numbers
// are doubles; a 64-bit counter written as a number would silently round).
// Stats appear in the driver's order with the names `ethtool -S` prints.

import type { Sample } from './sample.js';
import { u64IsSafe, u64Store, u64ToString } from './u64.js';

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
}

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
    throw new TraceSyntaxError('not valid JSON');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TraceSyntaxError('not a JSON object');
  const rec = obj as Record<string, unknown>;
  const t = rec['t'];
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new TraceSyntaxError('"t" must be a non-negative number (unix ms)');
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
