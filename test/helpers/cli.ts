// Runs the built CLI (npm test compiles it to build/dist first) as a user would.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cliPath } from '../../src/harness/serve.js';

export const CLI = cliPath();

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; prefix?: string[] } = {}): Result {
  const [cmd, ...pre] = opts.prefix ?? [];
  const r = spawnSync(cmd ?? process.execPath, [...pre, ...(cmd ? [process.execPath] : []), CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    input: opts.input ?? '',
    timeout: opts.timeoutMs ?? 30_000,
    // A CLI stuck in a loop cannot run its SIGTERM handler: never leave it behind.
    killSignal: 'SIGKILL',
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with everything the child wrote once it exits. */
export function finished(child: ChildProcess): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}

/** Asserts the shape every usage error has: exit 2, one line on stderr, nothing on stdout. */
export function usageFailure(r: Result): string {
  if (r.status !== 2) throw new Error(`expected exit 2, got ${r.status} (stderr: ${r.stderr})`);
  if (r.stdout !== '') throw new Error(`expected no stdout, got ${JSON.stringify(r.stdout.slice(0, 200))}`);
  const lines = r.stderr.trimEnd().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}: ${r.stderr}`);
  return lines[0]!;
}
