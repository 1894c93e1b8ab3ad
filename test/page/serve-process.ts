// `ethburst serve --source simulate` as a child process on an ephemeral
// loopback port, for the page and watch tests (test/helpers/serve.ts's
// startServe, with a simulated source and a script).

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe } from '../helpers/serve.js';
import type { Result } from '../helpers/cli.js';

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
  const args = ['--source', 'simulate', '--simulate-devices', String(opts.devices ?? 1)];
  if (opts.script) {
    const file = join(mkdtempSync(join(tmpdir(), 'ethburst-page-')), 'script.json');
    writeFileSync(file, JSON.stringify(opts.script));
    args.push('--simulate-script', file);
  }
  if (opts.seed !== undefined) args.push('--simulate-seed', String(opts.seed));
  const s = await startServe(args);
  return { child: s.child, base: s.base, startedAt: Date.now(), done: s.done, stop: () => s.stop() };
}

/** Time of the first tick with an increase in a series, from the server itself. */
export async function firstIncreaseMs(base: string, device: string, stat: string): Promise<number | null> {
  const r = (await (await fetch(`${base}/api/series?device=${device}&stat=${stat}&window=5m`)).json()) as { points: [number, number][] };
  const p = r.points.find(([, inc]) => inc > 0);
  return p ? p[0] : null;
}
