// The bench's output: one JSON document (--json) and a table a person
// reads in ten seconds. Targets are judged here, from the measurements,
// at run time.

import { isSkipped, type Skipped } from './context.js';
import type { CadenceResult, PhaseResult } from './cadence.js';
import type { CostResult } from './cost.js';
import type { BenchDevice } from './devices.js';
import type { FidelityResult, ScrapeView } from './fidelity.js';
import type { EnaResult } from './ena.js';
import type { LinksResult } from './links.js';
import { FLEET_INTERVALS_S, FLEET_NODES, ingestion, type FleetResult } from './fleet.js';
import type { MachineInfo } from './machine.js';
import type { OverheadResult } from './overhead.js';
import type { ScrapeResult } from './scrape.js';
import { TARGETS, judge, skipped, type TargetResult } from './targets.js';

export interface Comparison {
  name: string;
  status: 'measured' | 'skipped';
  reason?: string;
}

type Section<T> = T | Skipped;

export interface BenchReport {
  tool: 'ethburst bench';
  version: string;
  mode: 'quick' | 'full';
  startedAt: string;
  elapsedS: number;
  machine: MachineInfo;
  devices: { list: BenchDevice[]; notes: string[] };
  cost: Section<CostResult>;
  overhead: Section<OverheadResult>;
  cadence: Section<CadenceResult>;
  scrape: Section<ScrapeResult>;
  fidelity: Section<FidelityResult>;
  /** ENA only: ioctl latency and the device's counter refresh period. */
  ena: Section<EnaResult>;
  /** One netlink dump of every interface's counters, with 100 (and 500) veths: what ranking pods costs. */
  links?: Section<LinksResult>;
  /** Series and samples per node, and per month for a fleet, next to node_exporter's ethtool collector. */
  fleet?: Section<FleetResult>;
  comparisons: Comparison[];
  targets: TargetResult[];
  /** Plain-language notes: methods, skips, and why each MISS happened. */
  notes: string[];
  svgFile: string | null;
  interrupted: boolean;
  /** Wall time of each measurement, s. */
  timings: Record<string, number>;
}

// --- number formatting ------------------------------------------------------

