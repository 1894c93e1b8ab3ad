// ethburst bench: the local benchmark harness (issue 6). Measures, in one
// run on this machine: CPU per device-sample against the alternatives,
// serve's steady-state overhead, sampler cadence under load and stalls,
// /metrics latency, and burst fidelity against what a 30 s / 60 s scrape
// shows. Prints a table (stdout), progress (stderr), and optionally JSON
// and an SVG figure. Targets are judged at run time; timings never fail
// the command, errors do (exit 1).
//
// Only the flags are loaded up front: the benchmark (src/bench, and the
// src/harness it runs children with) is imported inside run, so `--help`
// and every other command never load it (test/bench/imports.test.ts).

import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { defineCommand } from '../cli/command.js';
import { UsageError, oneLine } from '../errors.js';
import { version } from '../version.js';
import type { BenchContext, Skipped } from '../bench/context.js';
import type { DeviceSet } from '../bench/devices.js';
import type { BenchReport, Comparison } from '../bench/report.js';

/** Devices the bench samples when none is named: the real NICs, then veths up to this many. */
const DEFAULT_DEVICE_COUNT = 8;

function checkOutputPath(flag: string, path: string | undefined): void {
  if (path === undefined) return;
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${path}: directory ${dir} does not exist`);
}

export default defineCommand({
  name: 'bench',
  summary: 'Measure cost, cadence, scrape latency and fidelity on this machine, side by side with ethtool -S and node_exporter.',
  usage: '[--quick] [--json FILE] [--svg FILE] [--simulate-devices N] [--device NAME]... [--duration DUR] [--pods N]',
  flags: {
    quick: { type: 'boolean', help: 'short windows (under a minute in all); numbers are noisier' },
    json: { type: 'string', valueName: 'FILE', help: 'also write every result as JSON to FILE' },
    svg: { type: 'string', valueName: 'FILE', help: 'write the fidelity figure (per-tick increases vs a 30 s scrape) to FILE' },
    'simulate-devices': {
      type: 'int',
      min: 1,
      max: 256,
      valueName: 'N',
      deprecatedNames: ['simulate'],
      help: 'measure serve overhead (2) over N simulated ENA devices instead of native ones',
    },
    device: { type: 'string', repeatable: true, shared: true, valueName: 'NAME', help: `sample exactly these interfaces (default: the real NICs plus veths up to ${DEFAULT_DEVICE_COUNT})` },
    duration: { type: 'duration', min: 5_000, max: 3_600_000, help: 'serve overhead window (default 3m, 8s with --quick)' },
    pods: { type: 'int', min: 0, max: 1000, valueName: 'N', help: 'pods per node in the fleet table (8): node_exporter, at its defaults, exports every stat of each pod veth (default 30)' },
  },
  async run(flags, _positionals, io) {
    // The benchmark itself, loaded only when it runs.
    const [
      { measureCadence },
      { Cleanup, Interrupted, skip },
      { measureCost },
      { measureEna },
      { checkExplicitDevices, prepareDevices },
      { measureFidelity },
      { measureLinks },
      { currentLoad, machineInfo },
      { measureOverhead },
      { explain },
      { collectTargets, renderReport },
      { measureScrape },
      { measureFleet },
    ] = await Promise.all([
      import('../bench/cadence.js'),
      import('../bench/context.js'),
      import('../bench/cost.js'),
      import('../bench/ena.js'),
      import('../bench/devices.js'),
      import('../bench/fidelity.js'),
      import('../bench/links.js'),
      import('../bench/machine.js'),
      import('../bench/overhead.js'),
      import('../bench/notes.js'),
      import('../bench/report.js'),
      import('../bench/scrape.js'),
      import('../bench/fleet.js'),
    ]);

    // Every usage problem surfaces before anything is started or written.
    checkExplicitDevices(flags.device);
    checkOutputPath('json', flags.json);
    checkOutputPath('svg', flags.svg);

    const t0 = performance.now();
    const machine = machineInfo();
    const cleanup = new Cleanup();
    const ctx: BenchContext = {
      quick: flags.quick,
      signal: io.signal,
      cleanup,
      progress: (msg) => void io.stderr.write(`bench: ${msg}\n`),
    };
    const errors: string[] = [];
    let interrupted = false;
    let devset: DeviceSet = { status: 'ok', devices: [], veths: null, notes: [], addon: null, unavailable: 'not prepared' };
    const report: BenchReport = {
      tool: 'ethburst bench',
      version: version(),
      mode: flags.quick ? 'quick' : 'full',
      startedAt: new Date().toISOString(),
      elapsedS: 0,
      machine,
      devices: { list: [], notes: [] },
      cost: skip('not run'),
      overhead: skip('not run'),
      cadence: skip('not run'),
      scrape: skip('not run'),
      fidelity: skip('not run'),
      ena: skip('not run'),
      links: skip('not run'),
      fleet: skip('not run'),
      comparisons: [],
      targets: [],
      notes: [],
      svgFile: null,
      interrupted: false,
      timings: {},
    };

    // A measurement that throws is reported and the others still run;
    // only an interruption stops the sequence.
    async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T | Skipped> {
      if (interrupted) return skip('interrupted');
      const started = performance.now();
      try {
        return await fn();
      } catch (err) {
        if (err instanceof Interrupted || io.signal.aborted) {
          interrupted = true;
          return skip('interrupted');
        }
        errors.push(`${what}: ${oneLine(err)}`);
        return skip(`failed: ${oneLine(err)}`);
      } finally {
        report.timings[what] = Math.round((performance.now() - started) / 100) / 10;
      }
    }

    cleanup.install();
    try {
      ctx.progress(`${flags.quick ? 'quick' : 'full'} run; preparing devices`);
      const prepared = await guarded('devices', () => prepareDevices(ctx, flags.device, DEFAULT_DEVICE_COUNT));
      if (prepared.status === 'ok') devset = prepared;
      else report.devices.notes.push(`devices: ${prepared.reason}`);
      report.devices = { list: devset.devices, notes: [...report.devices.notes, ...devset.notes] };
      const native = devset.unavailable === null && devset.addon !== null ? devset.devices : null;
      const noNative = devset.unavailable ?? 'no devices';

      report.cost = native ? await guarded('cost', () => measureCost(ctx, devset.addon!, native)) : skip(noNative);

      let simulate = flags['simulate-devices'] ?? null;
      if (simulate === null && !native) {
        simulate = DEFAULT_DEVICE_COUNT;
        report.notes.push(`serve overhead used ${simulate} simulated ENA devices: ${noNative}`);
      }
      const windowMs = flags.duration ?? (flags.quick ? 8_000 : 180_000);
      report.overhead = await guarded('serve overhead', () => measureOverhead(ctx, { devices: native ?? [], simulate, windowMs }));
      report.cadence = native ? await guarded('cadence', () => measureCadence(ctx, native)) : skip(noNative);
      report.scrape = await guarded('scrape latency', () => measureScrape(ctx));
      report.fidelity = await guarded('fidelity', () => measureFidelity(ctx));
      const ena = (native ?? []).filter((d) => d.driver === 'ena');
      report.ena =
        ena.length > 0
          ? await guarded('ena', () => measureEna(ctx, ena))
          : skip('no ENA device here; on EC2 this measures GSTATS latency and how often the device refreshes its counters (see README, Performance)');
      // Creating veths needs what the native measurements need (root, iproute2).
      ctx.progress('8 fleet on paper: series per node');
      const veth = devset.devices.find((d) => d.kind === 'veth');
      report.fleet = await guarded('fleet', () => measureFleet({ pods: flags.pods ?? 30, vethStats: veth?.nStats ?? 10 }));
      report.links = native && devset.veths !== null ? await guarded('pod veth counters', () => measureLinks(ctx, devset.addon!)) : skip(native ? (flags.device.length > 0 ? 'devices named with --device: no veths are made' : 'no veths could be made here') : noNative);
    } finally {
      ctx.progress('cleaning up');
      cleanup.runAll();
      cleanup.uninstall();
    }

    machine.loadEnd = currentLoad();
    report.interrupted = interrupted;
    report.elapsedS = (performance.now() - t0) / 1000;
    report.comparisons = comparisons(report);
    report.targets = collectTargets(report);
    report.notes.push(...explain(report));
    for (const e of errors) report.notes.push(`error: ${e}`);

    let svg: string | null = null;
    if (report.fidelity.status === 'ok') {
      svg = report.fidelity.svg;
      report.fidelity.svg = null;
    }
    if (flags.svg !== undefined) {
      if (svg !== null) {
        writeFileSync(flags.svg, svg);
        report.svgFile = flags.svg;
      } else {
        report.notes.push(`no figure written to ${flags.svg}: the fidelity measurement did not run`);
      }
    }
    if (flags.json !== undefined) writeFileSync(flags.json, `${JSON.stringify({ ...report, errors }, jsonNumbers, 2)}\n`);
    io.stdout.write(renderReport(report));
    if (interrupted) return io.signal.reason === 'SIGTERM' ? 143 : 130;
    return errors.length > 0 ? 1 : 0;
  },
});

/** NaN and ±Infinity are not JSON: they become null. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

function comparisons(r: BenchReport): Comparison[] {
  const entry = (name: string, x: { status: string; reason?: string }): Comparison =>
    x.status === 'skipped' ? { name, status: 'skipped', reason: x.reason ?? 'unknown' } : { name, status: 'measured' };
  const out: Comparison[] = [];
  if (r.cost.status === 'skipped') {
    for (const n of ['(a) bare ioctl loop', '(b) ethburst full path', '(c) ethtool -S spawn', '(d) node_exporter ethtool collector']) out.push({ name: n, status: 'skipped', reason: r.cost.reason });
  } else {
    out.push(entry('(a) bare ioctl loop', r.cost.a));
    out.push(entry('(b) ethburst full path', r.cost.b));
    out.push(entry('(c) ethtool -S spawn', r.cost.c));
    out.push(entry('(d) node_exporter ethtool collector', r.cost.d));
  }
  if (r.fidelity.status === 'skipped') {
    out.push({ name: 'scrape view checked by promtool', status: 'skipped', reason: r.fidelity.reason });
  } else {
    const v = r.fidelity.views[0];
    out.push(v ? entry('scrape view checked by promtool', v.promtool) : { name: 'scrape view checked by promtool', status: 'skipped', reason: 'no scrape view' });
  }
  return out;
}
