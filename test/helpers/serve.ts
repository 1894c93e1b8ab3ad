// Runs `ethburst serve` as a child on an ephemeral loopback port (the
// harness's startServe, as the bench runs it) and reads it the way a user
// (or Prometheus) would.

import type { ChildProcess } from 'node:child_process';
import { startServe as startServeChild } from '../../src/harness/serve.js';
import type { Result } from './cli.js';
import { parseExposition, type Parsed } from './exposition.js';

export interface Served {
  child: ChildProcess;
  base: string;
  done: Promise<Result>;
  /** Standard output so far (the EMF records of `--emf stdout`). */
  stdout(): string;
  /** Log lines so far, parsed (serve runs with --log-format json). */
  logs(): Record<string, unknown>[];
  metrics(): Promise<Parsed>;
  json<T>(path: string): Promise<T>;
  stop(): Promise<Result>;
}

export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  let stdout = '';
  let stderr = '';
  const { child, base } = await startServeChild(args, {
    env,
    timeoutMs: 60_000,
    onStdout: (d) => (stdout += d),
    onStderr: (d) => (stderr += d),
  });
  const proc = child.proc;
  // Still running: the "serving" line has just been read.
  const done = new Promise<Result>((resolve) => proc.once('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  return {
    child: proc,
    base,
    done,
    stdout: () => stdout,
    logs: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    metrics: async () => parseExposition(await (await fetch(`${base}/metrics`)).text()),
    json: async <T>(path: string) => (await (await fetch(`${base}${path}`)).json()) as T,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return done;
    },
  };
}
