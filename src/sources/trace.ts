// The trace format: JSON Lines, one line per device per tick, and one for
// the node's counters before them.
//
//   {"t": 1764000000123.1, "node": {"ip_frag_creates": 12, ...}}
//   {"t": 1764000000123.4, "device": "eth0", "driver": "ena", "stats": {"name": value, ...},
//    "traffic": {"rx_packets": 1, "tx_packets": 2, "rx_bytes": 3, "tx_bytes": 4}}
//   {"t": 1764000000223.4, "device": "eth0", "error": "ENODEV"}
//
// "node" and "traffic" are context (src/sampling/context.ts): optional, and
// only the values the kernel gave appear; a trace without them replays as
// one whose context is not known. So are the pods' host-side veths, at a
// coarser cadence (src/talkers/):
//
//   {"t": 1764000000150.2, "links": {"eni1a2b3c": {"ips": ["10.1.0.10"], "pod": "shop/web-7d9f",
//    "counters": {"rx_packets": 1, "tx_packets": 2, "rx_bytes": 3, "tx_bytes": 4}}, ...}}
//
// ("pod": namespace/name, only where the Kubernetes API named it.)
//
// `t` is unix epoch ms and may be fractional. Values are non-negative
// integers: JSON numbers up to 2^53 - 1, decimal strings above (JSON numbers
// are doubles; a 64-bit counter written as a number would silently round).
// Stats appear in the driver's order with the names `ethtool -S` prints.

import { TRAFFIC_NAMES, type NodeContext } from '../sampling/context.js';
import type { LinkSnapshot } from '../talkers/top-talkers.js';
import type { Sample } from '../sampling/sample.js';
import { u64IsSafe, u64Store, u64ToNumber, u64ToString } from '../sampling/u64.js';

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
  return `${head},"driver":${JSON.stringify(s.driver)},"stats":{${parts.join(',')}}${contextObject(',"traffic":', TRAFFIC_NAMES, s.traffic)}}`;
}

/**
 * The trace line of a sample kept as doubles (the flight recorder's): stats
 * whose value is NaN were not in the device's layout then and are left out.
 */
export function formatRecordedLine(timeMs: number, device: string, driver: string, error: string | null, names: readonly string[], values: Float64Array, traffic: Float64Array): string {
  const head = `{"t":${timeMs},"device":${JSON.stringify(device)}`;
  if (error !== null) return `${head},"error":${JSON.stringify(error)}}`;
  return `${head},"driver":${JSON.stringify(driver)},${contextObject('"stats":', names, values) || '"stats":{}'}${contextObject(',"traffic":', TRAFFIC_NAMES, traffic)}}`;
}

/** The trace line of the node's counters, or null when none is known. */
export function formatContextLine(c: Readonly<NodeContext>): string | null {
  const node = contextObject('"node":', c.names, c.values);
  return node === '' ? null : `{"t":${c.timeMs},${node}}`;
}

/** The trace line of the pod veths' counters. */
export function formatLinksLine(l: Readonly<LinkSnapshot>): string {
  let out = '';
  for (let i = 0; i < l.names.length; i++) {
    const ips = JSON.stringify(l.ips[i] ?? []);
    const pod = l.pods?.[i];
    out += `${i === 0 ? '' : ','}${JSON.stringify(l.names[i])}:{"ips":${ips}${pod != null ? `,"pod":${JSON.stringify(pod)}` : ''}${contextObject(',"counters":', TRAFFIC_NAMES, l.values.subarray(4 * i, 4 * i + 4))}}`;
  }
  return `{"t":${l.timeMs},"links":{${out}}}`;
}

/** `prefix{"name":value,...}` of the known values, '' when none is. */
function contextObject(prefix: string, names: readonly string[], values: Float64Array): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    const v = values[i]!;
    if (v === v) out += `${out === '' ? '' : ','}${JSON.stringify(names[i])}:${v}`;
  }
  return out === '' ? '' : `${prefix}{${out}}`;
}

export type TraceRecord =
  | { kind: 'sample'; timeMs: number; device: string; driver: string; names: string[]; values: Uint32Array; traffic: Float64Array }
  | { kind: 'error'; timeMs: number; device: string; error: string }
  | { kind: 'context'; timeMs: number; names: string[]; values: Float64Array }
  | { kind: 'links'; timeMs: number; names: string[]; values: Float64Array; ips: string[][]; pods?: (string | null)[] };

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
  if ('links' in rec) {
    if ('device' in rec || 'node' in rec) throw new TraceSyntaxError('a "links" record has no "device" or "node"');
    return parseLinks(t, rec['links']);
  }
  if ('node' in rec) {
    if ('device' in rec) throw new TraceSyntaxError('a record has either "node" or "device", not both');
    const node = counters(rec['node'], '"node"');
    checkDuplicates(line, rec, node.names.length);
    return { kind: 'context', timeMs: t, names: node.names, values: node.values };
  }
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
  const traffic = new Float64Array(TRAFFIC_NAMES.length).fill(Number.NaN);
  let trafficKeys = 0;
  if ('traffic' in rec) {
    const given = counters(rec['traffic'], '"traffic"');
    for (let i = 0; i < given.names.length; i++) {
      const k = (TRAFFIC_NAMES as readonly string[]).indexOf(given.names[i]!);
      if (k < 0) throw new TraceSyntaxError(`"traffic": unknown counter ${JSON.stringify(given.names[i])} (known: ${TRAFFIC_NAMES.join(', ')})`);
      traffic[k] = given.values[i]!;
    }
    trafficKeys = given.names.length;
  }
  checkDuplicates(line, rec, names.length + trafficKeys);
  const values = new Uint32Array(names.length * 2);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const v = (stats as Record<string, unknown>)[name];
    if (!u64Store(v, values, 2 * i)) {
      throw new TraceSyntaxError(`stat "${name}": ${JSON.stringify(v)?.slice(0, 40)} is not a non-negative integer below 2^64 (use a decimal string above 2^53 - 1)`);
    }
  }
  return { kind: 'sample', timeMs: t, device, driver, names, values, traffic };
}

