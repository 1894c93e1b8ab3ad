// The per-tick path allocates nothing: after a warm-up long enough for every
// window slot to exist (> 1 h 10 min of sample time), a million more
// samples neither grow the retained heap nor cause more than a couple of
// young-generation collections. Counts only; no timing is asserted.

import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { Aggregator, type AggregationListener } from '../../src/aggregator.js';
import { Drive } from './drive.js';

function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

it('processes 1 M samples (8 devices x 125k ticks) with flat heap and no allocation per tick', async () => {
  const gc = getGc();
  const agg = new Aggregator();
  // Listeners like the exporter's: they read the views and keep numbers.
  let ticks = 0;
  let incSum = 0;
  let bursts = 0;
  let seconds = 0;
  const listener: AggregationListener = {
    onTick(e) {
      ticks++;
      incSum += e.increase;
    },
    onBurst() {
      bursts++;
    },
    onSecond() {
      seconds++;
    },
  };
  agg.addListener(listener);
  const drive = new Drive(8, 8);
  // 45,000 ticks = 75 min of samples: every 1 h window slot has been created.
  for (let i = 0; i < 45_000; i++) drive.step(agg);

  let minorGcs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
    }
  });
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  obs.observe({ entryTypes: ['gc'] });
  const burstsBefore = bursts;
  for (let i = 0; i < 125_000; i++) drive.step(agg);
  const afterRun = process.memoryUsage().heapUsed;
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;

  console.log(
    `allocation check: retained heap growth ${((after - before) / 1024).toFixed(1)} KiB, heap before gc +${((afterRun - before) / 1024).toFixed(1)} KiB, ` +
      `${minorGcs} minor GCs over 1,000,000 samples (${bursts - burstsBefore} bursts, ${seconds} seconds, ${ticks} tick events)`,
  );
  expect(bursts - burstsBefore).toBeGreaterThan(1000);
  expect(incSum).toBeGreaterThan(0);
  // Retained growth: flat (no per-tick state accumulates).
  expect(after - before).toBeLessThan(512 * 1024);
  // Garbage: 1 M samples at even 16 bytes each would be 16 MB of young
  // generation, i.e. several scavenges.
  expect(minorGcs).toBeLessThanOrEqual(2);
}, 120_000);
