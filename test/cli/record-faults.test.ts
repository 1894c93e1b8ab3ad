// `ethburst record` when its output fails or stops being read, and when a
// terminal hangs up: every line that reaches the output is whole, a failed
// write is one line on stderr and exit 1, lost samples are counted and
// reported. Devices are fake ENA (the LD_PRELOAD shim), so no NIC is needed.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTraceLine, type TraceRecord } from '../../src/sources/trace.js';
import { CLI, finished, startCli, type Result } from '../helpers/cli.js';
import { isRoot } from '../helpers/host.js';
import { until } from '../../src/harness/wait.js';
import { haveCc, shimEnv } from '../helpers/shim.js';

const dir = mkdtempSync(join(tmpdir(), 'ethburst-record-faults-'));
const skip = haveCc ? '' : '(skipped: needs a C compiler for the fake-ENA shim)';

let child: ChildProcess | null = null;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = null;
});

type DeviceLine = Exclude<TraceRecord, { kind: 'context' | 'links' }>;

/** Every line parses and the text ends with a newline: nothing was cut. Returns the device lines. */
function wholeLines(text: string): DeviceLine[] {
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => {
      const r = parseTraceLine(l);
      expect(r).not.toBeNull();
      return r!;
    })
    .filter((r): r is DeviceLine => r.kind !== 'context' && r.kind !== 'links');
}