/** Three significant digits, no exponent below 1e6, thousands separated. */
export function sig(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6) return x.toExponential(2).replace('e+', 'e');
  if (a >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toString();
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${sig(n / 1024)} KiB`;
  return `${sig(n / 1024 / 1024)} MiB`;
}

/**
 * Pads rows into aligned columns; the last cell of a row is not padded. A
 * row of one cell is a heading: printed as is, and not counted in widths.
 */
export function formatTable(rows: readonly (readonly string[])[], indent = '  ', gap = '  '): string {
  const cells = rows.filter((r) => r.length > 1);
  const cols = Math.max(0, ...cells.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < cols; c++) widths.push(Math.max(0, ...cells.map((r) => (c < r.length - 1 ? [...(r[c] ?? '')].length : 0))));
  return rows
    .map((r) => {
      if (r.length === 1) return r[0]!;
      const cells = r.map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat(widths[c]! - [...cell].length)));
      return (indent + cells.join(gap)).trimEnd();
    })
    .join('\n');
}

// --- targets -----------------------------------------------------------------

function phase(c: CadenceResult, p: PhaseResult['phase']): PhaseResult | undefined {
  return c.phases.find((x) => x.phase === p);
}

export function collectTargets(r: Pick<BenchReport, 'cost' | 'overhead' | 'cadence' | 'scrape' | 'fidelity' | 'mode' | 'fleet'>): TargetResult[] {
  const out: TargetResult[] = [];
  const cost = r.cost;
  if (isSkipped(cost)) {
    out.push(skipped(TARGETS.costBOverA, cost.reason), skipped(TARGETS.costCOverB, cost.reason));
  } else {
    const why = (x: { status: string; reason?: string }, name: string): string => (isSkipped(x) ? `${name} skipped: ${x.reason}` : '');
    out.push(judge(TARGETS.costBOverA, cost.ratios.bOverA, cost.ratios.bOverA === null ? why(cost.a, '(a)') || why(cost.b, '(b)') : undefined));
    out.push(judge(TARGETS.costCOverB, cost.ratios.cOverB, cost.ratios.cOverB === null ? why(cost.c, '(c)') || why(cost.b, '(b)') : undefined));
  }
  const o = r.overhead;
  if (isSkipped(o)) {
    for (const t of [TARGETS.serveCpu, TARGETS.serveCpuVsNodeExporter, TARGETS.serveIdleCpu, TARGETS.serveRss, TARGETS.serveRssGrowth]) out.push(skipped(t, o.reason));
  } else {
    const over = `${o.devices} ${o.source === 'simulate' ? 'simulated' : 'native'} devices, ${sig(o.windowS)} s window`;
    out.push(judge(TARGETS.serveCpu, o.cpuPercent, o.devices !== 8 ? `${over} (the target is for 8)` : over));
    const ne = isSkipped(cost) || isSkipped(cost.d) ? null : cost.d;
    // node_exporter's CPU if Prometheus scraped it every 15 s: its CPU per scrape of the same devices over 15 s.
    const neAt15s = ne ? (ne.cpuMsPerScrape / 15_000) * 100 : null;
    out.push(
      ne && neAt15s !== null && o.source !== 'simulate'
        ? judge(TARGETS.serveCpuVsNodeExporter, o.cpuPercent / neAt15s, `${sig(o.cpuPercent, 2)} % vs ${sig(neAt15s, 2)} % (node_exporter ${sig(ne.cpuMsPerScrape, 2)} ms CPU per scrape of ${ne.devicesScraped} devices, every 15 s)`)
        : skipped(TARGETS.serveCpuVsNodeExporter, ne ? 'serve measured over simulated devices' : 'node_exporter not measured'),
    );
    out.push(judge(TARGETS.serveIdleCpu, o.baselineCpuPercent, `replaying an empty trace, the last ${sig(o.baselineWindowS)} s of the window (from ${sig(o.warmupS + o.windowS - o.baselineWindowS)} s after start-up)`));
    out.push(judge(TARGETS.serveRss, o.rssMB.max, over));
    out.push(judge(TARGETS.serveRssGrowth, o.rssMB.growth, `${over}; the target is no growth over 10 min: run with --duration 15m`));
  }
  const c = r.cadence;
  if (isSkipped(c)) {
    for (const t of [TARGETS.latenessIdle, TARGETS.latenessLoad, TARGETS.blockedMissed, TARGETS.blockedLost]) out.push(skipped(t, c.reason));
  } else {
    const idle = phase(c, 'idle');
    const load = phase(c, 'load');
    const blocked = phase(c, 'blocked');
    out.push(judge(TARGETS.latenessIdle, idle?.lateness.p99, idle ? `${idle.ticks} ticks` : 'phase did not run'));
    out.push(judge(TARGETS.latenessLoad, load?.lateness.p99, load ? `${load.ticks} ticks` : 'phase did not run'));
    out.push(judge(TARGETS.blockedMissed, blocked?.missedTicks, blocked ? `${blocked.ticks} ticks, ${blocked.blocks?.count ?? 0} block(s) of 1 s` : 'phase did not run'));
    out.push(judge(TARGETS.blockedLost, blocked ? blocked.lostSamples + blocked.overruns : null, blocked ? `${blocked.samples} of ${blocked.expectedSamples} samples, ${blocked.overruns} ring overruns` : 'phase did not run'));
  }
  const s = r.scrape;
  if (isSkipped(s)) for (const t of [TARGETS.scrapeP99, TARGETS.scrapeVsNodeExporter]) out.push(skipped(t, s.reason));
  else {
    const eight = s.configs.find((x) => x.devices === 8 && x.stats === 'defaults');
    out.push(judge(TARGETS.scrapeP99, eight?.latencyMs.p99, eight ? `${eight.latencyMs.n} scrapes` : 'not measured'));
    const ne = isSkipped(cost) || isSkipped(cost.d) ? null : cost.d;
    out.push(
      ne && eight
        ? judge(TARGETS.scrapeVsNodeExporter, eight.latencyMs.p50 / ne.wallMsMedian, `${sig(eight.latencyMs.p50, 2)} ms (8 simulated ENA devices) vs ${sig(ne.wallMsMedian, 2)} ms (node_exporter, ${ne.devicesScraped} devices here)`)
        : skipped(TARGETS.scrapeVsNodeExporter, 'node_exporter not measured'),
    );
  }
  const fl = r.fleet;
  if (fl === undefined || isSkipped(fl)) out.push(skipped(TARGETS.seriesPerDevice, fl?.reason ?? 'not run'));
  else out.push(judge(TARGETS.seriesPerDevice, fl.seriesPerDeviceMax, 'the most one device reaches: bursts on every allowance, onsets learned, error codes, the ioctl histogram (section 8)'));
  const f = r.fidelity;
  if (isSkipped(f)) {
    for (const t of [TARGETS.fidelityFound, TARGETS.fidelityIncrease, TARGETS.fidelityDuration]) out.push(skipped(t, f.reason));
  } else {
    out.push(judge(TARGETS.fidelityFound, f.missedBursts, `${f.truthBursts - f.missedBursts} of ${f.truthBursts} found, ${f.spuriousBursts} spurious`));
    out.push(judge(TARGETS.fidelityIncrease, f.maxIncreaseError));
    out.push(judge(TARGETS.fidelityDuration, f.maxDurationErrorIntervals, `${sig(f.maxDurationErrorMs)} ms at ${f.intervalMs} ms ticks`));
  }
  return out;
}

function verdictOf(targets: readonly TargetResult[], id: string): string {
  return targets.find((t) => t.id === id)?.verdict ?? '';
}

function targetOf(targets: readonly TargetResult[], id: string): string {
  return targets.find((t) => t.id === id)?.target ?? '';
}

function valueOf(targets: readonly TargetResult[], id: string): number | null {
  return targets.find((t) => t.id === id)?.value ?? null;
}

function targetNote(targets: readonly TargetResult[], id: string): string {
  return targets.find((t) => t.id === id)?.note ?? '';
}

// --- rendering -----------------------------------------------------------------

function costRows(cost: CostResult, t: readonly TargetResult[]): string[][] {
  const rows: string[][] = [];
  const a = cost.a;
  const b = cost.b;
  const c = cost.c;
  const d = cost.d;
  rows.push(
    a.status === 'ok'
      ? ['(a) bare GSTATS ioctl loop (addon)', `${sig(a.cpuUsPerSample)} µs`, `wall ${sig(a.wallUsPerSample)} µs; median of ${a.repeats} loops per device`, '', '']
      : ['(a) bare GSTATS ioctl loop (addon)', 'skipped', a.reason, '', 'SKIP'],
  );
  rows.push(
    b.status === 'ok'
      ? [
          `(b) ethburst full path, ${b.intervalMs} ms ticks`,
          `${sig(b.cpuUsPerSample)} µs`,
          `(b)/(a) ${sig(cost.ratios.bOverA)}×; median of ${b.repeats} windows (${sig(b.minUsPerSample)}–${sig(b.maxUsPerSample)}); a tick costs ${sig(b.tickUsAllDevices)} µs with ${b.devicesPerTick} device${b.devicesPerTick === 1 ? '' : 's'}${b.tickUsOneDevice !== null ? `, ${sig(b.tickUsOneDevice)} µs with 1` : ''}`,
          targetOf(t, TARGETS.costBOverA.id),
          verdictOf(t, TARGETS.costBOverA.id),
        ]
      : ['(b) ethburst full path', 'skipped', b.reason, targetOf(t, TARGETS.costBOverA.id), 'SKIP'],
  );
  rows.push(
    c.status === 'ok'
      ? [
          '(c) spawn `ethtool -S DEV` (Showmax way)',
          `${sig(c.cpuUsPerSample)} µs`,
          `(c)/(b) ${sig(cost.ratios.cOverB)}×; ${c.spawns} spawns, wall p50 ${sig(c.wallUsMedian / 1000)} ms`,
          targetOf(t, TARGETS.costCOverB.id),
          verdictOf(t, TARGETS.costCOverB.id),
        ]
      : ['(c) spawn `ethtool -S DEV`', 'skipped', c.reason, targetOf(t, TARGETS.costCOverB.id), 'SKIP'],
  );
  rows.push(
    d.status === 'ok'
      ? [
          `(d) node_exporter ${d.version} ethtool collector`,
          `${sig(d.cpuUsPerSample)} µs`,
          `(d)/(b) ${sig(cost.ratios.dOverB)}×; ${sig(d.cpuMsPerScrape)} ms CPU per scrape of ${d.devicesScraped} device${d.devicesScraped === 1 ? '' : 's'}, collector ${sig(d.collectorMsMedian)} ms`,
          '',
          '',
        ]
      : ['(d) node_exporter ethtool collector', 'skipped', d.reason, '', 'SKIP'],
  );
  return rows;
}

function latencyCell(p: PhaseResult): string {
  return `${sig(p.lateness.p50, 2)} / ${sig(p.lateness.p99, 2)} / ${sig(p.lateness.max, 2)} ms`;
}

function viewRows(v: ScrapeView): string[][] {
  const range = v.rangeS >= 60 ? `${v.rangeS / 60}m` : `${v.rangeS}s`;
  const pt = v.promtool.status === 'skipped' ? v.promtool.reason : `promtool ${v.promtool.version} agrees on ${v.promtool.agreed}/${v.promtool.checked} evaluations`;
  return [
    [`${v.scrapeIntervalS} s scrape, rate(x[${range}])`, `${v.distinctEvents} events`, `${v.indistinguishable} of ${v.truthBursts} bursts indistinguishable; peak ${sig(v.truePeakRatePerSecond)}/s shown as ${sig(v.viewPeakRatePerSecond)}/s (${sig(v.peakUnderestimation)}× under)`, '', ''],
    [
      '',
      '',
      `increase(x[${range}]) of a lone burst ${signedPct(v.increaseRelErrorMedian)} median (${v.loneBursts} lone); durations only to ±${v.scrapeIntervalS} s (median error ${sig(v.durationErrorMedianS)} s)`,
      '',
      '',
    ],
    ['', '', `rate(x[${v.scrapeIntervalS}s]) returned a value ${v.naiveRateResults} of ${v.evaluations} times; ${pt}`, '', ''],
  ];
}

function signedPct(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${sig(x * 100, 2)}%` : '—';
}

