#!/usr/bin/env node
// How many ticks per second the aggregation path sustains: 8 ENA devices x
// all their `ethtool -S` stats (2.16+ layout), one sample per device per tick.
// A measurement script, not a test (tests never assert timing).
//
//   npm run build:ts && node test/aggregation/throughput.mjs [devices] [queues] [ticks]
//
// The driver rewrites preallocated sample views in place, like the native
// sampler's ring; its own cost is measured separately and subtracted.

import { Aggregator } from '../../build/dist/src/aggregation/aggregator.js';
import { enaStatNames } from '../../build/dist/src/aggregation/ena-stats.js';
import { ALLOWANCE_STATS } from '../../build/dist/src/aggregation/stat-policy.js';
import { makeLayout } from '../../build/dist/src/sampling/sample.js';

const devices = Number(process.argv[2] ?? 8);
const queues = Number(process.argv[3] ?? 8);
const ticks = Number(process.argv[4] ?? 200_000);
const TWO_32 = 4294967296;

function makeDrive() {
  const names = enaStatNames({ queues });
  const layout = makeLayout(1, names);
  const allow = Int32Array.from(ALLOWANCE_STATS.map((s) => layout.index.get(s)));
  const moving = Int32Array.from(names.flatMap((n, i) => (/_(cnt|bytes|doorbells|napi_comp|tx_poll|csum_good)$/.test(n) ? [i] : [])));
  const views = [];
  const curs = [];
  for (let d = 0; d < devices; d++) {
    const cur = new Float64Array(names.length);
    for (let i = 0; i < moving.length; i++) cur[moving[i]] = 5e12 + i;
    curs.push(cur);
    views.push({ device: `eth${d}`, driver: 'ena', timeMs: 0, monoNs: NaN, ioctlNs: NaN, error: null, errno: 0, layout, values: new Uint32Array(2 * names.length), traffic: new Float64Array(4).fill(NaN) });
  }
  let k = 0;
  return {
    nStats: names.length,
    step(sink) {
      const t = 1_764_000_000_000 + k * 100;
      for (let d = 0; d < devices; d++) {
        const v = views[d];
        const cur = curs[d];
        const vals = v.values;
        for (let i = 0; i < moving.length; i++) {
          const p = moving[i];
          const x = cur[p] + 1000 + ((k + i) % 13);
          cur[p] = x;
          const lo = x % TWO_32;
          vals[2 * p] = lo;
          vals[2 * p + 1] = (x - lo) / TWO_32;
        }
        const phase = (k + d * 37) % 300;
        const stat = allow[(Math.floor(k / 300) + d) % allow.length];
        if (phase < 5) cur[stat] += 10 + phase * 100;
        for (let j = 0; j < allow.length; j++) {
          const p = allow[j];
          vals[2 * p] = cur[p] % TWO_32;
          vals[2 * p + 1] = Math.floor(cur[p] / TWO_32);
        }
        v.timeMs = t;
        sink.sample(v);
      }
      k++;
    },
  };
}

function measure(label, makeSink) {
  const drive = makeDrive();
  const sink = makeSink();
  // Warm-up: JIT, and 75 min of sample time so every window slot exists.
  for (let i = 0; i < 45_000; i++) drive.step(sink);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ticks; i++) drive.step(sink);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  return { label, seconds: s, nStats: drive.nStats };
}

const noop = measure('driver only', () => ({ sample() {} }));
const withWindows = measure('aggregator, 1m/10m/1h windows (serve)', () => {
  const a = new Aggregator();
  a.addListener({ onTick() {}, onSecond() {}, onBurst() {} });
  return a;
});
const listenersOnly = measure('aggregator, no windows, the same listeners (the windows\' own cost is the difference)', () => {
  const a = new Aggregator({ windowsMs: [] });
  a.addListener({ onTick() {}, onSecond() {}, onBurst() {} });
  return a;
});
const noWindows = measure('aggregator, no windows, no listeners', () => new Aggregator({ windowsMs: [] }));

console.log(`${devices} devices x ${noop.nStats} stats (${queues} queues), ${ticks} ticks measured, node ${process.version}`);
for (const r of [withWindows, listenersOnly, noWindows]) {
  const agg = r.seconds - noop.seconds;
  console.log(
    `${r.label}: ${Math.round(ticks / agg).toLocaleString('en-US')} ticks/s aggregation alone ` +
      `(${((agg / ticks / devices) * 1e9).toFixed(0)} ns/sample); with driver ${Math.round(ticks / r.seconds).toLocaleString('en-US')} ticks/s`,
  );
}
