// A WatchSnapshot as lines of text, fitted to a terminal of a given size.
// Pure: no I/O, no clock; the tests feed it snapshots and read the lines.

import { shortStatName, statRank } from '../aggregation/stat-policy.js';
import { WATCH_WINDOW_MS, type WatchSeries, type WatchSnapshot } from './feed.js';
import { summarize, type RowSummary } from './summary.js';

export interface RenderOptions {
  readonly width: number;
  readonly height: number;
  /** ANSI colours (a terminal); plain text otherwise. */
  readonly color: boolean;
  /** Format wall times in UTC instead of the local zone (tests). */
  readonly utc?: boolean;
}

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ZERO = '·';
const natural = new Intl.Collator('en', { numeric: true }).compare;
const int = new Intl.NumberFormat('en-US');

const sgr = (on: boolean, code: string, text: string): string => (on ? `\x1b[${code}m${text}\x1b[0m` : text);

export function compact(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
  return int.format(Math.round(n));
}

function seconds(ms: number): string {
  return ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

function ago(ms: number): string {
  if (ms < 1000) return 'now';
  if (ms < 120_000) return `${Math.round(ms / 1000)}s ago`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m ago`;
  return `${(ms / 3_600_000).toFixed(1)}h ago`;
}

export function clock(ms: number, utc = false): string {
  const d = new Date(ms);
  const [h, m, s] = utc ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()] : [d.getHours(), d.getMinutes(), d.getSeconds()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(h)}:${p(m)}:${p(s)}.${Math.floor((((ms % 1000) + 1000) % 1000) / 100)}`;
}

/** Fits plain text into exactly `w` columns (every character here is one column wide). */
function fit(text: string, w: number, right = false): string {
  const chars = [...text];
  if (chars.length > w) return w <= 1 ? chars.slice(0, w).join('') : `${chars.slice(0, w - 1).join('')}…`;
  return right ? text.padStart(w + text.length - chars.length) : text.padEnd(w + text.length - chars.length);
}

export function sparkline(values: readonly number[], color: boolean, covered?: readonly boolean[]): string {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  let out = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (covered && !covered[i]) {
      out += ' ';
      continue;
    }
    if (!(v > 0)) {
      out += sgr(color, '2', ZERO);
      continue;
    }
    // Any drop shows at least the lowest bar; the tallest is the row's peak.
    const level = Math.min(BARS.length - 1, Math.floor(((BARS.length - 1) * v) / max + 0.5));
    out += sgr(color, '31', BARS[Math.max(0, level)]!);
  }
  return out;
}

function lastBurstText(r: RowSummary, nowMs: number, utc: boolean): string {
  const { open, lastBurst } = r.series;
  if (open) return `NOW: ${seconds(Math.max(0, open.endMs - open.startMs))}, ${int.format(open.increase)} so far`;
  if (!lastBurst) return '–';
  return `${clock(lastBurst.start_ms, utc)} ${seconds(lastBurst.duration_ms)} ${int.format(lastBurst.increase)} pkts, ${ago(nowMs - lastBurst.end_ms)}`;
}

