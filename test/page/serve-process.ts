// `ethburst serve --source simulate` as a child process on an ephemeral
// loopback port, for the page and watch tests (the approach of
// test/cli/serve.test.ts's startServe).

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished, startCli, type Result } from '../helpers/cli.js';

export interface Serving {
  child: ChildProcess;
  base: string;
  /** Wall time of the "serving" line: scripted offsets are measured from just before it. */
  startedAt: number;
  done: Promise<Result>;
  stop(): Promise<Result>;
}

export interface ScriptedBurst {
  device: string;
  stat: string;
  at_ms: number;
  duration_ms: number;
  packets: number;
}

export async function startSimulated(opts: { devices?: number; script?: ScriptedBurst[]; seed?: number } = {}): Promise<Serving> {
  const args = ['serve', '--listen', '127.0.0.1:0', '--log-format', 'json', '--source', 'simulate', '--simulate-devices', String(opts.devices ?? 1)];
  if (opts.script) {
    const file = join(mkdtempSync(join(tmpdir(), 'ethburst-page-')), 'script.json');
    writeFileSync(file, JSON.stringify(opts.script));
    args.push('--simulate-script', file);
  }
  if (opts.seed !== undefined) args.push('--simulate-seed', String(opts.seed));
  const child = startCli(args);
  const done = finished(child);
  const base = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      const m = /"msg":"serving","listen":"127\.0\.0\.1:(\d+)"/.exec(buf);
      if (m) {
        child.stderr!.off('data', onData);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', () => reject(new Error(`serve exited early: ${buf}`)));
  });
  return {
    child,
    base,
    startedAt: Date.now(),
    done,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return done;
    },
  };
}

/** Polls f until it returns non-null, or fails naming `what`. */
export async function until<T>(f: () => Promise<T | null> | T | null, what: string, ms = 15_000, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(f)
      .catch(() => null);
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Time of the first tick with an increase in a series, from the server itself. */
export async function firstIncreaseMs(base: string, device: string, stat: string): Promise<number | null> {
  const r = (await (await fetch(`${base}/api/series?device=${device}&stat=${stat}&window=5m`)).json()) as { points: [number, number][] };
  const p = r.points.find(([, inc]) => inc > 0);
  return p ? p[0] : null;
}
