// `ethburst bench` as a user (and CI) runs it. Timings and PASS/MISS are
// never asserted: only that the run completes, says what it measured or
// why it skipped it, and leaves nothing behind.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, finished, runCli, startCli, usageFailure } from '../helpers/cli.js';
import type { MachineInfo } from '../../src/bench/machine.js';
import type { BenchReport } from '../../src/bench/report.js';
import { checkWellFormed } from './xml.js';

const dir = mkdtempSync(join(tmpdir(), 'ethburst-bench-'));

/** Namespaces and links the bench run with this pid would have made. */
function leftovers(pid: number): string[] {
  const tag = String(pid % 100_000);
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout ?? '';
  return [...ns.split('\n'), ...links.split('\n')].filter((l) => l.includes(`ebbench${tag}`) || new RegExp(`\\beb${tag}v\\d`).test(l));
}

function childPids(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter((l) => l.trim() !== '').map(Number);
}

describe('ethburst bench: bad input stops it before anything starts', () => {
  it('a device that does not exist', () => {
    const line = usageFailure(runCli(['bench', '--quick', '--device', 'nosuchdev0']));
    expect(line).toMatch(/^ethburst bench: --device nosuchdev0: no such interface$/);
  });

  it('a JSON file in a directory that does not exist', () => {
    const line = usageFailure(runCli(['bench', '--quick', '--json', '/nonexistent/dir/bench.json']));
    expect(line).toMatch(/--json .*does not exist/);
  });

  it('a window too short to mean anything', () => {
    usageFailure(runCli(['bench', '--quick', '--duration', '1s']));
  });
});

