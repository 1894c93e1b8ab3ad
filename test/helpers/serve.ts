// Runs `ethburst serve` as a child on an ephemeral loopback port and reads
// it the way a user (or Prometheus) would.

import type { ChildProcess } from 'node:child_process';
import { finished, startCli, type Result } from './cli.js';
import { parseExposition, type Parsed } from './exposition.js';

export interface Served {
  child: ChildProcess;
  base: string;
  done: Promise<Result>;
  /** Log lines so far, parsed (serve runs with --log-format json). */
  logs(): Record<string, unknown>[];
  metrics(): Promise<Parsed>;
  json<T>(path: string): Promise<T>;
  stop(): Promise<Result>;
}

export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = startCli(['serve', '--listen', '127.0.0.1:0', '--log-format', 'json', ...args], env);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = finished(child);
  const base = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const m = /"msg":"serving","listen":"127\.0\.0\.1:(\d+)"/.exec(stderr);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    };
    child.stderr!.on('data', check);
    child.once('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  return {
    child,
    base,
    done,
    logs: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    metrics: async () => parseExposition(await (await fetch(`${base}/metrics`)).text()),
    json: async <T>(path: string) => (await (await fetch(`${base}${path}`)).json()) as T,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return done;
    },
  };
}

/** Polls `f` until it returns non-null; generous deadlines, never a timing assertion. */
export async function until<T>(f: () => Promise<T | null | undefined | false>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await f();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