export function renderReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`ethburst bench ${r.version} (${r.mode}) — ${r.startedAt}, ${sig(r.elapsedS)} s`);
  out.push(`machine: ${m.cpuModel} · ${m.cores} cores · ${m.kernel} · Node ${m.node} · load ${m.loadStart.join(' ')} → ${m.loadEnd.join(' ')}`);
  if (r.devices.list.length > 0) {
    const kinds = new Map<string, number>();
    for (const d of r.devices.list) kinds.set(`${d.driver} (${d.nStats} stats)`, (kinds.get(`${d.driver} (${d.nStats} stats)`) ?? 0) + 1);
    out.push(`devices: ${r.devices.list.map((d) => d.name).join(', ')} = ${[...kinds].map(([k, n]) => `${n}× ${k}`).join(' + ')}`);
  }
  for (const n of r.devices.notes) out.push(`         ${n}`);
  const rows: string[][] = [];
  const section = (title: string): void => void rows.push([''], [title]);
  // Cells come as [measurement, value, detail, target, verdict]; the long
  // detail goes last so it never pushes the verdict column out of view.
  const add = (c: string[]): void => void rows.push([`  ${c[0] ?? ''}`, c[1] ?? '', c[3] ?? '', c[4] ?? '', c[2] ?? '']);

  section('1 CPU per device-sample');
  if (isSkipped(r.cost)) add(['', 'skipped', r.cost.reason, '', 'SKIP']);
  else for (const row of costRows(r.cost, r.targets)) add(row);

  const o = r.overhead;
  section('2 serve at 10 Hz');
  if (isSkipped(o)) add(['', 'skipped', o.reason, '', 'SKIP']);
  else {
    const what = `${o.devices} ${o.source === 'simulate' ? 'simulated ENA' : 'native'} devices, ${sig(o.windowS)} s`;
    add([`CPU (${what})`, `${sig(o.cpuPercent, 2)} %`, `of one core (${sig(o.cpuUsPerDeviceSample)} µs per device-sample, all included); serve with nothing to sample: ${sig(o.baselineCpuPercent, 2)} %`, targetOf(r.targets, TARGETS.serveCpu.id), verdictOf(r.targets, TARGETS.serveCpu.id)]);
    add(['  vs node_exporter at 15 s', `${sig(valueOf(r.targets, TARGETS.serveCpuVsNodeExporter.id), 2)}×`, targetNote(r.targets, TARGETS.serveCpuVsNodeExporter.id), targetOf(r.targets, TARGETS.serveCpuVsNodeExporter.id), verdictOf(r.targets, TARGETS.serveCpuVsNodeExporter.id)]);
    add(['  nothing to sample', `${sig(o.baselineCpuPercent, 2)} %`, targetNote(r.targets, TARGETS.serveIdleCpu.id), targetOf(r.targets, TARGETS.serveIdleCpu.id), verdictOf(r.targets, TARGETS.serveIdleCpu.id)]);
    add(['RSS', `${sig(o.rssMB.max)} MB`, `max in window; start ${sig(o.rssMB.start)}, end ${sig(o.rssMB.end)} (${sig(o.rssMB.file)} in file pages, ${sig(o.rssMB.anon)} anonymous), peak since start ${sig(o.rssMB.peakHwm)} MB`, targetOf(r.targets, TARGETS.serveRss.id), verdictOf(r.targets, TARGETS.serveRss.id)]);
    add(['RSS growth', `${o.rssMB.growth >= 0 ? '+' : ''}${sig(o.rssMB.growth, 2)} MB`, `median of last quarter − first quarter; V8 heap used ${sig(o.heapUsedMB.start)} → ${sig(o.heapUsedMB.end)} MB${o.rssMB.ringFirstPass !== null ? `; sample ring's first pass: +${sig(o.rssMB.ringFirstPass, 2)} MB expected` : ''}`, targetOf(r.targets, TARGETS.serveRssGrowth.id), verdictOf(r.targets, TARGETS.serveRssGrowth.id)]);
    add([
      'GC pauses',
      `${o.gc.count} (${sig(o.gc.totalMs, 2)} ms)`,
      o.gc.count ? `mean ${sig(o.gc.meanMs, 2)} ms, longest ≤ ${sig(o.gc.maxBucketMs)} ms (bucket)` : 'none in the window',
      '',
      '',
    ]);
    if (o.sampler) add(['sampler', `${o.sampler.ticks} ticks`, `${o.sampler.missedTicks} missed, ${o.sampler.overruns} ring overruns`, '', '']);
  }

  const c = r.cadence;
  section('3 tick lateness p50 / p99 / max');
  if (isSkipped(c)) add(['', 'skipped', c.reason, '', 'SKIP']);
  else {
    for (const p of c.phases) {
      if (p.phase === 'idle') add(['idle', latencyCell(p), `${p.ticks} ticks, ${p.missedTicks} missed`, targetOf(r.targets, TARGETS.latenessIdle.id), verdictOf(r.targets, TARGETS.latenessIdle.id)]);
      if (p.phase === 'load')
        add([
          '/metrics at 50 req/s',
          latencyCell(p),
          `${p.ticks} ticks, ${p.missedTicks} missed; ${p.load?.completed ?? 0} scrapes (${sig(p.load?.ratePerS ?? 0)}/s), p99 ${sig(p.load?.latencyMs.p99, 2)} ms`,
          targetOf(r.targets, TARGETS.latenessLoad.id),
          verdictOf(r.targets, TARGETS.latenessLoad.id),
        ]);
      if (p.phase === 'blocked') {
        const v = [verdictOf(r.targets, TARGETS.blockedMissed.id), verdictOf(r.targets, TARGETS.blockedLost.id)];
        add([
          `loop blocked 1 s / 10 s`,
          latencyCell(p),
          `${p.missedTicks} missed ticks; ${p.samples}/${p.expectedSamples} samples (${p.lostSamples} lost), ${p.overruns} overruns`,
          '0 missed, 0 lost',
          v.includes('MISS') ? 'MISS' : v.every((x) => x === 'PASS') ? 'PASS' : 'SKIP',
        ]);
      }
    }
  }

  const s = r.scrape;
  section('4 /metrics as Prometheus scrapes it (OpenMetrics, gzip)');
  if (isSkipped(s)) add(['', 'skipped', s.reason, '', 'SKIP']);
  else {
    for (const x of s.configs) {
      const isTarget = x.devices === 8 && x.stats === 'defaults';
      add([
        `${x.devices} device${x.devices === 1 ? '' : 's'}, ${x.stats === 'all' ? '--stat-include .' : 'defaults'}`,
        `${sig(x.latencyMs.p50, 2)} / ${sig(x.latencyMs.p99, 2)} ms`,
        `p50 / p99 of ${x.latencyMs.n}; ${bytes(x.wireBytes)} gzip (${bytes(x.bytes)}), ${x.series} samples, at most ${x.seriesPerDeviceMax} per device`,
        isTarget ? targetOf(r.targets, TARGETS.scrapeP99.id) : '',
        isTarget ? verdictOf(r.targets, TARGETS.scrapeP99.id) : '',
      ]);
      if (isTarget) {
        for (const [label, t, value] of [
          ['  vs node_exporter', TARGETS.scrapeVsNodeExporter, `${sig(valueOf(r.targets, TARGETS.scrapeVsNodeExporter.id), 2)}×`],
        ] as const) {
          add([label, value, targetNote(r.targets, t.id), targetOf(r.targets, t.id), verdictOf(r.targets, t.id)]);
        }
      }
    }
    const lag = s.idleLagMs;
    if (lag) add(['idle event-loop lag', `${sig(lag.p50, 2)} / ${sig(lag.p99, 2)} ms`, `p50 / p99 (max ${sig(lag.max, 2)} ms) over 2 s without scrapes, nodejs_eventloop_lag_*_seconds of 1 simulated device`, '', '']);
  }

  const f = r.fidelity;
  section('5 fidelity: scripted bursts');
  if (isSkipped(f)) add(['', 'skipped', f.reason, '', 'SKIP']);
  else {
    const v = [TARGETS.fidelityFound, TARGETS.fidelityIncrease, TARGETS.fidelityDuration].map((x) => verdictOf(r.targets, x.id));
    add([
      `ethburst, ${f.intervalMs} ms ticks`,
      `${f.truthBursts - f.missedBursts}/${f.truthBursts} found`,
      `${f.spuriousBursts} spurious; increase error max ${sig(f.maxIncreaseError)}; duration error max ${sig(f.maxDurationErrorMs)} ms`,
      'all, exact, ≤ 1 tick',
      v.includes('MISS') ? 'MISS' : v.every((x) => x === 'PASS') ? 'PASS' : 'SKIP',
    ]);
    for (const view of f.views) for (const row of viewRows(view)) add(row);
  }

  const e = r.ena;
  section('6 ENA: GSTATS latency and counter refresh period');
  if (isSkipped(e)) add(['', 'skipped', e.reason, '', 'SKIP']);
  else {
    for (const d of e.devices) {
      add([
        `${d.name} ioctl p50 / p99 / max`,
        `${sig(d.ioctlUs.p50)} / ${sig(d.ioctlUs.p99)} / ${sig(d.ioctlUs.max)} µs`,
        `${d.reads} reads over ${sig(e.windowS)} s, ${d.errors} errors`,
        '',
        '',
      ]);
      add([
        `${d.name} counter refresh period`,
        d.refreshMs === null ? 'unknown' : `${sig(d.refreshMs)} ms`,
        `${d.refreshObservations} intervals between changes${d.settled ? '' : ' (not settled: too few)'}; sampled every ${e.intervalMs} ms`,
        '',
        '',
      ]);
    }
  }

  const l = r.links;
  if (l !== undefined) {
    section('7 pod veth counters: one netlink dump');
    if (isSkipped(l)) add(['', 'skipped', l.reason, '', 'SKIP']);
    else {
      for (const row of l.rows) {
        add([
          `${row.veths} veths (${row.interfaces} interfaces)`,
          `${sig(row.cpuUsPerDump)} µs CPU`,
          `per dump, wall ${sig(row.wallUsPerDump)} µs, ${row.dumps} dumps; 4 sysfs reads per veth instead: ${sig(row.sysfsCpuUs)} µs`,
          '',
          '',
        ]);
        add([
          `  while a burst is open`,
          `${sig(row.burstCpuPercent)} % of a core`,
          `a whole poll (dump, ${row.pods} pods by host route, snapshot) ${sig(row.cpuUsPerPoll)} µs CPU, ${row.burstPollsPerSecond} polls/s`,
          '',
          '',
        ]);
      }
    }
  }

  const fl = r.fleet;
  if (fl !== undefined) {
    section('8 fleet on paper: what one node sends, and a fleet per month');
    if (isSkipped(fl)) add(['', 'skipped', fl.reason, '', 'SKIP']);
    else {
      add(['series per ENA device, worst case', `${fl.seriesPerDeviceMax}`, targetNote(r.targets, TARGETS.seriesPerDevice.id), targetOf(r.targets, TARGETS.seriesPerDevice.id), verdictOf(r.targets, TARGETS.seriesPerDevice.id)]);
      for (const row of fl.rows) {
        const perS = FLEET_INTERVALS_S.map((i) => `${sig(ingestion(row.series, i).perSecond, 3)}/s at ${i} s`).join(', ');
        const month = FLEET_NODES.map((n) => `${sig(ingestion(row.series, 30, n).perMonth, 3)} for ${sig(n)} nodes`).join(', ');
        add([`${row.what}, ${row.enis} ENI${row.enis === 1 ? '' : 's'}`, `${sig(row.series)} series`, `samples ${perS}; per month at 30 s: ${month}`, '', '']);
      }
    }
  }

  out.push(formatTable(rows, '', '  '));
  out.push('');
  const pass = r.targets.filter((x) => x.verdict === 'PASS').length;
  const miss = r.targets.filter((x) => x.verdict === 'MISS');
  const skip = r.targets.filter((x) => x.verdict === 'SKIP');
  out.push(`targets: ${pass} PASS, ${miss.length} MISS, ${skip.length} SKIP (of ${r.targets.length})`);
  for (const t of miss) out.push(`  MISS ${t.what}: ${sig(t.value)}${t.unit === '×' ? '×' : ` ${t.unit}`}, target ${t.target}${t.note ? ` (${t.note})` : ''}`);
  for (const t of skip) out.push(`  SKIP ${t.what}: ${t.note ?? ''}`);
  const skippedComparisons = r.comparisons.filter((x) => x.status === 'skipped');
  if (skippedComparisons.length) {
    out.push('skipped comparisons:');
    for (const x of skippedComparisons) out.push(`  ${x.name}: ${x.reason ?? ''}`);
  }
  if (r.notes.length) {
    out.push('notes:');
    for (const n of r.notes) out.push(`  - ${n}`);
  }
  if (r.svgFile) out.push(`figure: ${r.svgFile}`);
  if (r.interrupted) out.push('INTERRUPTED: partial results');
  return `${out.join('\n')}\n`;
}