describe('ethburst bench --quick', () => {
  it(
    'completes, writes JSON and SVG, and every comparison is measured or skipped with a reason',
    () => {
      const json = join(dir, 'bench.json');
      const svg = join(dir, 'bench.svg');
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [CLI, 'bench', '--quick', '--json', json, '--svg', svg], {
        encoding: 'utf8',
        timeout: 150_000,
      });
      const elapsed = Date.now() - t0;
      expect(r.status, r.stderr).toBe(0);
      expect(elapsed).toBeLessThan(150_000);
      // The table: machine header, the sections, target summary.
      expect(r.stdout).toMatch(/^ethburst bench \S+ \(quick\)/);
      expect(r.stdout).toMatch(/^machine: .+ · \d+ cores · Linux .+ · Node v\d+/m);
      for (const s of ['1 CPU per device-sample', '2 serve at 10 Hz', '3 tick lateness', '4 /metrics', '5 fidelity', '7 pod veth counters']) expect(r.stdout).toContain(s);
      expect(r.stdout).toMatch(/^targets: \d+ PASS, \d+ MISS, \d+ SKIP/m);

      // The report plus the errors (src/commands/bench.ts); NaN and ±Infinity are written as null.
      const doc = JSON.parse(readFileSync(json, 'utf8')) as BenchReport & { errors: string[] };
      expect(doc.tool).toBe('ethburst bench');
      expect(doc.mode).toBe('quick');
      expect(doc.machine).toMatchObject({
        cpuModel: expect.any(String),
        cores: expect.any(Number),
        kernel: expect.stringMatching(/^Linux /),
        node: process.version,
      } satisfies Partial<Record<keyof MachineInfo, unknown>>);
      for (const section of ['cost', 'overhead', 'cadence', 'scrape', 'fidelity', 'links'] as const) {
        const result = doc[section]!;
        expect(['ok', 'skipped']).toContain(result.status);
        if (result.status === 'skipped') expect(result.reason).toMatch(/\S/);
      }
      expect(doc.comparisons.map((c) => c.name)).toEqual([
        '(a) bare ioctl loop',
        '(b) ethburst full path',
        '(c) ethtool -S spawn',
        '(d) node_exporter ethtool collector',
        'scrape view checked by promtool',
      ]);
      for (const c of doc.comparisons) {
        expect(['measured', 'skipped']).toContain(c.status);
        if (c.status === 'skipped') expect(c.reason, c.name).toMatch(/\S/);
      }
      expect(doc.targets.length).toBe(17);
      for (const t of doc.targets) {
        expect(['PASS', 'MISS', 'SKIP']).toContain(t.verdict);
        expect(t.target).toMatch(/^[≤≥=] /);
        if (t.verdict === 'SKIP') expect(t.note).toMatch(/\S/);
        else expect(typeof t.value).toBe('number');
      }
      expect(doc.errors).toEqual([]);
      expect(doc.interrupted).toBe(false);
      if (doc.cost.status === 'ok') {
        for (const k of ['a', 'b', 'c', 'd'] as const) {
          const x = doc.cost[k];
          if (x.status === 'ok') expect(x.cpuUsPerSample).toBeGreaterThan(0);
          else expect(x.reason).toMatch(/\S/);
        }
      }
      // The fleet on paper: 1, 3 and 8 ENIs, ethburst in both formats next to node_exporter's two setups, and the series budget.
      expect(doc.fleet?.status).toBe('ok');
      if (doc.fleet?.status === 'ok') {
        expect(doc.fleet.rows.map((r) => r.enis)).toEqual([1, 1, 1, 1, 3, 3, 3, 3, 8, 8, 8, 8]);
        expect(doc.fleet.seriesPerDeviceMax).toBeLessThanOrEqual(60);
        expect(doc.targets.find((t) => t.id === 'series.per_device')?.verdict).toBe('PASS');
      }
      // With veths to make, one dump of 100 of them, measured against sysfs.
      if (doc.links?.status === 'ok') {
        expect(doc.links.rows.map((x) => x.veths)).toEqual([100]);
        expect(doc.links.rows[0]!.interfaces).toBeGreaterThanOrEqual(100);
        expect(doc.links.rows[0]!.cpuUsPerDump).toBeGreaterThan(0);
      }
      if (doc.scrape.status === 'ok') {
        expect(doc.scrape.configs.map((c) => `${c.devices}/${c.stats}`)).toEqual(['1/defaults', '8/defaults', '32/defaults', '1/all', '8/all', '32/all']);
      }
      if (doc.fidelity.status === 'ok') {
        expect(doc.fidelity.views.map((v) => v.scrapeIntervalS)).toEqual([30, 60]);
        expect(doc.svgFile).toBe(svg);
        const text = readFileSync(svg, 'utf8');
        expect(checkWellFormed(text)).toBeNull();
        expect(text).toContain('data-series="per-tick rate (ethburst, 100 ms)"');
        expect(text).toContain('data-series="rate(x[2m]) at a 30 s scrape"');
      }
      expect(leftovers(r.pid)).toEqual([]);
    },
    160_000,
  );
});

describe('ethburst bench is interrupted', () => {
  it(
    'SIGINT stops it, prints what it has, and removes its veths, namespace and children',
    async () => {
      const child = startCli(['bench', '--quick']);
      const done = finished(child);
      // Wait until it is inside a measurement that owns children or veths.
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error(`bench never reached the serve measurement: ${buf}`)), 90_000);
        child.stderr!.on('data', (d: Buffer) => {
          buf += d.toString();
          if (/2\/5 serve overhead/.test(buf)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      await new Promise((r) => setTimeout(r, 1500));
      // serve and the idle Node process it is compared with.
      const children = childPids(child.pid!);
      child.kill('SIGINT');
      const r = await done;
      expect(r.status).toBe(130);
      expect(r.stdout).toContain('INTERRUPTED: partial results');
      expect(children.length).toBeGreaterThan(0);
      for (const pid of children) expect(existsSync(`/proc/${pid}`), `child ${pid} still running`).toBe(false);
      expect(leftovers(child.pid!)).toEqual([]);
    },
    120_000,
  );
});