/** The single stderr line of a failed run, after checking exit 1. */
function failure(r: Result): string {
  expect(r.status).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/** Starts `record` with stdout going to `stdout` (a fd or 'pipe'). */
function record(args: string[], stdout: number | 'pipe', devices = 'ena0'): ChildProcess {
  child = spawn(process.execPath, [CLI, 'record', ...args], { env: { ...process.env, ...shimEnv(devices) }, stdio: ['ignore', stdout, 'pipe'] });
  return child;
}

/** Resolves once the native sampler thread runs: signal handlers are installed by then. */
function samplerRunning(c: ChildProcess): Promise<true> {
  return until(() => {
    const tasks = readdirSync(`/proc/${c.pid}/task`);
    return tasks.some((t) => {
      try {
        return readFileSync(`/proc/${c.pid}/task/${t}/comm`, 'utf8').trim() === 'ethburst-sample';
      } catch {
        return false;
      }
    });
  }, 'the sampler thread');
}

function toDevFull(args: string[]): ChildProcess {
  const fd = openSync('/dev/full', 'w');
  try {
    return record(args, fd);
  } finally {
    closeSync(fd);
  }
}

const DEV_FULL = 'ethburst record: writing the trace to stdout (/dev/full): ENOSPC (no space left on device)';

describe.skipIf(!haveCc)(`record: a write that fails is an error, never exit 0 ${skip}`, () => {
  it('stdout is /dev/full: exit 1 and one line naming it', async () => {
    expect(failure(await finished(toDevFull(['--duration', '300ms'])))).toBe(DEV_FULL);
  });

  it('stdout is /dev/full and SIGTERM comes first: the failed final flush is still exit 1', async () => {
    const c = toDevFull([]);
    await samplerRunning(c);
    // Past its first tick, so the final flush has lines to write; usually
    // still before the first periodic flush (500 ms). Either way: exit 1.
    await new Promise((r) => setTimeout(r, 200));
    c.kill('SIGTERM');
    expect(failure(await finished(c))).toBe(DEV_FULL);
  });

  it('--out /dev/full: exit 1 and one line naming the file', async () => {
    expect(failure(await finished(record(['--duration', '300ms', '--out', '/dev/full'], 'pipe')))).toBe(
      'ethburst record: writing the trace to /dev/full: ENOSPC (no space left on device)',
    );
  });

  it('the reader goes away (`record | head -1`): EPIPE is exit 1 and one line, and what was read is whole lines', async () => {
    const c = record([], 'pipe');
    let got = '';
    await new Promise<void>((resolve) => {
      c.stdout!.setEncoding('utf8').on('data', (d: string) => {
        got += d;
        if (got.includes('"device"') && got.slice(got.indexOf('"device"')).includes('\n')) resolve();
      });
    });
    // Like head: read the first line, then close the pipe. The next write fails.
    c.stdout!.destroy();
    expect(failure(await finished(c))).toBe('ethburst record: writing the trace to stdout: EPIPE (broken pipe)');
    expect(parseTraceLine(got.split('\n').find((l) => l.includes('"device"'))!)).toMatchObject({ kind: 'sample', device: 'ena0' });
  });

  const canMount = isRoot && spawnSync('unshare', ['-m', 'true']).status === 0;
  it.skipIf(!canMount)(`a disk that fills up mid-line: the file keeps only whole lines ${canMount ? '' : '(skipped: needs root and unshare -m)'}`, () => {
    // A 256 KiB tmpfs in a private mount namespace: the write that fills it
    // is short (half a line lands), the next one fails with ENOSPC.
    const mnt = mkdtempSync(join(dir, 'tmpfs-'));
    const trace = join(mnt, 'trace.jsonl');
    const r = spawnSync(
      'unshare',
      ['-m', 'sh', '-c', `mount -t tmpfs -o size=256k tmpfs "$1" && "$2" "$3" record --out "$4"; rc=$?; cat "$4"; exit $rc`, 'sh', mnt, process.execPath, CLI, trace],
      { encoding: 'utf8', env: { ...process.env, ...shimEnv('ena0') }, timeout: 60_000, maxBuffer: 1 << 24 },
    );
    expect(failure({ status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr })).toBe(
      `ethburst record: writing the trace to ${trace}: ENOSPC (no space left on device)`,
    );
    const recs = wholeLines(r.stdout);
    expect(recs.length).toBeGreaterThanOrEqual(1);
    expect(recs.every((x) => x.kind === 'sample' && x.device === 'ena0')).toBe(true);
  });
});

/** Resident memory of a process, MiB. */
function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

describe.skipIf(!haveCc)(`record: a reader that stops reading ${skip}`, () => {
  it('memory stays bounded, the samples the ring could not hold are reported, exit 1', async () => {
    // Eight devices of ~2400 stats each at 10 ms: about 19 k ring words a
    // tick, so the ring (capped at 2 Mi words) is full after ~110 ticks,
    // while the lines for 8 s of samples would take ~700 MB if buffered.
    const script = join(dir, 'wide.script');
    writeFileSync(script, 'queues 64\n');
    const devices = Array.from({ length: 8 }, (_, i) => `ena${i}=${script}`).join(',');
    const c = record(['--interval', '10ms', '--backoff=false'], 'pipe', devices);
    await samplerRunning(c);
    // Nobody reads c.stdout for 8 s.
    let peak = 0;
    const end = Date.now() + 8000;
    while (Date.now() < end) {
      peak = Math.max(peak, rssMiB(c.pid!));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(350);
    c.kill('SIGTERM');
    // Reading now lets the final flush through; the process then exits.
    const r = await finished(c);
    const line = failure(r);
    expect(line).toMatch(/^ethburst record: \d+ samples lost: the output was not read fast enough$/);
    expect(Number(/(\d+) samples/.exec(line)![1])).toBeGreaterThan(0);
    const recs = wholeLines(r.stdout);
    expect(new Set(recs.map((x) => x.device)).size).toBe(8);
  }, 60_000);
});

describe.skipIf(!haveCc)(`record: SIGHUP ${skip}`, () => {
  it('stops like SIGTERM: the lines so far are flushed whole, exit 0', async () => {
    const c = startCli(['record'], shimEnv('ena0'));
    child = c;
    let got = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (got += d));
    await until(() => got.split('\n').length > 3, 'three lines');
    c.kill('SIGHUP');
    const r = await finished(c);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const recs = wholeLines(got);
    expect(recs.length).toBeGreaterThanOrEqual(3);
    expect(recs.every((x) => x.device === 'ena0')).toBe(true);
  });
});