export function renderScreen(snap: WatchSnapshot, o: RenderOptions): string[] {
  const width = Math.max(40, o.width);
  const height = Math.max(6, o.height);
  const c = o.color;
  const utc = o.utc ?? false;

  const series = [...snap.series].sort(
    (a, b) => natural(a.device, b.device) || statRank(a.stat) - statRank(b.stat) || natural(a.stat, b.stat),
  );
  const devW = Math.min(16, Math.max(6, ...series.map((s) => s.device.length)));
  const statW = Math.min(22, Math.max(4, ...series.map((s) => shortStatName(s.stat).length)));
  const numW = 8;
  const fixed = devW + 1 + statW + 1 + 1 + numW + 1 + numW + 1 + 7 + 2;
  const sparkW = Math.max(10, Math.min(WATCH_WINDOW_MS / 1000, width - fixed - 34));
  const lastW = Math.max(6, width - fixed - sparkW);

  const rows = series.map((s) => summarize(s, snap.nowMs, sparkW, snap.intervalMs));
  const lines: string[] = [];
  const title = `ethburst watch · ${snap.source} · every ${snap.intervalMs} ms · ${clock(snap.nowMs, utc)}${utc ? ' UTC' : ''} · q quits`;
  lines.push(sgr(c, '1', fit(title, width)));
  lines.push(
    sgr(
      c,
      '2',
      fit(
        `${fit('DEVICE', devW)} ${fit('STAT', statW)} ${fit(`LAST ${sparkW} s · 1 column = 1 s · height = max per-tick increase`, sparkW + 1)}` +
          `${fit('NOW/s', numW, true)} ${fit('PEAK/s', numW, true)} ${fit('DROP s', 7, true)}  LAST BURST`,
        width,
      ),
    ),
  );

  const footer = footerLines(snap, width, c);
  const room = height - lines.length - footer.length;
  let shown = rows;
  let hidden = 0;
  if (rows.length > room) {
    // Rows with drops first, then quiet ones as room allows, in stable order.
    const active = rows.filter((r) => r.active);
    const quiet = rows.filter((r) => !r.active);
    const keep = new Set([...active, ...quiet].slice(0, Math.max(0, room - 1)));
    shown = rows.filter((r) => keep.has(r));
    hidden = rows.length - shown.length;
  }
  for (const r of shown) {
    const label = `${fit(r.device, devW)} ${fit(shortStatName(r.stat), statW)} `;
    const nums = `${fit(r.nowRate > 0 ? compact(r.nowRate) : '0', numW, true)} ${fit(r.peakRate > 0 ? compact(r.peakRate) : '0', numW, true)} ${fit(String(r.secondsWithDrops), 7, true)}  `;
    const last = fit(lastBurstText(r, snap.nowMs, utc), lastW);
    lines.push(`${r.active ? sgr(c, '1', label) : label}${sparkline(r.spark, c, r.covered)} ${nums}${r.series.open ? sgr(c, '31;1', last) : last}`);
  }
  if (hidden > 0) lines.push(sgr(c, '2', fit(`… ${hidden} more rows without drops in the last minute (make the terminal taller, or pick devices with --device)`, width)));
  if (series.length === 0 && !snap.problem) lines.push(fit('waiting for the first samples…', width));
  // The windows come after every row that fits, in what room is left.
  const win = windowLines(series, devW, statW, width, c);
  if (win.length > 1 && height - footer.length - lines.length > 2) lines.push('', ...win.slice(0, height - footer.length - lines.length - 1));
  while (lines.length < height - footer.length) lines.push('');
  return [...lines, ...footer];
}

function quantile(v: number | null): string {
  return v === null ? '–' : compact(v);
}

/**
 * One line per (device, stat) with drops in its longest window: p99 and max
 * of per-second increase over each window, then burst size p99 and the
 * number of bursts over the longest. A title line first; nothing when no
 * stat has windows with drops.
 */
function windowLines(series: readonly WatchSeries[], devW: number, statW: number, width: number, c: boolean): string[] {
  const out: string[] = [];
  for (const s of series) {
    const ws = s.windows;
    const longest = ws?.at(-1);
    if (!ws || !longest || !longest.second_increase.max) continue;
    const perWindow = ws.map((w) => `${windowName(w.window_s)} p99 ${quantile(w.second_increase.p99)}/s max ${quantile(w.second_increase.max)}/s`);
    const size = longest.burst_size;
    const bursts = `burst size p99 ${quantile(size.p99)} (${size.count} burst${size.count === 1 ? '' : 's'} in ${windowName(longest.window_s)})`;
    out.push(fit(`${fit(s.device, devW)} ${fit(shortStatName(s.stat), statW)} ${[...perWindow, bursts].join(' · ')}`, width));
  }
  if (out.length === 0) return [];
  return [sgr(c, '2', fit('WINDOWS: drops per second (p99, max) over each window; burst sizes over the longest', width)), ...out];
}

/** 60 → "1m", 600 → "10m", 3600 → "1h". */
function windowName(s: number): string {
  return s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

function footerLines(snap: WatchSnapshot, width: number, c: boolean): string[] {
  const out: string[] = [];
  const notable = snap.devices.filter((d) => !d.up || d.backoff);
  const up = snap.devices.filter((d) => d.up).length;
  let devices = `${snap.devices.length} device${snap.devices.length === 1 ? '' : 's'}, ${up} up`;
  for (const d of notable) {
    devices += ` · ${d.name}: ${d.up ? '' : `DOWN${d.lastError ? ` (${d.lastError})` : ''}`}${d.backoff ? `${d.up ? '' : ', '}backed off to ${d.intervalMs ?? '?'} ms (${d.backoff})` : ''}`;
  }
  out.push(notable.length > 0 ? sgr(c, '33', fit(devices, width)) : sgr(c, '2', fit(devices, width)));
  // A device slower than its sampling: say what the data can and cannot show.
  const slow = snap.devices.map((d) => d.counterUpdate?.note).filter((n): n is string => typeof n === 'string');
  if (slow.length > 0) out.push(sgr(c, '33', fit(slow.join(' · '), width)));
  out.push(snap.problem ? sgr(c, '97;41', fit(snap.problem, width)) : '');
  return out;
}
