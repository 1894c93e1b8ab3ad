// The flight recorder and its captures, driven by the simulated ENA host on
// a virtual clock (a stand-in for ENA: real drops cannot be caused here).

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Aggregator, type BurstEvent } from '../../src/aggregation/aggregator.js';
import { CaptureDir, listCaptureFiles } from '../../src/export/capture-dir.js';
import { silentLogger, type LogFields, type Logger } from '../../src/log.js';
import { ReplaySource } from '../../src/sources/replay.js';
import { SimulateSource, type SimBurst } from '../../src/sources/simulate.js';
import { CaptureStore } from '../../src/state/captures.js';
import { DeviceRegistry } from '../../src/state/device-registry.js';
import type { Capture } from '../../src/state/flight-recorder.js';

const START = 1_764_000_000_000;

/** Whether this process may mount a tmpfs (root, outside a locked-down container). */
function canMountTmpfs(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'ethburst-mount-'));
  try {
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
    if (ok) spawnSync('umount', [dir]);
    return ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const mountable = canMountTmpfs();
const PPS = 'pps_allowance_exceeded';

function run(opts: { devices: number; durationMs: number; script?: SimBurst[]; events?: boolean; recorder?: ConstructorParameters<typeof DeviceRegistry>[0]['recorder'] }) {
  const registry = new DeviceRegistry({ intervalMs: 100, burstGapMs: 2000, windowsMs: [], recorder: opts.recorder ?? {} });
  const captures: Capture[] = [];
  registry.addListener({ onCapture: (c) => void captures.push(c) });
  const quiet = opts.events === false ? { resetEveryMs: 0, zeroReadEveryMs: 0, errorEveryMs: 0 } : {};
  const sim = new SimulateSource({ devices: opts.devices, startMs: START, durationMs: opts.durationMs, seed: 5, ...(opts.script ? { script: opts.script, randomBursts: false } : {}), ...quiet });
  while (sim.step(registry));
  registry.finish();
  return { registry, captures, sim };
}

/** The bursts `ethburst analyze` finds in a trace text: the replay source into the one aggregation path. */
async function burstsIn(text: string): Promise<BurstEvent[]> {
  const agg = new Aggregator({ windowsMs: [] });
  const found: BurstEvent[] = [];
  agg.addListener({ onBurst: (e) => void found.push({ ...e }) });
  await new ReplaySource('capture', { input: Readable.from([Buffer.from(text)]) }).run(agg);
  agg.finish();
  return found;
}

describe('flight recorder', () => {
  it('cuts one capture per finished burst, from 30 s before it to 30 s after, that replays to the same burst', async () => {
    // Random bursts on 2 devices, with resets, zero reads and failed reads between them.
    const { registry, captures } = run({ devices: 2, durationMs: 240_000 });
    const bursts = registry.bursts.query({});
    expect(bursts.length).toBeGreaterThan(10);
    expect(captures.map((c) => c.burst.id).sort((a, b) => a - b)).toEqual(bursts.map((b) => b.id).sort((a, b) => a! - b!));
    const endMs = START + 240_000;
    let checked = 0;
    for (const b of bursts) {
      const c = captures.find((x) => x.burst.id === b.id)!;
      expect([c.fromMs, c.toMs]).toEqual([b.start_ms - 30_000, b.end_ms + 30_000]);
      const all = c.text().trimEnd().split('\n').map((l) => JSON.parse(l) as { t: number; device?: string; node?: object });
      // The burst's device, and the node's counters of the same ticks (the simulator's stand-in for /proc/net/snmp).
      const lines = all.filter((l) => l.node === undefined);
      expect(lines.every((l) => l.device === b.device)).toBe(true);
      expect(all.length - lines.length).toBeGreaterThanOrEqual(lines.length - 1);
      // Whole ticks from the edge of the capture (or of the recording) on both sides.
      expect(lines[0]!.t).toBeGreaterThanOrEqual(Math.max(START, c.fromMs));
      expect(lines[0]!.t).toBeLessThan(Math.max(START, c.fromMs) + 100);
      if (c.toMs < endMs) {
        expect(lines.at(-1)!.t).toBeLessThanOrEqual(c.toMs);
        expect(lines.at(-1)!.t).toBeGreaterThan(c.toMs - 100);
      }
      // Only bursts with their whole pre-burst window recorded replay from a clean baseline.
      if (c.fromMs < START) continue;
      const again = await burstsIn(c.text());
      expect(again).toContainEqual(expect.objectContaining({ device: b.device, stat: b.stat, startMs: b.start_ms, endMs: b.end_ms, increase: b.increase, peakRatePerSecond: b.peak_rate_per_second }));
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('holds its memory from the first sample on: preallocated rings, nothing more over time', () => {
    const registry = new DeviceRegistry({ intervalMs: 100, burstGapMs: 2000, windowsMs: [], recorder: { spanMs: 60_000 } });
    const sim = new SimulateSource({ devices: 3, startMs: START, durationMs: 600_000, seed: 2 });
    let afterFirstTick = 0;
    for (let k = 0; sim.step(registry); k++) if (k === 0) afterFirstTick = registry.recorder!.bytes;
    // 3 devices × (600 + 16 rows) × (time + 6 stats + 4 traffic + error) doubles, and the node's (time + 14 counters).
    expect(afterFirstTick).toBe(3 * 616 * 12 * 8 + 616 * 15 * 8);
    expect(registry.recorder!.bytes).toBe(afterFirstTick);
    expect(registry.recorder!.deviceBytes('eth0')).toBe(616 * 12 * 8);
  });

  it('costs no memory per capture while the rings hold it; past the span it is gone, and a departed device’s are copied out', () => {
    const script = Array.from({ length: 40 }, (_, i) => ({ device: 'eth0', stat: PPS, startMs: START + 10_000 + i * 5000, durationMs: 300, packets: 100 + i }));
    const { registry, captures } = run({ devices: 1, durationMs: 230_000, script, events: false, recorder: { spanMs: 60_000, preMs: 1000, postMs: 1000 } });
    expect(captures).toHaveLength(40);
    const store = registry.captures;
    expect([store.size, store.bytes, store.evicted]).toEqual([40, 0, 0]);
    // A 60 s span is 616 rows, back to 168.4 s at the end (230 s): the captures
    // starting after that (bursts 33 to 40: 1 s before 170, 175, ... 205 s) are readable, the older ones not.
    const readable = captures.filter((c) => c.available).map((c) => c.burst.id);
    expect(readable).toEqual([33, 34, 35, 36, 37, 38, 39, 40]);
    const newest = captures.at(-1)!;
    const text = newest.text();
    // The device goes away: its ring is freed, its readable captures keep their rows.
    registry.deviceRemoved('eth0', START + 231_000);
    expect(newest.available).toBe(true);
    expect(newest.text()).toBe(text);
    expect(store.bytes).toBe(captures.filter((c) => c.available).reduce((n, c) => n + c.bytes, 0));
    expect(store.bytes).toBeGreaterThan(0);
    expect(captures[0]!.bytes).toBe(0);
    // Only the last 1000 are kept, and copied-out ones within their budget.
    const few = new CaptureStore(1024 * 1024, 3);
    for (const c of captures.slice(0, 5)) few.add(c);
    expect([few.size, few.evicted, few.get(1), few.get(5) === captures[4]]).toEqual([3, 2, undefined, true]);
  });
});

describe('--capture-dir', () => {
  it('writes each capture whole and holds its size cap under 1,000 bursts, deleting the oldest first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-captures-'));
    try {
      const script = Array.from({ length: 1000 }, (_, i) => ({ device: 'eth0', stat: PPS, startMs: START + 2000 + i * 3000, durationMs: 200, packets: 50 + (i % 7) }));
      const capDir = new CaptureDir(dir, 256 * 1024, silentLogger);
      const { captures } = run({ devices: 1, durationMs: 3_002_000, script, events: false, recorder: { preMs: 500, postMs: 500, captureMemoryBytes: 1024 * 1024 } });
      expect(captures).toHaveLength(1000);
      for (const c of captures) void capDir.write(c);
      await capDir.idle();
      const files = await listCaptureFiles(dir);
      const total = files.reduce((n, f) => n + f.bytes, 0);
      expect(total).toBeLessThanOrEqual(256 * 1024);
      expect(total).toBe(capDir.bytes);
      expect([capDir.written, capDir.failed]).toEqual([1000, 0]);
      expect(capDir.deleted).toBe(1000 - files.length);
      // The newest capture is there, whole, and replays to its burst.
      const newest = captures.at(-1)!;
      const name = files.find((f) => f.name.endsWith(`-${newest.burst.id}.jsonl`));
      expect(name).toBeDefined();
      const text = readFileSync(join(dir, name!.name), 'utf8');
      expect(text).toBe(newest.text());
      expect(await burstsIn(text)).toContainEqual(expect.objectContaining({ startMs: newest.burst.startMs, endMs: newest.burst.endMs, increase: 50 + (999 % 7) }));
      // A second writer on the same directory counts what the first left.
      expect(new CaptureDir(dir, 256 * 1024, silentLogger).bytes).toBe(total);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!mountable)(`a full disk, then a read-only one, is logged once each; the captures in memory stay, and no partial file is left${mountable ? '' : ' (skipped: cannot mount a tmpfs)'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ethburst-full-'));
    // A real file system of 96 KiB: the kernel says ENOSPC, then EROFS.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', dir]);
    const lines: { level: string; msg: string; fields: LogFields }[] = [];
    const log: Logger = { log: (level, msg, fields = {}) => void lines.push({ level, msg, fields }), enabled: () => true };
    try {
      const script = Array.from({ length: 60 }, (_, i) => ({ device: 'eth0', stat: PPS, startMs: START + 2000 + i * 3000, durationMs: 200, packets: 50 }));
      const { registry, captures } = run({ devices: 1, durationMs: 184_000, script, events: false, recorder: { preMs: 500, postMs: 500 } });
      expect(captures).toHaveLength(60);
      // The cap is far above what the disk holds: the disk fills first.
      const capDir = new CaptureDir(dir, 64 * 1024 * 1024, log);
      for (const c of captures.slice(0, 40)) void capDir.write(c);
      await capDir.idle();
      expect(capDir.written).toBeGreaterThan(0);
      expect(capDir.failed).toBeGreaterThan(1);
      expect(capDir.written + capDir.failed).toBe(40);
      const full = lines.filter((l) => l.level === 'error');
      expect(full).toHaveLength(1);
      expect(full[0]!.fields).toMatchObject({ dir, error: 'ENOSPC' });

      execFileSync('mount', ['-o', 'remount,ro', dir]);
      for (const c of captures.slice(40, 45)) void capDir.write(c);
      await capDir.idle();
      expect(lines.filter((l) => l.level === 'error').map((l) => l.fields['error'])).toEqual(['ENOSPC', 'EROFS']);

      // Room again: said once, and the next captures are written.
      execFileSync('mount', ['-o', 'remount,rw,size=4m', dir]);
      const before = capDir.written;
      for (const c of captures.slice(45)) void capDir.write(c);
      await capDir.idle();
      expect(capDir.written).toBe(before + 15);
      expect(lines.filter((l) => l.msg === 'writing burst captures again')).toHaveLength(1);

      // Every file there is whole: no temporary left, each the text of its capture.
      const names = readdirSync(dir);
      expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
      const byName = new Map(captures.map((c) => [`-${c.burst.id}.jsonl`, c]));
      for (const n of names) {
        const c = [...byName].find(([suffix]) => n.endsWith(suffix))![1];
        expect(readFileSync(join(dir, n), 'utf8')).toBe(c.text());
      }
      // None of it touched the recording: every capture is still served from memory.
      expect(registry.captures.size).toBe(60);
      expect(captures.every((c) => registry.captures.get(c.burst.id) === c && c.available)).toBe(true);
    } finally {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