/**
 * JSON.parse keeps the last of two equal keys without a word. Every key
 * owns one ':' outside strings, so when the line has no more ':' than the
 * distinct keys of the record and its nested objects, nothing was repeated:
 * one native scan. Only lines with ':' elsewhere (in a string, in an
 * unknown nested field) pay for a real scan.
 */
function checkDuplicates(line: string, rec: Record<string, unknown>, nestedKeys: number): void {
  if (countColons(line) === Object.keys(rec).length + nestedKeys) return;
  const dup = findDuplicateKey(line);
  if (dup === null) return;
  if (dup.inObject === 'stats') throw new TraceSyntaxError(`stat ${JSON.stringify(dup.key)} appears twice`);
  throw new TraceSyntaxError(dup.inObject === null ? `key ${JSON.stringify(dup.key)} appears twice` : `"${dup.inObject}": ${JSON.stringify(dup.key)} appears twice`);
}

function parseLinks(t: number, obj: unknown): TraceRecord {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TraceSyntaxError('"links" must be an object of veth: {ips, counters}');
  const names = Object.keys(obj);
  const values = new Float64Array(4 * names.length).fill(Number.NaN);
  const ips: string[][] = [];
  const pods = new Array<string | null>(names.length).fill(null);
  let named = false;
  for (let i = 0; i < names.length; i++) {
    const where = `"links" ${JSON.stringify(names[i])}`;
    const link = (obj as Record<string, unknown>)[names[i]!];
    if (typeof link !== 'object' || link === null || Array.isArray(link)) throw new TraceSyntaxError(`${where} must be {ips, counters}`);
    const l = link as Record<string, unknown>;
    const addrs = l['ips'] ?? [];
    if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string' && a.length <= 64)) throw new TraceSyntaxError(`${where}: "ips" must be a list of addresses`);
    ips.push(addrs as string[]);
    const pod = l['pod'] ?? null;
    if (pod !== null && (typeof pod !== 'string' || !/^[a-z0-9.-]{1,253}\/[a-z0-9.-]{1,253}$/.test(pod))) throw new TraceSyntaxError(`${where}: "pod" must be "namespace/name"`);
    pods[i] = pod;
    if (pod !== null) named = true;
    if (l['counters'] === undefined) continue;
    const c = counters(l['counters'], `${where} "counters"`);
    for (let k = 0; k < c.names.length; k++) {
      const at = (TRAFFIC_NAMES as readonly string[]).indexOf(c.names[k]!);
      if (at < 0) throw new TraceSyntaxError(`${where}: unknown counter ${JSON.stringify(c.names[k])} (known: ${TRAFFIC_NAMES.join(', ')})`);
      values[4 * i + at] = c.values[k]!;
    }
  }
  return { kind: 'links', timeMs: t, names, values, ips, ...(named ? { pods } : {}) };
}

/** A context object of name: non-negative integer. */
function counters(obj: unknown, what: string): { names: string[]; values: Float64Array } {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TraceSyntaxError(`${what} must be an object of name: value`);
  const names = Object.keys(obj);
  const values = new Float64Array(names.length);
  const scratch = new Uint32Array(2);
  for (let i = 0; i < names.length; i++) {
    const v = (obj as Record<string, unknown>)[names[i]!];
    if (!u64Store(v, scratch, 0)) throw new TraceSyntaxError(`${what} ${JSON.stringify(names[i])}: ${JSON.stringify(v)?.slice(0, 40)} is not a non-negative integer below 2^64`);
    values[i] = u64ToNumber(scratch[0]!, scratch[1]!);
  }
  return { names, values };
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
function findDuplicateKey(text: string): { key: string; inObject: string | null } | null {
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
  const object = (inObject: string | null): { key: string; inObject: string | null } | null => {
    const seen = new Set<string>();
    i++;
    ws();
    if (text[i] === '}') return null;
    for (;;) {
      ws();
      const key = str();
      if (seen.has(key)) return { key, inObject };
      seen.add(key);
      ws();
      i++; // ':'
      ws();
      if (inObject === null && NESTED.has(key) && text[i] === '{') {
        const dup = object(key);
        if (dup !== null) return dup;
      } else {
        skip();
      }
      ws();
      if (text[i++] === '}') return null;
    }
  };
  ws();
  return object(null);
}

/** The nested objects whose keys a trace line must not repeat. */
const NESTED = new Set(['stats', 'traffic', 'node']);
