// The per-tick path that `serve` runs allocates nothing: the device registry
// and the metric families following it (burst histograms, per-tick series,
// windows, the flight recorder with the node's counters) over the
// aggregator, fed
// 1 M samples after a warm-up long enough for every per-device structure to
// exist. Counts only; no timing is asserted.
//
// What is counted must not depend on how busy the machine is, so it is the
// bytes allocated (from V8's own before/after sizes of each collection), not
// the number of collections, which follows the young generation's size; and
// optimised code is compiled on the main thread, not on a background thread
// that a loaded machine starves (the hot path would run longer in tiers that
// box numbers on the heap), and without inlining (below).

import { GCProfiler, getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { testExporter } from '../helpers/exporter.js';
import { silentLogger } from '../../src/log.js';
import { Drive } from './drive.js';

setFlagsFromString('--no-concurrent-recompilation');
// Nor may it depend on what the compiler chose to inline: a number passed to
// a function that is not inlined is boxed on the heap, once per call. With
// inlining off, every such call shows.
setFlagsFromString('--no-turbo-inlining');

function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

it('serve’s sink takes 1 M samples (8 devices x 125k ticks) with flat heap and no allocation per tick', () => {
  const gc = getGc();
  let bursts = 0;
  // serve's wiring: the registry, every metric family following it, the burst log.
  const { registry } = testExporter({
    exportStat: () => true,
    // Every burst is a log line in serve; count them instead of printing.
    log: { ...silentLogger, log: (_level, msg) => void (msg === 'burst' && bursts++) },
  });
  const drive = new Drive(8, 8);
  for (const v of drive.views) registry.deviceAdded({ name: v.device, driver: 'ena', driverVersion: '', firmwareVersion: '', busInfo: '' }, drive.t0);
  // 45,000 ticks = 75 min of samples: every ring and window slot exists.
  for (let i = 0; i < 45_000; i++) drive.step(registry);

  // Per tick: failed reads, resets and suspect reads go on, but no burst
  // finishes (a finished burst allocates its record and log line, by design).
  drive.bursts = false;
  for (let i = 0; i < 3000; i++) drive.step(registry);
  const quiet = measure(gc, () => {
    for (let i = 0; i < 125_000; i++) drive.step(registry);
  });
  // With bursts: still nothing retained (recent bursts are a bounded ring).
  drive.bursts = true;
  const burstsBefore = bursts;
  const busy = measure(gc, () => {
    for (let i = 0; i < 125_000; i++) drive.step(registry);
  });
  console.log(
    `allocation check over 1,000,000 samples each: without bursts ${quiet.bytes} bytes allocated (${quiet.minorGcs} scavenges), retained ${(quiet.retained / 1024).toFixed(1)} KiB; ` +
      `with ${bursts - burstsBefore} bursts ${(busy.bytes / 1024).toFixed(0)} KiB allocated (${Math.round(busy.bytes / (bursts - burstsBefore))} bytes per burst), retained ${(busy.retained / 1024).toFixed(1)} KiB`,
  );
  expect(bursts - burstsBefore).toBeGreaterThan(1000);
  // One small object per sample would be 16 MB; allow a few KiB of one-off
  // work (a lazily built cache, a feedback vector).
  expect(quiet.bytes).toBeLessThan(64 * 1024);
  expect(quiet.retained).toBeLessThan(256 * 1024);
  // With bursts, what is allocated is per burst (its record, its log line,
  // the code paths a finished burst takes: ~58 KB with inlining off, about
  // half that with it; and its capture, 61 s of 100 ms rows of the device's
  // 12 doubles and the node's 15, ~135 KB), and nothing is retained beyond
  // the bounded recent-bursts ring and the capture store's byte budget
  // (full since the warm-up).
  expect(busy.bytes / (bursts - burstsBefore)).toBeLessThan(256 * 1024);
  expect(busy.retained).toBeLessThan(512 * 1024);
}, 120_000);

interface SpaceStats {
  heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[];
}

/** Bytes in the spaces where new objects are allocated. */
function young(s: SpaceStats): number {
  return s.heapSpaceStatistics.filter((x) => x.spaceName === 'new_space' || x.spaceName === 'new_large_object_space').reduce((a, x) => a + x.spaceUsedSize, 0);
}

function youngNow(): number {
  return getHeapSpaceStatistics()
    .filter((x) => x.space_name === 'new_space' || x.space_name === 'new_large_object_space')
    .reduce((a, x) => a + x.space_used_size, 0);
}

/**
 * Bytes allocated during `run`, exactly: what the young generation gained
 * between collections, summed (V8's GCProfiler reports its size before and
 * after each one). Unlike a count of collections, this does not depend on
 * how big the young generation happened to be, and no other code runs
 * during the synchronous `run`. Also the heap retained after full GCs.
 */
function measure(gc: () => void, run: () => void): { bytes: number; minorGcs: number; retained: number } {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const profiler = new GCProfiler();
  let last = youngNow();
  profiler.start();
  run();
  const end = youngNow();
  const stats = (profiler.stop()?.statistics ?? []) as unknown as ({ gcType: string; beforeGC: SpaceStats; afterGC: SpaceStats })[];
  let bytes = 0;
  for (const g of stats) {
    bytes += young(g.beforeGC) - last;
    last = young(g.afterGC);
  }
  bytes += end - last;
  gc();
  gc();
  return { bytes, minorGcs: stats.filter((g) => g.gcType === 'Scavenge').length, retained: process.memoryUsage().heapUsed - before };
}
